// One call session: camera and microphone capture, the publisher and subscriber
// RTCPeerConnections, the own microphone/camera mute state and the handlers for every server
// message of docs/protocol.md (media, moderation, lobby, hold, move, speakers, connection quality).
// It writes the test-visible state into `store` (window.switchboard) and tells the view what to
// draw; it touches no DOM itself.

import { Signal, closeReasonText } from './signal.js';

// Always empty: the SFU is ICE-lite with one host candidate in its SDP, so no STUN or TURN
// server is ever needed or contacted.
const PC_CONFIG = { iceServers: [] };
const STATS_POLL_MS = 100;
// Close codes that follow an `error` message naming the cause; keep that error as lastError.
const CLOSES_AFTER_ERROR = new Set([1009, 4001, 4003, 4008]);
// `removed{reason}` reasons the server names itself; any other reason is the moderator's text.
const REMOVED_TEXT = {
  removed: 'You were removed from the room by a moderator',
  room_ended: 'The room was ended',
  replaced: 'You joined again from another tab or device',
  server_shutdown: 'The server is shutting down',
};

export class Call {
  /**
   * `view` draws the call (see view.js): showLocal, lobby, joined, room, ownName, upsertParticipant,
   * removeParticipant, clearParticipants, attachStream, ownMedia, ownQuality, speaking, hold,
   * notice, dismissNotice, unmutePrompt, closePrompt, status, roundTrip, alert, ended.
   */
  constructor(store, view) {
    this.store = store;
    this.view = view;
    this.stream = null;
    this.signal = null;
    this.finished = false;
    this.statsTimer = null;
    this.remoteStreams = new Map(); // participant sid -> the MediaStream its forwarded tracks arrive in
    this.unknownTypes = new Set();
    // Own media by kind: the captured track, its server sid (from track_published about
    // ourselves), whether it is muted and which moderator muted it (null: we did, or not muted).
    this.own = {
      audio: { track: null, sid: null, muted: false, mutedBy: null },
      video: { track: null, sid: null, muted: false, mutedBy: null },
    };
  }

  /** Captures media, then connects with `token` (connecting joins the token's room). */
  async start(token) {
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (err) {
      this.fail({ code: 'media_unavailable', message: `camera or microphone unavailable: ${err.message}` });
      return;
    }
    if (this.finished) {
      // leave() was called while the permission prompt was open.
      this.stopMedia();
      return;
    }
    this.own.audio.track = this.stream.getAudioTracks()[0] ?? null;
    this.own.video.track = this.stream.getVideoTracks()[0] ?? null;
    this.view.showLocal(this.stream);
    this.signal = new Signal(token, {
      onOpen: () => { this.store.timings.wsOpen = performance.now(); },
      onMessage: (msg) => (this.finished ? undefined : this.handle(msg)),
      onHandlerError: (err, msg) => {
        if (this.finished) return; // a handler cut short by leave(); nothing to report
        console.error(`switchboard: handling ${msg.type} failed`, err);
        this.store.lastError = { code: 'client_error', message: `${msg.type}: ${err.message}` };
        this.alert(`Could not handle ${msg.type}: ${err.message}`);
      },
      onClose: (ev) => this.handleClose(ev),
    });
  }

  /** Leaves the room on purpose: tells the server, then tears everything down. */
  leave() {
    if (this.finished) return;
    this.signal?.send({ type: 'leave' });
    this.finish('left', null);
  }

  /** The microphone ('audio') or camera ('video') control was pressed. */
  toggleMuted(kind) {
    const own = this.own[kind];
    // A moderator's mute is lifted only by a moderator (the server refuses it too).
    if (this.finished || !own.track || own.mutedBy) return;
    this.setOwnMuted(kind, !own.muted, null);
    // Before track_published told us the sid, handleOwnTrackPublished sends it instead.
    if (own.sid) this.signal.send({ type: 'set_track_muted', track: own.sid, muted: own.muted });
  }

  /** The answer to an unmute_requested prompt. */
  answerUnmute(track, accept) {
    if (this.finished) return;
    this.signal.send({ type: 'unmute_response', track, accept });
    const kind = this.ownKind(track);
    if (accept && kind) {
      // The server confirms with track_muted{muted:false}; the local track comes back at once.
      this.view.dismissNotice(`moderator-${kind}`);
      this.setOwnMuted(kind, false, null);
    }
  }

  handle(msg) {
    switch (msg.type) {
      case 'joined': return this.handleJoined(msg);
      case 'publish_answer': return this.store.publisher?.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      case 'subscribe_offer': return this.handleSubscribeOffer(msg.sdp);
      case 'participant_joined': return this.addParticipant(msg.participant);
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
      // Chat comes later; until then the last payload is only exposed for the console and tests.
      case 'data': this.store.lastData = { from: msg.from, payload: msg.payload }; return undefined;
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
    s.identity = msg.participant.identity;
    s.participantSid = msg.participant.sid;
    s.name = msg.participant.name;
    s.room = msg.room.name;
    this.view.joined(s.room);
    this.view.ownName(s.name);
    for (const p of msg.participants) this.addParticipant(p);

    s.subscriber = new RTCPeerConnection(PC_CONFIG);
    s.subscriber.ontrack = (ev) => {
      // The server labels every forwarded track `a=msid:<participant sid> <track sid>`.
      const stream = ev.streams[0];
      if (!stream || !(stream.id in s.participants)) {
        console.warn('switchboard: track of no known participant, not shown', stream?.id, ev.track.id);
        return;
      }
      this.remoteStreams.set(stream.id, stream);
      this.render(stream.id);
    };
    const pub = new RTCPeerConnection(PC_CONFIG);
    s.publisher = pub;
    for (const pc of [pub, s.subscriber]) pc.onconnectionstatechange = () => this.reportConnection();

    const sources = {};
    for (const track of this.stream.getTracks()) {
      pub.addTransceiver(track, { direction: 'sendonly', streams: [this.stream] });
      sources[track.id] = track.kind === 'audio' ? 'microphone' : 'camera';
    }
    const offer = await pub.createOffer();
    await pub.setLocalDescription(offer);
    if (this.finished) return;
    // No waiting for ICE gathering and no trickle: the ICE-lite server learns our address
    // from our connectivity checks.
    this.signal.send({ type: 'publish_offer', sdp: offer.sdp, sources });
    s.state = 'joined';
    this.pollFirstFrame();
  }

  async handleSubscribeOffer(sdp) {
    const sub = this.store.subscriber;
    if (!sub) return;
    await sub.setRemoteDescription({ type: 'offer', sdp });
    const answer = await sub.createAnswer();
    await sub.setLocalDescription(answer);
    if (this.finished) return;
    this.signal.send({ type: 'subscribe_answer', sdp: answer.sdp });
  }

  /** A participant's info (ParticipantInfo) from participant_joined, participant_updated or a move. */
  addParticipant(info) {
    const entry = this.entry(info.sid);
    entry.identity = info.identity;
    entry.name = info.name;
    entry.state = info.state;
    // The list is the whole truth at this point of the (ordered) message stream.
    entry.tracks = {};
    for (const t of info.tracks ?? []) entry.tracks[t.sid] = { kind: t.kind, source: t.source, muted: t.muted };
    this.render(info.sid);
  }

  handleParticipantLeft(msg) {
    delete this.store.participants[msg.participant];
    this.remoteStreams.delete(msg.participant);
    this.view.removeParticipant(msg.participant);
  }

  handleParticipantUpdated(info) {
    if (info.sid !== this.store.participantSid) {
      this.addParticipant(info);
      return;
    }
    // Ourselves: a moderator may rename us; hold and mutes arrive as their own messages.
    this.store.name = info.name;
    this.view.ownName(info.name);
  }

  handleTrackPublished(msg) {
    if (msg.participant === this.store.participantSid) return this.handleOwnTrackPublished(msg.track);
    const entry = this.entry(msg.participant);
    entry.tracks[msg.track.sid] = { kind: msg.track.kind, source: msg.track.source, muted: msg.track.muted };
    this.render(msg.participant);
    return undefined;
  }

  /** One of our tracks, now with its sid: matched to the local track of its kind. */
  handleOwnTrackPublished(track) {
    const own = this.own[track.kind];
    if (!own) return;
    own.sid = track.sid;
    if (track.muted_by) {
      this.setOwnMuted(track.kind, true, track.muted_by);
    } else if (track.muted !== own.muted) {
      // Pressed before the sid was known (or changed while moving rooms): tell the server now.
      this.signal.send({ type: 'set_track_muted', track: track.sid, muted: own.muted });
    }
  }

  handleTrackUnpublished(msg) {
    if (msg.participant === this.store.participantSid) {
      const kind = this.ownKind(msg.track);
      if (kind) this.own[kind].sid = null; // withdrawn (e.g. a permission change)
      return;
    }
    const entry = this.store.participants[msg.participant];
    if (!entry) return;
    delete entry.tracks[msg.track];
    this.render(msg.participant);
  }

  handleTrackMuted(msg) {
    if (msg.participant === this.store.participantSid) {
      const kind = this.ownKind(msg.track);
      if (kind) this.handleOwnTrackMuted(kind, msg.muted, msg.by);
      return;
    }
    const track = this.store.participants[msg.participant]?.tracks[msg.track];
    if (!track) return;
    track.muted = msg.muted;
    this.render(msg.participant);
  }

  /** The server (un)muted one of our tracks; `by` names the moderator, null when we did it. */
  handleOwnTrackMuted(kind, muted, by) {
    const own = this.own[kind];
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
    this.setOwnMuted(kind, muted, muted ? by : null);
  }

  handleUnmuteRequested(msg) {
    const kind = this.ownKind(msg.track);
    if (!kind) return;
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
    this.remoteStreams.clear();
    this.view.clearParticipants();
    this.view.room(s.room);
    for (const p of msg.participants) this.addParticipant(p);
    this.notify({ kind: 'moved', text: `A moderator moved you to room ${s.room}`, key: 'moved' });
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
    const text = REMOVED_TEXT[reason] ?? `You were removed: ${reason}`;
    this.finish('removed', { kind: 'removed', text });
  }

  handleError(msg) {
    this.store.lastError = { code: msg.code, message: msg.message };
    this.alert(`Server error ${msg.code}: ${msg.message}`);
  }

  handleClose(ev) {
    if (this.finished) return;
    // A socket that never opened: the server is down or refused the upgrade.
    const why = this.store.timings.wsOpen === null ? 'cannot reach the server' : closeReasonText(ev.code);
    if (!(CLOSES_AFTER_ERROR.has(ev.code) && this.store.lastError)) {
      this.store.lastError = { code: 'connection_closed', message: `${why} (close code ${ev.code})` };
    }
    const detail = ev.reason ? `: ${ev.reason}` : '';
    this.finish('error', { kind: 'error', text: `Disconnected: ${why} (close code ${ev.code})${detail}.` });
  }

  /** Mutes or unmutes our own `kind` locally (a disabled track sends silence or black). */
  setOwnMuted(kind, muted, mutedBy) {
    const own = this.own[kind];
    own.muted = muted;
    own.mutedBy = mutedBy;
    if (own.track) own.track.enabled = !muted;
    this.store.muted[kind] = muted;
    this.store.mutedBy[kind] = mutedBy;
    this.view.ownMedia(kind, { muted, lockedBy: mutedBy });
  }

  /** 'audio' or 'video' when `trackSid` is one of our published tracks, else null. */
  ownKind(trackSid) {
    return Object.keys(this.own).find((kind) => this.own[kind].sid === trackSid) ?? null;
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

  /** Draws participant `sid`: its tile from its entry and, once tracks arrived, its media. */
  render(sid) {
    this.view.upsertParticipant(sid, this.store.participants[sid]);
    const stream = this.remoteStreams.get(sid);
    if (stream) this.view.attachStream(sid, stream);
  }

  /** The participant entry for `sid`, created empty if its track is announced before it. */
  entry(sid) {
    const participants = this.store.participants;
    participants[sid] ??= { identity: null, name: null, state: null, quality: null, tracks: {} };
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
    clearTimeout(this.statsTimer);
    this.signal?.close();
    const s = this.store;
    for (const pc of [s.publisher, s.subscriber]) pc?.close();
    s.publisher = null;
    s.subscriber = null;
    s.participants = {};
    s.onHold = false;
    this.stopMedia();
    s.state = state;
    if (notice) this.record(notice);
    this.view.ended(notice?.text ?? null, notice?.kind === 'error' ? 'error' : 'info');
  }

  stopMedia() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
  }
}
