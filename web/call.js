// One call session: the signalling connection and the peer connections (publisher.js, subscriber
// PC here), the handlers for every server message of docs/protocol.md (media, moderation, lobby,
// hold, move, speakers, connection quality, the server's drain), and automatic reconnection —
// when the WebSocket drops or the server restarts it rejoins with the same token and new peer
// connections. Own media is local.js, chat and raised hands roomdata.js. It writes the
// test-visible state into `store` (window.switchboard) and tells the view what to draw; it touches
// no DOM itself.

import { LocalMedia } from './local.js';
import { PC_CONFIG, Publisher } from './publisher.js';
import { RemoteMedia } from './remote.js';
import { RoomData } from './roomdata.js';
import { Signal, closeReasonText } from './signal.js';

const STATS_POLL_MS = 100;
// Close codes that follow an `error` message naming the cause; keep that error as lastError.
const CLOSES_AFTER_ERROR = new Set([1009, 4001, 4003, 4008]);
// Closes that end the call for good: a normal end, a refused token or frame, a replacement.
const FINAL_CLOSES = new Set([1000, 1009, 4001, 4003, 4008, 4009]);
// Waits before each reconnection attempt; after the last one the call ends (about a minute).
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000];
// `removed{reason}` reasons the server names itself; any other reason is the moderator's text.
const REMOVED_TEXT = {
  removed: 'You were removed from the room by a moderator',
  room_ended: 'The room was ended',
  replaced: 'You joined again from another tab or device',
};

export class Call {
  /**
   * `view` draws the call (view.js). `onEnded()` runs once the call is over and the form is back.
   */
  constructor(store, view, { onEnded = () => {} } = {}) {
    this.store = store;
    this.view = view;
    this.onEnded = onEnded;
    this.token = null;
    this.signal = null;
    this.publisher = null;
    this.finished = false;
    this.entered = false; // got `joined` or `lobby_waiting` at least once: a drop is worth a reconnect
    this.attempt = 0; // reconnection attempts since the last successful join
    this.statsTimer = null;
    this.reconnectTimer = null;
    this.remote = new RemoteMedia();
    this.local = new LocalMedia(store, view, (msg) => this.signal?.send(msg));
    this.data = new RoomData(store, view, (msg) => this.signal?.send(msg), (notice) => this.notify(notice));
    this.unknownTypes = new Set();
  }

  /** Captures media (or takes the pre-join `stream`), then connects with `token`. */
  async start(token, stream = null) {
    this.token = token;
    try {
      await this.local.capture(stream);
    } catch (err) {
      this.fail({ code: 'media_unavailable', message: `camera or microphone unavailable: ${err.message}` });
      return;
    }
    if (!this.finished) this.connect();
  }

  /** Opens the WebSocket; connecting joins the token's room. */
  connect() {
    this.reconnectTimer = null;
    // Messages and the close of a socket we already dropped (a reconnection) are ignored.
    const current = () => !this.finished && signal === this.signal;
    const signal = new Signal(this.token, {
      onOpen: () => { this.store.timings.wsOpen ??= performance.now(); },
      onMessage: (msg) => (current() ? this.handle(msg) : undefined),
      onHandlerError: (err, msg) => {
        if (!current()) return; // a handler cut short by leave() or a reconnection; nothing to report
        console.error(`switchboard: handling ${msg.type} failed`, err);
        this.store.lastError = { code: 'client_error', message: `${msg.type}: ${err.message}` };
        this.alert(`Could not handle ${msg.type}: ${err.message}`);
      },
      onClose: (ev) => (current() ? this.handleClose(ev) : undefined),
    });
    this.signal = signal;
  }

  /** Leaves the room on purpose: tells the server, then tears everything down. */
  leave() {
    if (this.finished) return;
    this.signal?.send({ type: 'leave' });
    this.finish('left', null);
  }

  toggleMuted(kind) {
    if (!this.finished) this.local.toggleMuted(kind);
  }

  /** The answer to an unmute_requested prompt. */
  answerUnmute(track, accept) {
    if (this.finished) return;
    this.signal?.send({ type: 'unmute_response', track, accept });
    const kind = this.local.kindOf(track);
    if (accept && kind && kind !== 'screen') {
      // The server confirms with track_muted{muted:false}; the local track comes back at once.
      this.view.dismissNotice(`moderator-${kind}`);
      this.local.setMuted(kind, false, null);
    }
  }

  async toggleScreen() {
    if (this.finished) return;
    if (this.local.screen) {
      await this.local.stopScreen();
      return;
    }
    try {
      await this.local.startScreen();
    } catch (err) {
      // Cancelling the browser's picker is a NotAllowedError: nothing to report.
      if (err.name !== 'NotAllowedError' && err.name !== 'AbortError') this.alert(`Cannot share the screen: ${err.message}`);
    }
  }

  async switchDevice(kind, deviceId) {
    if (this.finished) return;
    try {
      await this.local.switchDevice(kind, deviceId);
    } catch (err) {
      this.alert(`Cannot switch to that ${kind === 'audio' ? 'microphone' : 'camera'}: ${err.message}`);
    }
  }

  devices() {
    return this.local.devices();
  }

  /** Raises or lowers our hand (`set_hand_raised`): everyone and the moderators see it. */
  toggleHand() {
    if (!this.finished) this.data.setHand(!this.store.handRaised);
  }

  sendChat(text) {
    if (!this.finished && this.signal) this.data.sendChat(text);
  }

  handle(msg) {
    switch (msg.type) {
      case 'joined': return this.handleJoined(msg);
      case 'publish_answer': return this.publisher?.onAnswer(msg.sdp);
      case 'subscribe_offer': return this.handleSubscribeOffer(msg.sdp);
      case 'participant_joined': return this.handleParticipantJoined(msg.participant);
      case 'participant_left': return this.handleParticipantLeft(msg);
      case 'participant_updated': return this.handleParticipantUpdated(msg.participant);
      case 'track_published': return this.handleTrackPublished(msg);
      case 'track_unpublished': return this.handleTrackUnpublished(msg);
      case 'track_muted': return this.handleTrackMuted(msg);
      case 'unmute_requested': return this.handleUnmuteRequested(msg);
      case 'on_hold': return this.setHold(true, msg.by);
      case 'resumed': return this.setHold(false, msg.by);
      case 'moved': return this.handleMoved(msg);
      case 'lobby_waiting': return this.handleLobbyWaiting(msg);
      case 'admitted': return this.handleAdmitted();
      case 'denied': return this.finish('denied', { kind: 'denied', text: 'A moderator declined your request' });
      case 'removed': return this.handleRemoved(msg.reason);
      case 'going_away': return this.notify({
        kind: 'going_away',
        text: `The server is restarting: this call continues for up to ${msg.deadline_s} s, then reconnects by itself.`,
        key: 'going-away',
      });
      case 'data': return this.data.received(msg);
      case 'moderate_result': return undefined; // this client sends no `moderate`
      case 'speakers': return this.handleSpeakers(msg.speakers);
      case 'connection_quality': return this.handleConnectionQuality(msg.updates);
      case 'pong': return this.view.roundTrip(Date.now() - msg.ts);
      case 'error': return this.handleError(msg);
      default: return this.ignoreUnknown(msg.type);
    }
  }

  /** A newer server may send types this client does not know (not a breaking change): warn once each. */
  ignoreUnknown(type) {
    if (this.unknownTypes.has(type)) return;
    this.unknownTypes.add(type);
    console.warn('switchboard: ignoring messages of unknown type', type);
  }

  handleLobbyWaiting(msg) {
    this.entered = true;
    this.reconnected();
    this.store.state = 'lobby';
    this.store.room = msg.room.name;
    this.record({ kind: 'lobby', text: 'Waiting for a moderator to let you in…' });
    this.view.lobby(msg.room.name);
  }

  handleAdmitted() {
    this.store.state = 'joining';
    this.notify({ kind: 'admitted', text: 'A moderator let you in' });
    this.view.status('Joining…');
  }

  async handleJoined(msg) {
    const s = this.store;
    this.entered = true;
    s.identity = msg.participant.identity;
    s.participantSid = msg.participant.sid;
    s.name = msg.participant.name;
    s.room = msg.room.name;
    this.view.joined(s.room);
    this.view.ownName(s.name);
    for (const p of msg.participants) this.addParticipant(p);
    // Before any await: our own updates may arrive while we set up media.
    this.data.entered();

    s.subscriber = new RTCPeerConnection(PC_CONFIG);
    s.subscriber.ontrack = (ev) => this.handleRemoteTrack(ev);
    s.subscriber.onconnectionstatechange = () => this.reportConnection();
    const publisher = new Publisher((m) => this.signal?.send(m), () => this.reportConnection());
    this.publisher = publisher;
    s.publisher = publisher.pc;
    await this.local.publishTo(publisher);
    if (this.finished || this.publisher !== publisher) return; // left or dropped meanwhile
    s.state = 'joined';
    if (this.reconnected()) this.notify({ kind: 'reconnected', text: 'Reconnected', key: 'reconnect' });
    if (s.timings.firstFrameDecoded === null) this.pollFirstFrame();
  }

  handleRemoteTrack(ev) {
    const sid = this.remote.add(ev);
    if (!sid || !(sid in this.store.participants)) {
      console.warn('switchboard: track of no known participant, not shown', sid, ev.track.id);
      return;
    }
    this.render(sid);
  }

  async handleSubscribeOffer(sdp) {
    const sub = this.store.subscriber;
    if (!sub) return;
    this.remote.learnOffer(sdp);
    await sub.setRemoteDescription({ type: 'offer', sdp });
    const answer = await sub.createAnswer();
    await sub.setLocalDescription(answer);
    if (this.finished || this.store.subscriber !== sub) return; // left or dropped meanwhile
    this.signal?.send({ type: 'subscribe_answer', sdp: answer.sdp });
  }

  /** A participant's info (ParticipantInfo) from participant_joined, participant_updated or a move. */
  addParticipant(info) {
    const entry = this.entry(info.sid);
    entry.identity = info.identity;
    entry.name = info.name;
    entry.state = info.state;
    entry.hand = info.hand_raised === true;
    // The list is the whole truth at this point of the (ordered) message stream.
    entry.tracks = {};
    for (const t of info.tracks ?? []) entry.tracks[t.sid] = { kind: t.kind, source: t.source, muted: t.muted };
    this.render(info.sid);
  }

  handleParticipantJoined(info) {
    this.addParticipant(info);
  }

  handleParticipantLeft(msg) {
    delete this.store.participants[msg.participant];
    this.remote.removeParticipant(msg.participant);
    this.view.removeParticipant(msg.participant);
  }

  handleParticipantUpdated(info) {
    if (info.sid !== this.store.participantSid) return this.addParticipant(info);
    // Ourselves: a moderator may rename us or lower our hand; hold and mutes arrive as their own
    // messages.
    this.store.name = info.name;
    this.view.ownName(info.name);
    this.data.ownUpdate(info);
  }

  handleTrackPublished(msg) {
    if (msg.participant === this.store.participantSid) return this.local.trackPublished(msg.track);
    const entry = this.entry(msg.participant);
    entry.tracks[msg.track.sid] = { kind: msg.track.kind, source: msg.track.source, muted: msg.track.muted };
    this.render(msg.participant);
    return undefined;
  }

  handleTrackUnpublished(msg) {
    if (msg.participant === this.store.participantSid) return this.local.trackUnpublished(msg.track);
    const entry = this.store.participants[msg.participant];
    if (!entry) return undefined;
    delete entry.tracks[msg.track];
    this.remote.removeTrack(msg.participant, msg.track);
    this.render(msg.participant);
    return undefined;
  }

  handleTrackMuted(msg) {
    if (msg.participant === this.store.participantSid) {
      const kind = this.local.kindOf(msg.track);
      if (kind === 'screen') {
        if (msg.muted && msg.by) {
          this.notify({ kind: 'moderator_muted', text: `Moderator ${msg.by} stopped your screen share`, key: 'moderator-screen' });
        }
        this.local.screenMuted(msg.muted, msg.by);
      } else if (kind) {
        this.handleOwnTrackMuted(kind, msg.muted, msg.by);
      }
      return;
    }
    const track = this.store.participants[msg.participant]?.tracks[msg.track];
    if (!track) return;
    track.muted = msg.muted;
    this.render(msg.participant);
  }

  /** The server (un)muted one of our tracks; `by` names the moderator, null when we did it. */
  handleOwnTrackMuted(kind, muted, by) {
    const own = this.local.own[kind];
    const key = `moderator-${kind}`;
    const what = kind === 'audio' ? 'microphone' : 'camera';
    if (muted && by) {
      const text = kind === 'audio' ? `Muted by moderator ${by}` : `Camera turned off by moderator ${by}`;
      this.notify({ kind: 'moderator_muted', text, key });
    } else if (!muted && by) {
      // The room allows remote unmute: it applied at once.
      this.notify({ kind: 'moderator_unmuted', text: `Moderator ${by} turned your ${what} back on`, key });
    } else if (!muted && own.mutedBy) {
      this.view.dismissNotice(key);
    }
    if (!muted) this.view.closePrompt(own.sid);
    this.local.setMuted(kind, muted, muted ? by : null);
  }

  handleUnmuteRequested(msg) {
    const kind = this.local.kindOf(msg.track);
    if (!kind || kind === 'screen') return;
    const text = kind === 'audio'
      ? `${msg.by} asks you to unmute your microphone`
      : `${msg.by} asks you to turn your camera on`;
    this.record({ kind: 'unmute_requested', text });
    this.view.unmutePrompt(msg.track, text);
  }

  setHold(on, by) {
    this.store.onHold = on;
    this.view.hold(on, by);
    if (on) {
      this.view.dismissNotice('hold');
      this.record({ kind: 'on_hold', text: 'You are on hold' });
    } else {
      this.notify({ kind: 'resumed', text: 'You are back in the call', key: 'hold' });
    }
  }

  /**
   * We are in another room now: new name, new participants. The peer connections stay; the
   * server's next subscribe_offer brings the new room's tracks.
   */
  handleMoved(msg) {
    const s = this.store;
    s.room = msg.room.name;
    s.participants = {};
    this.remote.clear();
    this.view.clearParticipants();
    this.view.room(s.room);
    for (const p of msg.participants) this.addParticipant(p);
    this.notify({ kind: 'moved', text: `A moderator moved you to room ${s.room}`, key: 'moved' });
    this.data.moved();
  }

  /** Who is speaking now (loudest first): their tiles are outlined. */
  handleSpeakers(speakers) {
    const s = this.store;
    s.speakers = speakers;
    const sids = speakers.map((sp) => sp.participant);
    this.view.speaking(sids.filter((sid) => sid !== s.participantSid), sids.includes(s.participantSid));
  }

  /** Connection quality changes: a badge on tiles whose connection is poor or lost. */
  handleConnectionQuality(updates) {
    const s = this.store;
    for (const { participant, quality } of updates) {
      if (participant === s.participantSid) {
        s.quality = quality;
        this.view.ownQuality(quality);
      } else if (s.participants[participant]) {
        s.participants[participant].quality = quality;
        this.render(participant);
      }
    }
  }

  handleRemoved(reason) {
    // A restarting server: come back when it is up again.
    if (reason === 'server_shutdown') {
      this.view.dismissNotice('going-away');
      return this.reconnect('The server restarted');
    }
    const text = REMOVED_TEXT[reason] ?? `You were removed: ${reason}`;
    return this.finish('removed', { kind: 'removed', text });
  }

  handleError(msg) {
    this.store.lastError = { code: msg.code, message: msg.message };
    this.alert(`Server error ${msg.code}: ${msg.message}`);
  }

  handleClose(ev) {
    if (this.finished) return;
    if (this.entered && !FINAL_CLOSES.has(ev.code)) {
      this.reconnect(`Lost the connection to the server (close code ${ev.code})`);
      return;
    }
    // A socket that never opened: the server is down or refused the upgrade.
    const why = this.store.timings.wsOpen === null ? 'cannot reach the server' : closeReasonText(ev.code);
    if (!(CLOSES_AFTER_ERROR.has(ev.code) && this.store.lastError)) {
      this.store.lastError = { code: 'connection_closed', message: `${why} (close code ${ev.code})` };
    }
    const detail = ev.reason ? `: ${ev.reason}` : '';
    this.finish('error', { kind: 'error', text: `Disconnected: ${why} (close code ${ev.code})${detail}.` });
  }

  /**
   * The connection dropped: drop the peer connections and everything received, show the
   * reconnecting notice and try again with the same token after a growing delay. Own media,
   * mutes, the raised hand and the chat stay. After the last attempt the call ends.
   */
  reconnect(why) {
    const delay = RECONNECT_DELAYS_MS[this.attempt];
    if (delay === undefined) {
      this.store.lastError = { code: 'reconnect_failed', message: why };
      this.finish('error', { kind: 'error', text: `Disconnected: ${why}, and reconnecting failed.` });
      return;
    }
    this.attempt += 1;
    this.dropConnection();
    const s = this.store;
    s.state = 'reconnecting';
    s.reconnects += 1;
    const text = `${why}. Reconnecting… (attempt ${this.attempt} of ${RECONNECT_DELAYS_MS.length})`;
    this.record({ kind: 'reconnecting', text });
    this.view.reconnecting(text);
    this.view.status('Reconnecting…');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Back in (joined or in the lobby): true when this ended a reconnection. */
  reconnected() {
    const was = this.attempt > 0;
    this.attempt = 0;
    this.view.reconnecting(null);
    return was;
  }

  /** Closes the socket and peer connections and forgets the room's state (own media stays). */
  dropConnection() {
    clearTimeout(this.statsTimer);
    this.signal?.close();
    this.signal = null;
    this.publisher?.close();
    this.publisher = null;
    this.store.subscriber?.close();
    this.local.disconnected();
    const s = this.store;
    Object.assign(s, { publisher: null, subscriber: null, participants: {}, speakers: [], onHold: false, quality: null });
    this.remote.clear();
    this.view.clearParticipants();
    this.view.hold(false);
    this.view.closePrompts();
    this.view.speaking([], false);
  }

  /** Keeps a notice in store.notices without showing it on its own (an overlay or screen shows it). */
  record(notice) {
    this.store.notices.push({ kind: notice.kind, text: notice.text });
  }

  /** Shows a moderation notice and keeps it in store.notices. */
  notify(notice) {
    this.record(notice);
    this.view.notice(notice);
  }

  alert(text) {
    this.record({ kind: 'error', text });
    this.view.alert(text);
  }

  /** Draws participant `sid`: its tile from its entry and the media received from it. */
  render(sid) {
    const entry = this.store.participants[sid];
    if (!entry) return;
    this.view.upsertParticipant(sid, entry);
    this.view.attachStreams(sid, entry, this.remote.streamsOf(sid, entry));
  }

  /** The participant entry for `sid`, created empty if its track is announced before it. */
  entry(sid) {
    const participants = this.store.participants;
    participants[sid] ??= { identity: null, name: null, state: null, quality: null, hand: false, tracks: {} };
    return participants[sid];
  }

  reportConnection() {
    const { publisher, subscriber } = this.store;
    this.view.status(`send ${publisher?.connectionState ?? '-'}, receive ${subscriber?.connectionState ?? '-'}`);
  }

  /** Records when the first remote video frame was decoded, polling the subscriber's stats. */
  pollFirstFrame() {
    const tick = async () => {
      const sub = this.store.subscriber;
      if (!sub || this.finished) return;
      const stats = await sub.getStats();
      for (const s of stats.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0) {
          this.store.timings.firstFrameDecoded = performance.now();
          return;
        }
      }
      this.statsTimer = setTimeout(tick, STATS_POLL_MS);
    };
    this.statsTimer = setTimeout(tick, STATS_POLL_MS);
  }

  fail(error) {
    this.store.lastError = error;
    this.finish('error', { kind: 'error', text: error.message });
  }

  /**
   * Ends the session once: sockets, peer connections and capture stop; the view goes back to the
   * form, showing `notice` ({kind, text}: why the call ended) when there is one.
   */
  finish(state, notice) {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.reconnectTimer);
    this.dropConnection();
    this.local.stop();
    const s = this.store;
    s.state = state;
    s.handRaised = false;
    if (notice) this.record(notice);
    this.view.ended(notice?.text ?? null, notice?.kind === 'error' ? 'error' : 'info');
    this.onEnded();
  }
}
