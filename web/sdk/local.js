// Our own side of the call: the LocalParticipant and its publications, one per source
// (microphone, camera, screen). It captures or takes tracks, feeds the current connection's
// Publisher (and the next one after a reconnection), keeps each track's server sid and mute state
// — ours, or a moderator's lock — and our raised hand, and sends the matching protocol messages.
//
// The server cannot unpublish a track on renegotiation (rtc 0.21.1 reports no ended remote
// track), so an unpublished source (a stopped screen share, say) stays published but muted,
// sending nothing; publishing it again sends the new capture on the same transceiver and unmutes.

import { captureScreen, captureTrack, captureUserMedia, deviceOf } from './capture.js';
import { SwitchboardError } from './errors.js';
import { Participant } from './participant.js';
import { OwnHand } from './hand.js';

/** @typedef {import('./types.js').TrackSource} TrackSource */
/** @typedef {import('./types.js').TrackInfo} TrackInfo */
/** @typedef {import('./types.js').Emit} Emit */
/** @typedef {import('./publisher.js').Publisher} Publisher */

/** @type {Record<TrackSource, import('./types.js').TrackKind>} */
const KIND_OF = { microphone: 'audio', camera: 'video', screen: 'video' };

export class LocalTrackPublication {
  /** @param {TrackSource} source */
  constructor(source) {
    /** @type {TrackSource} */
    this.source = source;
    /** @type {import('./types.js').TrackKind} */
    this.kind = KIND_OF[source];
    /** @type {string | null} the server's track sid, once it announced the track */
    this.sid = null;
    /** @type {MediaStreamTrack | null} what we send (null: nothing, e.g. a stopped screen share) */
    this.track = null;
    this.muted = false;
    /** @type {string | null} the moderator holding it muted (only a moderator can unmute it) */
    this.mutedBy = null;
    /** @type {string} */
    this.mimeType = '';
    /**
     * Unpublished by us (stopped): muted, with no track, until published again.
     * @internal
     */
    this.unpublished = false;
  }
}

export class LocalParticipant extends Participant {
  /**
   * @param {Emit} emit
   * @param {(msg: object) => boolean} send over the current connection (false: dropped, none)
   */
  constructor(emit, send) {
    super('');
    this.isLocal = true;
    /** @internal */
    this.emit = emit;
    /** @internal */
    this.send = send;
    /** @type {Map<TrackSource, LocalTrackPublication>} by source (a local track has no sid before the server announces it) */
    this.trackPublications = new Map();
    /**
     * @type {Publisher | null} the current connection's
     * @internal
     */
    this.publisher = null;
    // The msid streams of our transceivers: microphone and camera together, the screen apart.
    /** @internal */
    this.streams = { main: new MediaStream(), screen: new MediaStream() };
    /** @internal */
    this.hand = new OwnHand(this, emit, send);
    /** @internal */
    this.stopped = false;
  }

  /**
   * Our publication of `source`, if we ever published it.
   * @param {TrackSource} source
   */
  getTrackPublication(source) {
    return this.trackPublications.get(source);
  }

  /**
   * Publishes the microphone: `track`, or a new capture (of `deviceId`, else the default device).
   * @param {MediaStreamTrack | {deviceId?: string}} [from]
   */
  publishMicrophone(from) {
    return this.publishFrom('microphone', from);
  }

  /**
   * Publishes the camera: `track`, or a new capture (of `deviceId`, else the default device).
   * @param {MediaStreamTrack | {deviceId?: string}} [from]
   */
  publishCamera(from) {
    return this.publishFrom('camera', from);
  }

  /**
   * Captures microphone and camera in one prompt (`true`: the default device, or a device id)
   * and publishes both.
   * @param {{audio?: boolean | string, video?: boolean | string}} [wanted]
   */
  async publishCameraAndMicrophone(wanted = {}) {
    const stream = await captureUserMedia(wanted);
    const [mic] = stream.getAudioTracks();
    const [cam] = stream.getVideoTracks();
    if (mic) await this.publish('microphone', mic);
    if (cam) await this.publish('camera', cam);
  }

  /**
   * Shares the screen (the browser asks which), or publishes `track` as the screen share.
   * Rejects with code `cancelled` when the picker is dismissed.
   * @param {MediaStreamTrack} [track]
   */
  async publishScreen(track) {
    this.refuseLocked('screen');
    return this.publish('screen', track ?? await captureScreen());
  }

  /** Stops the screen share (it stays published, muted; see the top of this file). */
  stopScreen() {
    return this.unpublish('screen');
  }

  /**
   * @param {TrackSource} source
   * @param {MediaStreamTrack | {deviceId?: string}} [from]
   * @internal
   */
  async publishFrom(source, from) {
    this.refuseLocked(source);
    const track = from instanceof MediaStreamTrack ? from : await captureTrack(KIND_OF[source], from?.deviceId);
    return this.publish(source, track);
  }

  /**
   * Sends `track` as `source` (replacing what was sent before, which is stopped).
   * @param {TrackSource} source
   * @param {MediaStreamTrack} track
   * @returns {Promise<LocalTrackPublication>}
   */
  async publish(source, track) {
    if (this.stopped) {
      track.stop();
      throw new SwitchboardError('disconnected', 'the call has ended: connect a new Room to publish');
    }
    this.refuseLocked(source);
    return this.sendTrack(source, track);
  }

  /**
   * @param {TrackSource} source
   * @param {MediaStreamTrack} track
   * @internal
   */
  async sendTrack(source, track) {
    const publication = this.publication(source);
    const old = publication.track;
    publication.track = track;
    track.addEventListener('ended', () => {
      if (publication.track === track) this.unpublish(source);
    });
    if (old && old !== track) old.stop();
    // A stopped source comes back unmuted (unless a moderator holds it); a muted one stays muted.
    const republished = publication.unpublished && !publication.mutedBy;
    publication.unpublished = false;
    track.enabled = !publication.muted || republished;
    this.emit('localTrackChanged', { publication });
    if (republished) this.applyMuted(publication, false, null);
    const publisher = this.publisher;
    if (!publisher) return publication; // not joined yet, or reconnecting: attach() publishes it
    if (publisher.has(source)) {
      await publisher.replace(source, track);
      if (publication.sid && republished) this.send({ type: 'set_track_muted', track: publication.sid, muted: false });
    } else {
      publisher.add(source, track, this.streamOf(source));
      await publisher.negotiate();
    }
    return publication;
  }

  /**
   * Stops sending `source` and releases its device; the publication stays, muted.
   * @param {TrackSource} source
   */
  async unpublish(source) {
    const publication = this.trackPublications.get(source);
    if (!publication?.track) return;
    publication.track.stop();
    publication.track = null;
    publication.unpublished = true;
    this.emit('localTrackChanged', { publication });
    this.setOwnMuted(publication, true);
    await this.publisher?.replace(source, null);
  }

  /**
   * Mutes or unmutes `source` (a muted microphone sends silence, a muted camera black frames).
   * Rejects with `muted_by_moderator` while a moderator holds it muted.
   * @param {TrackSource} source
   * @param {boolean} muted
   */
  async setMuted(source, muted) {
    const publication = this.publication(source);
    if (!muted) this.refuseLocked(source);
    if (!muted && publication.unpublished) {
      throw new SwitchboardError('no_track', `nothing to unmute: publish the ${source} again instead`);
    }
    this.setOwnMuted(publication, muted);
  }

  /** @param {boolean} muted */
  setMicrophoneMuted(muted) {
    return this.setMuted('microphone', muted);
  }

  /** @param {boolean} muted */
  setCameraMuted(muted) {
    return this.setMuted('camera', muted);
  }

  /**
   * Opens another microphone or camera and sends it instead, without renegotiating; returns the
   * new track (the old one is stopped). A moderator's mute holds for the new device too. Rejects
   * with `no_track` when that source is not being sent.
   * @param {'microphone' | 'camera'} source
   * @param {string} deviceId
   */
  async switchDevice(source, deviceId) {
    const publication = this.trackPublications.get(source);
    if (!publication?.track) throw new SwitchboardError('no_track', `no ${source} is published: publish it with the device instead`);
    if (deviceOf(publication.track) === deviceId) return publication.track;
    const track = await captureTrack(KIND_OF[source], deviceId);
    if (this.stopped) {
      track.stop();
      throw new SwitchboardError('disconnected', 'the call has ended');
    }
    // Locked by a moderator: the new device is taken but stays muted.
    await this.sendTrack(source, track);
    return track;
  }

  /**
   * Answers a moderator's unmute request (the `unmuteRequested` event).
   * @param {LocalTrackPublication | string} publication or its track sid
   * @param {boolean} accept
   */
  answerUnmuteRequest(publication, accept) {
    const pub = typeof publication === 'string' ? this.bySid(publication) : publication;
    if (!pub?.sid) throw new SwitchboardError('not_found', 'no such track of ours: answer with the publication of the unmuteRequested event');
    this.send({ type: 'unmute_response', track: pub.sid, accept });
    // The server confirms with track_muted{muted: false}; our track comes back at once.
    if (accept && pub.track) this.applyMuted(pub, false, null);
  }

  /**
   * Raises or lowers our hand; everyone (moderators too) sees it.
   * @param {boolean} raised
   */
  setHandRaised(raised) {
    this.hand.set(raised);
  }

  // --- called by the Room ---

  /**
   * A new connection's Publisher (at `joined`): everything we send goes on it, then one offer.
   * A raised hand is raised again (a rejoin is a new session on the server).
   * @param {Publisher} publisher
   * @internal
   */
  async attach(publisher) {
    this.publisher = publisher;
    this.hand.entered();
    for (const [source, publication] of this.trackPublications) {
      if (publication.track) publisher.add(source, publication.track, this.streamOf(source));
    }
    await publisher.negotiate();
  }

  /**
   * The connection is gone (a reconnection makes new PCs): sids are forgotten, and a moderator's
   * lock becomes our own mute (the next session starts without it; we stay muted).
   * @internal
   */
  detach() {
    this.publisher = null;
    for (const publication of this.trackPublications.values()) {
      publication.sid = null;
      if (publication.mutedBy) this.applyMuted(publication, true, null);
    }
  }

  /**
   * track_published about one of ours: its sid, and the server's view of its mute.
   * @param {TrackInfo} info
   * @internal
   */
  trackPublished(info) {
    const publication = this.publication(info.source);
    publication.sid = info.sid;
    publication.mimeType = info.mime_type;
    this.emit('localTrackPublished', { publication });
    if (info.muted_by) {
      // A moderator's mute of this kind outlives our tracks: this one arrives locked.
      this.moderatorMuted(publication, info.muted_by);
    } else if (info.muted !== publication.muted) {
      // Changed before the sid was known (or stopped meanwhile): tell the server now.
      this.send({ type: 'set_track_muted', track: info.sid, muted: publication.muted });
    }
  }

  /**
   * @param {string} trackSid track_unpublished about one of ours (e.g. a permission change)
   * @internal
   */
  trackUnpublished(trackSid) {
    const publication = this.bySid(trackSid);
    if (!publication) return;
    publication.sid = null;
    this.emit('localTrackUnpublished', { publication });
  }

  /**
   * track_muted about one of ours; `by` names the moderator, null when we did it.
   * @param {string} trackSid
   * @param {boolean} muted
   * @param {string | null} by
   * @internal
   */
  trackMuted(trackSid, muted, by) {
    const publication = this.bySid(trackSid);
    if (!publication) return;
    if (muted && by) return this.moderatorMuted(publication, by);
    if (!muted && publication.unpublished) {
      // A moderator unmuted a track we do not send (a stopped share): unlocked, still muted.
      this.applyMuted(publication, true, null);
      this.send({ type: 'set_track_muted', track: trackSid, muted: true });
      return undefined;
    }
    this.applyMuted(publication, muted, null);
    return undefined;
  }

  /**
   * unmute_requested: asks the app (unmuteRequested), or declines when there is nothing to unmute.
   * @param {string} trackSid
   * @param {string} by
   * @internal
   */
  unmuteRequested(trackSid, by) {
    const publication = this.bySid(trackSid);
    if (!publication) return;
    if (publication.unpublished) {
      this.send({ type: 'unmute_response', track: trackSid, accept: false });
      return;
    }
    this.emit('unmuteRequested', { publication, by });
  }

  /**
   * Our ParticipantInfo in `joined`: a new session, whose hand starts lowered on the server
   * (attach() raises it again if it was up), so the info's hand is not ours.
   * @param {import('./types.js').ParticipantInfo} info
   * @internal
   */
  joined(info) {
    const hand = { raised: this.handRaised, at: this.handRaisedAt };
    this.applyInfo(info);
    this.handRaised = hand.raised;
    this.handRaisedAt = hand.at;
  }

  /**
   * Our own participant_updated.
   * @param {import('./types.js').ParticipantInfo} info
   * @internal
   */
  ownUpdate(info) {
    const hand = { raised: this.handRaised, at: this.handRaisedAt };
    const changed = this.applyInfo(info).filter((c) => c !== 'hand');
    this.hand.update(hand, info);
    if (changed.length) this.emit('participantUpdated', { participant: this, changed });
  }

  /**
   * Releases every device (the call ended).
   * @internal
   */
  stop() {
    this.stopped = true;
    this.publisher = null;
    for (const publication of this.trackPublications.values()) {
      publication.track?.stop();
      publication.sid = null;
    }
  }

  // --- internals ---

  /**
   * @param {TrackSource} source
   * @returns {LocalTrackPublication}
   * @internal
   */
  publication(source) {
    let publication = this.trackPublications.get(source);
    if (!publication) {
      publication = new LocalTrackPublication(source);
      this.trackPublications.set(source, publication);
    }
    return publication;
  }

  /**
   * @param {string} trackSid
   * @internal
   */
  bySid(trackSid) {
    return [...this.trackPublications.values()].find((p) => p.sid === trackSid);
  }

  /**
   * @param {TrackSource} source
   * @internal
   */
  streamOf(source) {
    return source === 'screen' ? this.streams.screen : this.streams.main;
  }

  /**
   * @param {TrackSource} source
   * @internal
   */
  refuseLocked(source) {
    const by = this.trackPublications.get(source)?.mutedBy;
    if (by) {
      throw new SwitchboardError('muted_by_moderator',
        `moderator ${by} muted your ${source}; only a moderator can unmute it (they can ask you to)`);
    }
  }

  /**
   * Our own (un)mute: local track, server, event.
   * @param {LocalTrackPublication} publication
   * @param {boolean} muted
   * @internal
   */
  setOwnMuted(publication, muted) {
    this.applyMuted(publication, muted, publication.mutedBy);
    // Before track_published told us the sid, trackPublished() sends it instead.
    if (publication.sid) this.send({ type: 'set_track_muted', track: publication.sid, muted });
  }

  /**
   * A moderator muted one of ours: locked; a screen share stops (sharing again is refused).
   * @param {LocalTrackPublication} publication
   * @param {string} by
   * @internal
   */
  moderatorMuted(publication, by) {
    if (publication.source === 'screen' && publication.track) {
      publication.track.stop();
      publication.track = null;
      publication.unpublished = true;
      this.publisher?.replace('screen', null);
      this.emit('localTrackChanged', { publication });
    }
    this.applyMuted(publication, true, by);
  }

  /**
   * Sets the mute state and the local track (a disabled track sends silence or black); emits
   * trackMuted / trackUnmuted when something changed.
   * @param {LocalTrackPublication} publication
   * @param {boolean} muted
   * @param {string | null} by
   * @internal
   */
  applyMuted(publication, muted, by) {
    const mutedBy = muted ? by : null;
    if (publication.track) publication.track.enabled = !muted;
    if (publication.muted === muted && publication.mutedBy === mutedBy) return;
    publication.muted = muted;
    publication.mutedBy = mutedBy;
    this.emit(muted ? 'trackMuted' : 'trackUnmuted', { participant: this, publication, by });
  }
}
