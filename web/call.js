// The built-in page's call: UI glue over the SDK's Room (web/sdk). It starts the Room with the
// pre-join stream, turns the user's clicks into SDK calls, and turns the Room's events into the
// page's test-visible state (`store`, window.switchboard), notices and view updates. Signalling,
// peer connections, moderation effects and reconnection all live in the SDK; the event handlers
// that draw participants, our own media and the session notices are room-events.js.

import { captureUserMedia, deviceOf, listInputs, saveChoice } from './devices.js';
import { bindRoomEvents } from './room-events.js';
import { Room } from './sdk/index.js';
import { TileStreams } from './streams.js';

const STATS_POLL_MS = 100;
const SOURCE_OF_KIND = { audio: 'microphone', video: 'camera' };

export class Call {
  /**
   * `view` draws the call (view.js). `onEnded()` runs once the call is over and the form is back.
   */
  constructor(store, view, { onEnded = () => {} } = {}) {
    this.store = store;
    this.view = view;
    this.onEnded = onEnded;
    this.finished = false;
    this.statsTimer = null;
    // The camera in three simulcast layers: each subscriber gets the one its link and tile take.
    this.room = new Room({ simulcast: true });
    this.streams = new TileStreams();
    bindRoomEvents(this);
  }

  get local() {
    return this.room.localParticipant;
  }

  /** Publishes the pre-join `stream` (or captures the remembered devices), then joins with `token`. */
  async start(token, stream = null) {
    try {
      const media = stream ?? await captureUserMedia();
      if (this.finished) {
        for (const track of media.getTracks()) track.stop();
        return;
      }
      const [mic] = media.getAudioTracks();
      const [camera] = media.getVideoTracks();
      if (mic) await this.local.publishMicrophone(mic);
      if (camera) await this.local.publishCamera(camera);
    } catch (err) {
      this.fail({ code: 'media_unavailable', message: `camera or microphone unavailable: ${err.message}` });
      return;
    }
    if (this.finished) return;
    // Failures end the call through the Room's stateChanged event (room-events.js).
    this.room.connect(undefined, token).catch(() => {});
  }

  /** Leaves the room on purpose; the Room's `disconnected` state ends the call here. */
  leave() {
    this.room.leave();
  }

  /** The microphone ('audio') or camera ('video') control was pressed. */
  toggleMuted(kind) {
    const publication = this.local.getTrackPublication(SOURCE_OF_KIND[kind]);
    // A moderator's mute is lifted only by a moderator (the server refuses it too).
    if (this.finished || !publication?.track || publication.mutedBy) return;
    this.local.setMuted(publication.source, !publication.muted).catch((err) => this.alert(err.message));
  }

  /** The answer to an unmute_requested prompt. */
  answerUnmute(trackSid, accept) {
    if (this.finished) return;
    this.view.closePrompt(trackSid);
    try {
      this.local.answerUnmuteRequest(trackSid, accept);
    } catch (err) {
      this.alert(err.message);
    }
  }

  async toggleScreen() {
    if (this.finished) return;
    if (this.local.getTrackPublication('screen')?.track) {
      await this.local.stopScreen();
      return;
    }
    try {
      await this.local.publishScreen();
    } catch (err) {
      // Cancelling the browser's picker is nothing to report.
      if (err.code !== 'cancelled') this.alert(`Cannot share the screen: ${err.message}`);
    }
  }

  async switchDevice(kind, deviceId) {
    saveChoice(kind, deviceId);
    if (this.finished || !this.local.getTrackPublication(SOURCE_OF_KIND[kind])?.track) return;
    try {
      await this.local.switchDevice(SOURCE_OF_KIND[kind], deviceId);
    } catch (err) {
      this.alert(`Cannot switch to that ${kind === 'audio' ? 'microphone' : 'camera'}: ${err.message}`);
    }
  }

  /** The devices dialog's content: every input and the ones in use. */
  async devices() {
    const current = (source) => deviceOf(this.local.getTrackPublication(source)?.track);
    return { inputs: await listInputs(), current: { audio: current('microphone'), video: current('camera') } };
  }

  /** Raises or lowers our hand: everyone and the moderators see it. */
  toggleHand() {
    if (!this.finished) this.local.setHandRaised(!this.local.handRaised);
  }

  sendChat(text) {
    if (this.finished) return;
    if (!this.room.sendData({ type: 'chat', text })) {
      this.alert('Not connected: the message was not sent. Try again once the call is back.');
      return;
    }
    this.addChat({ from: this.store.identity, name: this.store.name, text, own: true });
  }

  addChat({ from, name, text, own }) {
    const at = new Date();
    this.store.chat.push({ from, name, text, own, at: at.toISOString() });
    this.view.chatMessage({ from: name, text, own, at });
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

  /** Records when the first remote video frame was decoded, polling the subscriber's stats. */
  pollFirstFrame() {
    clearTimeout(this.statsTimer);
    const tick = async () => {
      const sub = this.room.engine?.subscriberPC;
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
   * Ends the session once: the Room is left (if it is not over already, which releases the
   * devices); the view goes back to the form, showing `notice` ({kind, text}: why the call
   * ended) when there is one.
   */
  finish(state, notice) {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.statsTimer);
    this.room.leave();
    this.streams.clear();
    const s = this.store;
    Object.assign(s, { state, participants: {}, speakers: [], onHold: false, quality: null, handRaised: false, screenSharing: false });
    if (notice) this.record(notice);
    this.view.ended(notice?.text ?? null, notice?.kind === 'error' ? 'error' : 'info');
    this.onEnded();
  }
}
