// The Room: one call from connect() to its end. It owns the connection (an Engine: a resume
// replaces its socket, a full reconnection the whole Engine), dispatches each server message of docs/protocol.md to the part that models
// it (roster.js for the others, local.js for us, moderation.js for moderate results), runs the
// call state machine and the reconnection policy (reconnect.js), and emits every Room event.

import { Emitter } from './emitter.js';
import { Engine } from './engine.js';
import { SwitchboardError } from './errors.js';
import { LocalParticipant } from './local.js';
import { Moderation } from './moderation.js';
import { ReconnectSchedule, RECONNECT_DELAYS_MS, closeFollowsError, shouldReconnect } from './reconnect.js';
import { Roster } from './roster.js';
import { closeReasonText, signalUrl } from './signal.js';

/** @typedef {import('./types.js').RoomEvents} RoomEvents */
/** @typedef {import('./types.js').RoomState} RoomState */
/** @typedef {import('./types.js').DisconnectReason} DisconnectReason */
/** @typedef {import('./types.js').ServerMessage} ServerMessage */

/**
 * @typedef {object} RoomOptions
 * @property {readonly number[]} [reconnectDelaysMs] waits before each reconnection attempt
 * @property {boolean} [simulcast] send the camera in three layers (quarter, half, full
 *   resolution) so each subscriber gets what its tile and its link take (default true)
 * @property {boolean} [adaptiveStream] tell the server the size each received video is shown at
 *   (attach() / observe()), so it sends no larger layer and nothing to a hidden tile (default true)
 *   (default about a minute in total); `[]` disables reconnection
 */

// What our own ParticipantInfo.state means for the Room's state.
/** @type {Record<string, RoomState>} */
// `reconnecting` is the server's view of our transport: our signalling is up, so we are connected.
const ROOM_STATE_OF = { lobby: 'lobby', joining: 'joining', connected: 'connected', on_hold: 'on_hold', reconnecting: 'connected' };
// `removed{reason}` reasons that are their own disconnect reasons; any other is a moderator's text.
/** @type {Record<string, DisconnectReason>} */
const REMOVED_AS = { room_ended: 'room_ended', replaced: 'replaced' };

/** @extends {Emitter<RoomEvents>} */
export class Room extends Emitter {
  /** @type {Roster} */
  #roster;
  /** @type {ReconnectSchedule} */
  #schedule;
  /** @type {{url?: string, token: string} | null} */
  #target = null;
  /** Got `joined` or `lobby_waiting` once: a drop is worth a reconnection. */
  #entered = false;
  /** @type {SwitchboardError | null} the last `error` of this connection (a close may follow it) */
  #lastServerError = null;
  /** @type {{resolve: (room: Room) => void, reject: (err: SwitchboardError) => void} | null} */
  #connecting = null;
  /** @type {Set<string>} */
  #unknownTypes = new Set();
  /** @type {{token: string, windowMs: number} | null} how to resume this participant (from `joined`) */
  #resume = null;
  /** @type {number | null} performance.now() when the connection dropped, while resuming */
  #lostAt = null;
  /** @param {RoomOptions} [options] */
  constructor(options = {}) {
    super();
    /** @type {string | null} the room's name (changes when a moderator moves us) */
    this.name = null;
    /** @type {string | null} this room session's id */
    this.sid = null;
    /** @type {number | null} the server's protocol version */
    this.protocol = null;
    /** @type {RoomState} */
    this.state = 'idle';
    /** @type {DisconnectReason | null} */
    this.disconnectReason = null;
    /** @type {SwitchboardError | null} why the call ended, when it was an error */
    this.error = null;
    /** @type {Engine | null} the current connection (its PCs: engine.publisherPC / subscriberPC) */
    this.engine = null;
    /** performance.now() of the first connect(), of the first socket open, of the first `joined`. */
    /** @type {{connectStarted: number | null, wsOpen: number | null, joined: number | null}} */
    this.timings = { connectStarted: null, wsOpen: null, joined: null };
    const emit = /** @type {import('./types.js').Emit} */ ((event, payload) => this.emit(event, payload));
    const send = (/** @type {object} */ msg) => this.engine?.send(msg) ?? false;
    this.localParticipant = new LocalParticipant(emit, send, { simulcast: options.simulcast ?? true });
    /** In-room moderation (needs a token with the `room_admin` permission). */
    this.moderation = new Moderation(send);
    this.#roster = new Roster(this.localParticipant, emit, options.adaptiveStream === false ? null : send);
    this.#schedule = new ReconnectSchedule(options.reconnectDelaysMs ?? RECONNECT_DELAYS_MS);
  }

  /** @returns {Map<string, import('./participant.js').RemoteParticipant>} everyone else, by sid */
  get participants() {
    return this.#roster.participants;
  }

  /**
   * Joins the token's room through the server at `url` (absent or relative: the page's server).
   * Resolves once in — joined, with everyone present in `participants` (register listeners
   * before connect() to see them as participantJoined too) — or waiting in a room's lobby; rejects with a
   * SwitchboardError when the server refuses (e.g. `invalid_token`) or cannot be reached.
   * @param {string | undefined} url
   * @param {string} token
   * @returns {Promise<Room>}
   */
  connect(url, token) {
    if (this.state !== 'idle') {
      return Promise.reject(new SwitchboardError('already_connected', 'a Room connects once: create a new Room for another call'));
    }
    this.#target = { url, token };
    this.timings.connectStarted = performance.now();
    const done = new Promise((resolve, reject) => { this.#connecting = { resolve, reject }; });
    this.#setState('joining');
    this.#open();
    return /** @type {Promise<Room>} */ (done);
  }

  /** Leaves the room (others see `participant_left{reason: "left"}`) and releases the devices. */
  leave() {
    if (this.state === 'disconnected') return;
    this.engine?.send({ type: 'leave' });
    this.#finish('left', null);
  }

  /**
   * Sends `payload` (any JSON) to everyone, or to the `to` identities; false when not connected.
   * @param {unknown} payload
   * @param {{to?: string[]}} [options]
   */
  sendData(payload, { to } = {}) {
    return this.engine?.send({ type: 'send_data', payload, ...(to ? { to } : {}) }) ?? false;
  }

  /** Sends a `ping` now (one goes every 10 s anyway); the `pong` event brings the round-trip time. False when not connected. */
  ping() {
    return this.engine?.send({ type: 'ping', ts: Date.now() }) ?? false;
  }

  /** Both PCs' statistics: {publisher, subscriber} (RTCStatsReport, or null without that PC). */
  getStats() {
    return this.engine?.getStats() ?? Promise.resolve({ publisher: null, subscriber: null });
  }

  /**
   * The participant (remote or local) with `identity`.
   * @param {string} identity
   */
  getParticipantByIdentity(identity) {
    if (identity === this.localParticipant.identity) return this.localParticipant;
    return this.#roster.byIdentity(identity);
  }

  // --- the connection ---

  #open() {
    const target = /** @type {{url?: string, token: string}} */ (this.#target);
    const resuming = this.#resumable();
    let url;
    try {
      url = signalUrl(target.url, target.token, resuming ? this.#resume?.token : null);
    } catch (err) {
      this.#finish('error', /** @type {SwitchboardError} */ (err));
      return;
    }
    this.#lastServerError = null;
    // The window passed while we tried: the PCs kept for a resume go, a new participant joins.
    if (!resuming && this.engine) this.#dropConnection('reconnecting', 'the connection dropped');
    /** @type {Engine} */
    const engine = this.engine ?? new Engine(url, this.#signalHandlers(() => current()));
    if (this.engine) engine.replaceSignal(url, this.#signalHandlers(() => current()));
    const signal = engine.signal;
    // Messages and the close of a socket we already dropped (a reconnection) are ignored.
    /** @returns {boolean} */
    const current = () => this.engine === engine && engine.signal === signal && this.state !== 'disconnected';
    this.engine = engine;
  }

  /**
   * Whether a reconnection now resumes the same participant: the server gave us a resume token,
   * our PCs are still there, and its window has not passed since the drop.
   */
  #resumable() {
    if (!this.#resume || !this.engine?.publisher) return false;
    return this.#lostAt === null || performance.now() - this.#lostAt < this.#resume.windowMs - 500;
  }

  /**
   * The handlers of one socket; `current` tells whether it is still ours.
   * @param {() => boolean} current
   * @returns {import('./signal.js').SignalHandlers}
   */
  #signalHandlers(current) {
    return {
      onOpen: () => { this.timings.wsOpen ??= performance.now(); },
      onMessage: (msg) => (current() ? this.#handle(msg) : undefined),
      onHandlerError: (err, msg) => {
        if (!current()) return; // cut short by leave() or a reconnection: nothing to report
        console.error(`switchboard: handling ${msg.type} failed`, err);
        const message = /** @type {{message?: string}} */ (err)?.message ?? String(err);
        this.emit('error', new SwitchboardError('client_error', `could not handle ${msg.type}: ${message}`));
      },
      onClose: (ev) => (current() && this.engine ? this.#handleClose(ev, this.engine) : undefined),
      onBadFrame: (frame) => console.error('switchboard: ignoring a frame that is not a message', frame.slice(0, 200)),
    };
  }

  /**
   * @param {{code: number, reason: string}} ev
   * @param {Engine} engine
   */
  #handleClose(ev, engine) {
    if (shouldReconnect(ev.code, this.#entered)) {
      this.#reconnect('connection_lost', ev.code);
      return;
    }
    const why = engine.opened ? closeReasonText(ev.code) : 'cannot reach the server';
    // The server names the cause of some closes in an `error` just before: keep its code.
    const cause = closeFollowsError(ev.code) ? this.#lastServerError : null;
    const detail = cause ? `: ${cause.message}` : ev.reason ? `: ${ev.reason}` : '';
    const error = new SwitchboardError(cause?.code ?? 'connection_closed', `${why}${detail} (close code ${ev.code})`);
    this.#finish(ev.code === 4009 ? 'replaced' : 'error', error);
  }

  /**
   * The connection dropped (or the server restarts): try again with the same token after a
   * growing delay. While the server's resume window lasts, the PCs and everyone are kept and the
   * next socket resumes the same participant; otherwise (or when the server restarts) they are
   * dropped and the next join is a new participant. Own media, mutes and the raised hand stay.
   * @param {'connection_lost' | 'server_shutdown'} reason
   * @param {number} [closeCode]
   */
  #reconnect(reason, closeCode) {
    const scheduled = this.#schedule.next(() => this.#open());
    if (!scheduled) {
      const tries = this.#schedule.delaysMs.length;
      const message = `lost the connection to the server and could not reconnect${tries ? ` in ${tries} attempts` : ''}`;
      this.#finish('timeout', new SwitchboardError('reconnect_failed', `${message}; check the network and join again`));
      return;
    }
    if (reason === 'server_shutdown') this.#resume = null;
    if (reason === 'connection_lost') this.#lostAt ??= performance.now();
    const resuming = this.#resumable();
    if (resuming) this.moderation.failAll('the connection dropped');
    else this.#dropConnection('reconnecting', 'the connection dropped');
    this.#setState('reconnecting');
    this.emit('reconnecting', { reason, closeCode, resuming, ...scheduled, maxAttempts: this.#schedule.delaysMs.length });
  }

  /**
   * Closes the connection (or only its PCs: `keepSocket`) and forgets the room's participants
   * (own media stays).
   * @param {string} reason given to participantLeft
   * @param {string} why given to unanswered moderation requests
   * @param {boolean} [keepSocket]
   */
  #dropConnection(reason, why, keepSocket = false) {
    if (keepSocket) {
      this.engine?.closeMedia();
    } else {
      this.engine?.close();
      this.engine = null;
    }
    this.moderation.failAll(why);
    this.localParticipant.detach();
    this.localParticipant.quality = null;
    const speaking = this.localParticipant.audioLevel > 0 || [...this.participants.values()].some((p) => p.audioLevel > 0);
    this.#roster.clear(reason);
    if (speaking) this.#roster.speakers([]);
  }

  /**
   * Ends the call once: connection, PCs and capture stop.
   * @param {DisconnectReason} reason
   * @param {SwitchboardError | null} error
   */
  #finish(reason, error) {
    if (this.state === 'disconnected') return;
    this.#schedule.cancel();
    this.#dropConnection('disconnected', 'the call ended');
    this.localParticipant.stop();
    this.disconnectReason = reason;
    this.error = error;
    this.#setState('disconnected', reason, error);
    const connecting = this.#connecting;
    this.#connecting = null;
    connecting?.reject(error ?? new SwitchboardError(reason, `the call ended before it started (${reason})`));
  }

  /**
   * @param {RoomState} state
   * @param {DisconnectReason | null} [reason]
   * @param {SwitchboardError | null} [error]
   */
  #setState(state, reason = null, error = null) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit('stateChanged', { state, previous, reason, error });
  }

  /** Our own call state as the server reports it, while in the call. */
  #followOwnState() {
    const state = ROOM_STATE_OF[this.localParticipant.state];
    if (state && ['joining', 'connected', 'on_hold'].includes(this.state)) this.#setState(state);
  }

  /** Back in after `joined` or `lobby_waiting`: the reconnection (if any) succeeded. */
  #entering() {
    this.#entered = true;
    return this.#schedule.succeeded();
  }

  /** connect() resolves: everyone present is in `participants` by now. */
  #resolveConnect() {
    const connecting = this.#connecting;
    this.#connecting = null;
    connecting?.resolve(this);
  }

  // --- server messages ---

  /** @param {ServerMessage} msg */
  #handle(msg) {
    const local = this.localParticipant;
    const own = msg.participant === local.sid && local.sid !== '';
    switch (msg.type) {
      case 'joined': return this.#handleJoined(msg);
      case 'publish_answer': return this.engine?.publisher?.onAnswer(msg.sdp);
      case 'subscribe_offer': return this.engine?.subscriber?.handleOffer(msg.sdp);
      case 'participant_joined': return this.#roster.join(msg.participant);
      case 'participant_left': return this.#roster.leave(msg.participant, msg.reason);
      case 'participant_updated':
        if (msg.participant.sid !== local.sid) return this.#roster.update(msg.participant);
        local.ownUpdate(msg.participant);
        return this.#followOwnState();
      case 'track_published':
        return own ? local.ownTracks.published(msg.track) : this.#roster.trackPublished(msg.participant, msg.track);
      case 'track_unpublished':
        return own ? local.ownTracks.unpublished(msg.track) : this.#roster.trackUnpublished(msg.participant, msg.track);
      case 'track_muted':
        if (own) return local.ownTracks.muted(msg.track, msg.muted, msg.by ?? null);
        return this.#roster.trackMuted(msg.participant, msg.track, msg.muted, msg.by ?? null);
      case 'unmute_requested': return local.ownTracks.unmuteRequested(msg.track, msg.by);
      case 'layers_wanted': return local.setLayersWanted(msg.track, msg.rids);
      case 'stream_state': return this.#roster.streamState(msg.track, msg.state, msg.reason);
      case 'on_hold': return this.#handleHold(true, msg.by);
      case 'resumed': return this.#handleHold(false, msg.by);
      case 'moved': return this.#handleMoved(msg);
      case 'data': return this.emit('dataReceived', {
        payload: msg.payload, from: msg.from ?? null, participant: msg.from ? this.#roster.byIdentity(msg.from) ?? null : null,
      });
      case 'lobby_waiting': return this.#handleLobby(msg);
      case 'admitted':
        this.#setState('joining');
        return this.emit('admitted', {});
      case 'denied':
        this.emit('denied', {});
        return this.#finish('denied', null);
      case 'removed': return this.#handleRemoved(msg.reason);
      case 'speakers': return this.#roster.speakers(msg.speakers);
      case 'connection_quality': return this.#roster.quality(msg.updates);
      case 'moderate_result': return this.moderation.result(msg.action, msg.result);
      case 'going_away': return this.emit('goingAway', { deadlineS: msg.deadline_s });
      case 'pong':
        if (!this.moderation.pong(msg.ts) && typeof msg.ts === 'number') this.emit('pong', { rttMs: Date.now() - msg.ts });
        return undefined;
      case 'error': return this.#handleError(msg.code, msg.message);
      default: return this.#ignoreUnknown(msg.type);
    }
  }

  /** @param {ServerMessage} msg */
  async #handleJoined(msg) {
    if (msg.resumed && this.engine?.publisher) return this.#handleResumed(msg);
    // Kept for a resume the server no longer offers (window passed, removed, restarted): we
    // are a new participant, with new PCs.
    if (this.engine?.publisher) this.#dropConnection('reconnecting', 'the connection dropped', true);
    this.#lostAt = null;
    this.#resume = msg.resume_window_s > 0 && msg.resume_token ? { token: msg.resume_token, windowMs: msg.resume_window_s * 1000 } : null;
    const local = this.localParticipant;
    const attempts = this.#entering();
    this.protocol = msg.protocol;
    this.name = msg.room.name;
    this.sid = msg.room.sid;
    local.sid = msg.participant.sid;
    local.joined(msg.participant);
    // Before any await: our own updates may arrive while the media is set up.
    for (const p of msg.participants) this.#roster.join(p);
    const engine = /** @type {Engine} */ (this.engine);
    const report = () => this.emit('transportStateChanged', {
      publisher: engine.publisherPC?.connectionState ?? null, subscriber: engine.subscriberPC?.connectionState ?? null,
    });
    const publisher = engine.startMedia(msg.ice_servers ?? [], {
      onTrack: (participant, track, mediaTrack) => this.#roster.received(participant, track, mediaTrack),
      onConnectionState: () => {
        if (this.engine !== engine) return;
        report();
        // Resuming, and the media reaches the server again: so may a new socket, at once.
        if (this.state === 'reconnecting' && !engine.iceWatch.bad()) this.#schedule.hurry();
      },
    });
    await local.attach(publisher);
    if (this.engine !== engine || this.state === 'disconnected') return; // left or dropped meanwhile
    this.timings.joined ??= performance.now();
    this.emit('joined', { room: msg.room.name, participant: local, reconnected: attempts > 0 });
    if (attempts > 0) this.emit('reconnected', { attempts, resumed: false });
    this.#setState(ROOM_STATE_OF[local.state] ?? 'joining');
    this.#resolveConnect();
  }

  /**
   * The server resumed us: same sid, state, tracks and subscriptions; our PCs stay. The roster
   * catches up with what changed meanwhile; the publisher sends again an offer whose answer was
   * lost, with an ICE restart if its transport lost the server too (the server re-sends its own
   * unanswered subscriber offer).
   * @param {ServerMessage} msg
   */
  #handleResumed(msg) {
    const attempts = this.#entering();
    this.#lostAt = null;
    this.localParticipant.ownUpdate(msg.participant);
    this.#roster.sync(msg.participants);
    const engine = /** @type {Engine} */ (this.engine);
    // Our transport lost the server too (a new network): restart ICE on both PCs now; else only
    // an offer whose answer was lost is sent again.
    if (engine.iceWatch.bad()) engine.iceWatch.restart();
    else engine.publisher?.resumed(false).catch((err) => console.warn('switchboard: renegotiating after a resume failed', err));
    this.emit('reconnected', { attempts, resumed: true });
    this.#setState(ROOM_STATE_OF[msg.participant.state] ?? 'connected');
  }

  /** @param {ServerMessage} msg */
  #handleLobby(msg) {
    const attempts = this.#entering();
    this.protocol = msg.protocol;
    this.name = msg.room.name;
    this.sid = msg.room.sid;
    // The lobby does not resume (docs/protocol.md): back in it as a new waiting member.
    if (this.engine?.publisher) this.#dropConnection('reconnecting', 'the connection dropped', true);
    this.#resume = null;
    this.#lostAt = null;
    this.#setState('lobby');
    if (attempts > 0) this.emit('reconnected', { attempts, resumed: false });
    this.#resolveConnect();
  }

  /**
   * @param {boolean} on
   * @param {string} by
   */
  #handleHold(on, by) {
    this.#setState(on ? 'on_hold' : 'connected');
    if (on) this.emit('onHold', { by });
    else this.emit('resumed', { by });
  }

  /**
   * We are in another room now: new name, new participants. The PCs stay; the server's next
   * subscribe_offer brings the new room's tracks.
   * @param {ServerMessage} msg
   */
  #handleMoved(msg) {
    const previousRoom = this.name;
    this.name = msg.room.name;
    this.sid = msg.room.sid;
    this.#roster.clear('moved');
    for (const p of msg.participants) if (p.sid !== this.localParticipant.sid) this.#roster.join(p);
    this.localParticipant.moved();
    this.emit('moved', { room: msg.room.name, previousRoom });
  }

  /** @param {string} reason */
  #handleRemoved(reason) {
    // A restarting server: come back when it is up again.
    if (reason === 'server_shutdown') return this.#reconnect('server_shutdown');
    this.emit('removed', { reason });
    return this.#finish(REMOVED_AS[reason] ?? 'removed', null);
  }

  /**
   * @param {string} code
   * @param {string} message
   */
  #handleError(code, message) {
    if (this.moderation.error(code, message)) return;
    const error = new SwitchboardError(code, message);
    this.#lastServerError = error;
    this.emit('error', error);
  }

  /**
   * A newer server may send types this SDK does not know (not a breaking change): warn once each.
   * @param {string} type
   */
  #ignoreUnknown(type) {
    if (this.#unknownTypes.has(type)) return;
    this.#unknownTypes.add(type);
    console.warn('switchboard: ignoring messages of unknown type', type);
  }
}
