// One call session: camera and microphone capture, the publisher and subscriber
// RTCPeerConnections and the handlers for every server message of docs/protocol.md. It writes
// the test-visible state into `store` (window.switchboard) and tells the view what to draw; it
// touches no DOM itself.

import { Signal, closeReasonText } from './signal.js';

// Always empty: the SFU is ICE-lite with one host candidate in its SDP, so no STUN or TURN
// server is ever needed or contacted.
const PC_CONFIG = { iceServers: [] };
const STATS_POLL_MS = 100;
// Close codes that follow an `error` message naming the cause; keep that error as lastError.
const CLOSES_AFTER_ERROR = new Set([1009, 4001, 4003, 4008]);

export class Call {
  /**
   * `view` draws the call: showLocal(stream), joined(roomName, ownName), upsertParticipant(sid, entry),
   * removeParticipant(sid), attachStream(sid, stream), status(text), roundTrip(ms), notice(text),
   * ended(text|null).
   */
  constructor(store, view) {
    this.store = store;
    this.view = view;
    this.stream = null;
    this.signal = null;
    this.finished = false;
    this.removedReason = null;
    this.statsTimer = null;
    this.remoteStreams = new Map(); // participant sid -> the MediaStream its forwarded tracks arrive in
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
    this.view.showLocal(this.stream);
    this.signal = new Signal(token, {
      onOpen: () => { this.store.timings.wsOpen = performance.now(); },
      onMessage: (msg) => (this.finished ? undefined : this.handle(msg)),
      onHandlerError: (err, msg) => {
        if (this.finished) return; // a handler cut short by leave(); nothing to report
        console.error(`switchboard: handling ${msg.type} failed`, err);
        this.store.lastError = { code: 'client_error', message: `${msg.type}: ${err.message}` };
        this.view.notice(`Could not handle ${msg.type}: ${err.message}`);
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

  handle(msg) {
    switch (msg.type) {
      case 'joined': return this.handleJoined(msg);
      case 'publish_answer': return this.store.publisher?.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      case 'subscribe_offer': return this.handleSubscribeOffer(msg.sdp);
      case 'participant_joined': return this.addParticipant(msg.participant);
      case 'participant_left': return this.handleParticipantLeft(msg);
      case 'track_published': return this.handleTrackPublished(msg);
      case 'track_unpublished': return this.handleTrackUnpublished(msg);
      case 'pong': return this.view.roundTrip(Date.now() - msg.ts);
      case 'error': return this.handleError(msg);
      default: return console.warn('switchboard: ignoring message of unknown type', msg.type);
    }
  }

  async handleJoined(msg) {
    const s = this.store;
    s.identity = msg.participant.identity;
    s.participantSid = msg.participant.sid;
    s.name = msg.participant.name;
    s.room = msg.room.name;
    this.view.joined(s.room, s.name);
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

  addParticipant(info) {
    const entry = this.entry(info.sid);
    entry.identity = info.identity;
    entry.name = info.name;
    for (const t of info.tracks ?? []) entry.tracks[t.sid] = { kind: t.kind, source: t.source, muted: t.muted };
    this.render(info.sid);
  }

  handleParticipantLeft(msg) {
    if (msg.participant === this.store.participantSid) {
      // The server is ending our own session; the close that follows reports it.
      this.removedReason = msg.reason;
      return;
    }
    delete this.store.participants[msg.participant];
    this.remoteStreams.delete(msg.participant);
    this.view.removeParticipant(msg.participant);
  }

  handleTrackPublished(msg) {
    if (msg.participant === this.store.participantSid) return; // our own track, now with its sid
    const entry = this.entry(msg.participant);
    entry.tracks[msg.track.sid] = { kind: msg.track.kind, source: msg.track.source, muted: msg.track.muted };
    this.render(msg.participant);
  }

  handleTrackUnpublished(msg) {
    const entry = this.store.participants[msg.participant];
    if (!entry) return;
    delete entry.tracks[msg.track];
    this.render(msg.participant);
  }

  handleError(msg) {
    this.store.lastError = { code: msg.code, message: msg.message };
    this.view.notice(`Server error ${msg.code}: ${msg.message}`);
  }

  handleClose(ev) {
    if (this.finished) return;
    // A socket that never opened: the server is down or refused the upgrade.
    const why = this.store.timings.wsOpen === null ? 'cannot reach the server' : closeReasonText(ev.code);
    if (ev.code === 1000 && this.removedReason) {
      this.finish('left', `The server ended your session (${this.removedReason}).`);
      return;
    }
    if (!(CLOSES_AFTER_ERROR.has(ev.code) && this.store.lastError)) {
      this.store.lastError = { code: 'connection_closed', message: `${why} (close code ${ev.code})` };
    }
    const detail = ev.reason ? `: ${ev.reason}` : '';
    this.finish('error', `Disconnected: ${why} (close code ${ev.code})${detail}.`);
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
    participants[sid] ??= { identity: null, name: null, tracks: {} };
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
    this.finish('error', error.message);
  }

  /** Ends the session once: sockets, peer connections and capture stop; the view goes back to the form. */
  finish(state, message) {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.statsTimer);
    this.signal?.close();
    const s = this.store;
    for (const pc of [s.publisher, s.subscriber]) pc?.close();
    s.publisher = null;
    s.subscriber = null;
    s.participants = {};
    this.stopMedia();
    s.state = state;
    this.view.ended(message);
  }

  stopMedia() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
  }
}
