// Our own media in a call: the captured microphone and camera (switchable to other devices
// mid-call with replaceTrack), their server sids and mute state (ours, or a moderator's lock),
// and the screen share (getDisplayMedia, published as a third `screen` source). It feeds the
// current Publisher and sends the mute messages; the view shows the controls' state.
//
// The server cannot unpublish a track on renegotiation (rtc 0.21.1 reports no ended remote
// track), so a stopped screen share stays published but muted, sending nothing; sharing again
// sends the new capture on the same transceiver and unmutes it.

import { captureTrack, captureUserMedia, deviceOf, listInputs, saveChoice } from './devices.js';

const SOURCE_OF_KIND = { audio: 'microphone', video: 'camera' };

export class LocalMedia {
  /** `send(msg)`: to the server over the current connection (dropped while there is none). */
  constructor(store, view, send) {
    this.store = store;
    this.view = view;
    this.send = send;
    this.stream = null; // microphone + camera
    this.publisher = null; // the current connection's Publisher
    this.stopped = false;
    // By kind: the captured track, its server sid (from track_published about ourselves), whether
    // it is muted and which moderator muted it (null: we did, or not muted).
    this.own = {
      audio: { track: null, sid: null, muted: false, mutedBy: null },
      video: { track: null, sid: null, muted: false, mutedBy: null },
    };
    this.screen = null; // { track, stream } while sharing
    this.screenSid = null; // our screen track's sid on the server, once published
    this.screenLockedBy = null; // the moderator who stopped our screen share (it stays off)
  }

  /** Takes `stream` (the pre-join preview) or captures the remembered devices. Throws when it cannot. */
  async capture(stream) {
    this.stream = stream ?? await captureUserMedia();
    if (this.stopped) return this.stop();
    this.own.audio.track = this.stream.getAudioTracks()[0] ?? null;
    this.own.video.track = this.stream.getVideoTracks()[0] ?? null;
    this.view.showLocal(this.stream);
    return undefined;
  }

  /** Publishes everything we send on a new connection's publisher and sends its first offer. */
  async publishTo(publisher) {
    this.publisher = publisher;
    for (const [kind, own] of Object.entries(this.own)) {
      if (own.track) publisher.add(SOURCE_OF_KIND[kind], own.track, this.stream);
    }
    if (this.screen) publisher.add('screen', this.screen.track, this.screen.stream);
    await publisher.negotiate();
  }

  /**
   * The connection is gone (we reconnect with new peer connections): sids are forgotten, and a
   * moderator's lock becomes our own mute (the new session starts without it; we stay muted).
   */
  disconnected() {
    this.publisher = null;
    for (const [kind, own] of Object.entries(this.own)) {
      own.sid = null;
      if (own.mutedBy) {
        this.view.dismissNotice(`moderator-${kind}`);
        this.setMuted(kind, true, null);
      }
    }
    this.screenSid = null;
    this.screenLockedBy = null;
  }

  /** The microphone ('audio') or camera ('video') control was pressed. */
  toggleMuted(kind) {
    const own = this.own[kind];
    // A moderator's mute is lifted only by a moderator (the server refuses it too).
    if (!own.track || own.mutedBy) return;
    this.setMuted(kind, !own.muted, null);
    // Before track_published told us the sid, trackPublished sends it instead.
    if (own.sid) this.send({ type: 'set_track_muted', track: own.sid, muted: own.muted });
  }

  /** Mutes or unmutes our own `kind` locally (a disabled track sends silence or black). */
  setMuted(kind, muted, mutedBy) {
    const own = this.own[kind];
    own.muted = muted;
    own.mutedBy = mutedBy;
    if (own.track) own.track.enabled = !muted;
    this.store.muted[kind] = muted;
    this.store.mutedBy[kind] = mutedBy;
    this.view.ownMedia(kind, { muted, lockedBy: mutedBy });
  }

  /** One of our tracks, now with its sid (track_published about ourselves). */
  trackPublished(track) {
    if (track.source === 'screen') {
      this.screenSid = track.sid;
      // Stopped before the server had published it: mute it right away.
      if (!this.screen && !track.muted) this.send({ type: 'set_track_muted', track: track.sid, muted: true });
      return;
    }
    const own = this.own[track.kind];
    if (!own) return;
    own.sid = track.sid;
    if (track.muted_by) {
      this.setMuted(track.kind, true, track.muted_by);
    } else if (track.muted !== own.muted) {
      // Pressed before the sid was known (or changed while moving rooms): tell the server now.
      this.send({ type: 'set_track_muted', track: track.sid, muted: own.muted });
    }
  }

  /** One of our tracks was withdrawn (e.g. a permission change). */
  trackUnpublished(trackSid) {
    const kind = this.kindOf(trackSid);
    if (kind === 'screen') this.screenSid = null;
    else if (kind) this.own[kind].sid = null;
  }

  /** 'audio', 'video' or 'screen' when `trackSid` is one of our published tracks, else null. */
  kindOf(trackSid) {
    if (trackSid && this.screenSid === trackSid) return 'screen';
    return Object.keys(this.own).find((kind) => this.own[kind].sid === trackSid) ?? null;
  }

  /** Opens another camera or microphone and sends it instead, without renegotiating. */
  async switchDevice(kind, deviceId) {
    saveChoice(kind, deviceId);
    const own = this.own[kind];
    if (!own.track || deviceOf(own.track) === deviceId) return;
    const track = await captureTrack(kind, deviceId);
    if (this.stopped) {
      track.stop();
      return;
    }
    track.enabled = !own.muted;
    await this.publisher?.replace(SOURCE_OF_KIND[kind], track);
    const old = own.track;
    own.track = track;
    old.stop();
    // A new stream object, so the preview <video> picks the new camera up at once.
    this.stream = new MediaStream([this.own.audio.track, this.own.video.track].filter(Boolean));
    this.view.showLocal(this.stream);
  }

  /** The devices dialog's content: every input and the ones in use. */
  async devices() {
    return {
      inputs: await listInputs(),
      current: { audio: deviceOf(this.own.audio.track), video: deviceOf(this.own.video.track) },
    };
  }

  /** A moderator muted our screen track (`by`), or lifted that: a moderator's stop sticks. */
  screenMuted(muted, by) {
    this.screenLockedBy = muted ? by : null;
    if (muted && by) this.stopScreen();
  }

  /** Starts sharing the screen (the browser asks which); false when nothing was picked. */
  async startScreen() {
    if (this.screenLockedBy) throw new Error(`moderator ${this.screenLockedBy} stopped your screen share`);
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    if (this.stopped || this.screen || !track) {
      for (const t of stream.getTracks()) t.stop();
      return false;
    }
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => this.stopScreen());
    this.screen = { track, stream };
    this.store.screenSharing = true;
    this.view.screenSharing(true, stream, this.store.name);
    if (!this.publisher) return true; // reconnecting: publishTo() adds it
    if (!this.publisher.has('screen')) {
      this.publisher.add('screen', track, stream);
      await this.publisher.negotiate();
    } else {
      // Shared before on this connection: same transceiver, and the published track unmuted.
      await this.publisher.replace('screen', track);
      if (this.screenSid) this.send({ type: 'set_track_muted', track: this.screenSid, muted: false });
    }
    return true;
  }

  async stopScreen() {
    const screen = this.screen;
    if (!screen) return;
    this.screen = null;
    this.store.screenSharing = false;
    screen.track.stop();
    this.view.screenSharing(false, null);
    if (this.screenSid) this.send({ type: 'set_track_muted', track: this.screenSid, muted: true });
    await this.publisher?.replace('screen', null);
  }

  /** Releases every device. */
  stop() {
    this.stopped = true;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.screen?.track.stop();
    this.screen = null;
    this.store.screenSharing = false;
  }
}
