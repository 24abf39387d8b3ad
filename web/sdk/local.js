// Our own side of the call: the LocalParticipant. It captures or takes tracks, feeds the current
// connection's Publisher (and the next one after a reconnection), mutes, switches devices and
// answers unmute requests, and keeps our raised hand (hand.js). Its publications and what the
// server says about them are local-tracks.js.
//
// The server cannot unpublish a track on renegotiation (rtc 0.21.1 reports no ended remote
// track), so an unpublished source (a stopped screen share, say) stays published but muted,
// sending nothing; publishing it again sends the new capture on the same transceiver and unmutes.

import { captureScreen, captureTrack, captureUserMedia, deviceOf } from './capture.js';
import { SwitchboardError } from './errors.js';
import { OwnHand } from './hand.js';
import { KIND_OF, OwnTracks } from './local-tracks.js';
import { Participant } from './participant.js';

/** @typedef {import('./types.js').TrackSource} TrackSource */
/** @typedef {import('./local-tracks.js').LocalTrackPublication} LocalTrackPublication */
/** @typedef {import('./types.js').Emit} Emit */
/** @typedef {import('./publisher.js').Publisher} Publisher */

/**
 * The camera's simulcast layers, lowest first (rids as the server orders them): a quarter, half
 * and full resolution. Chromium sends no more layers than the picture size allows (three from
 * 960×540 up, two from 480×270), keeping the lowest, so a smaller camera sends the top ones.
 * @param {MediaStreamTrack} track
 * @returns {RTCRtpEncodingParameters[] | undefined} undefined: one layer (below 480×270)
 */
export function cameraLayers(track) {
  const { width = 640, height = 480 } = track.getSettings?.() ?? {};
  const side = Math.max(width, height);
  const full = { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: side >= 960 ? 1_700_000 : 800_000 };
  if (side >= 960) {
    return [{ rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 }, { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 }, full];
  }
  if (side >= 480) return [{ rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 250_000 }, full];
  return undefined;
}

export class LocalParticipant extends Participant {
  /** @type {Emit} */
  #emit;
  /** @type {(msg: object) => boolean} */
  #send;
  /** @type {Publisher | null} the current connection's */
  #publisher = null;
  // The msid streams of our transceivers: microphone and camera together, the screen apart.
  #streams = { main: new MediaStream(), screen: new MediaStream() };
  /** @type {OwnHand} */
  #hand;
  /** @type {OwnTracks} */
  #tracks;
  #stopped = false;

  /** @type {boolean} the camera goes out in three layers */
  #simulcast;

  /**
   * @param {Emit} emit
   * @param {(msg: object) => boolean} send over the current connection (false: dropped, none)
   * @param {{simulcast: boolean}} options
   */
  constructor(emit, send, { simulcast }) {
    super('');
    this.#simulcast = simulcast;
    this.isLocal = true;
    this.#emit = emit;
    this.#send = send;
    this.#hand = new OwnHand(this, emit, send);
    this.#tracks = new OwnTracks(this, emit, send, () => this.#publisher);
    /** @type {Map<TrackSource, LocalTrackPublication>} by source (a local track has no sid before the server announces it) */
    this.trackPublications = this.#tracks.bySource;
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
    return this.#publishFrom('microphone', from);
  }

  /**
   * Publishes the camera: `track`, or a new capture (of `deviceId`, else the default device).
   * @param {MediaStreamTrack | {deviceId?: string}} [from]
   */
  publishCamera(from) {
    return this.#publishFrom('camera', from);
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
    this.#tracks.refuseLocked('screen');
    return this.publish('screen', track ?? await captureScreen());
  }

  /** Stops the screen share (it stays published, muted; see the top of this file). */
  stopScreen() {
    return this.unpublish('screen');
  }

  /**
   * @param {TrackSource} source
   * @param {MediaStreamTrack | {deviceId?: string}} [from]
   */
  async #publishFrom(source, from) {
    this.#tracks.refuseLocked(source);
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
    if (this.#stopped) {
      track.stop();
      throw new SwitchboardError('disconnected', 'the call has ended: connect a new Room to publish');
    }
    this.#tracks.refuseLocked(source);
    return this.#sendTrack(source, track);
  }

  /**
   * @param {TrackSource} source
   * @param {MediaStreamTrack} track
   */
  async #sendTrack(source, track) {
    const publication = this.#tracks.of(source);
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
    this.#emit('localTrackChanged', { publication });
    if (republished) this.#tracks.applyMuted(publication, false, null);
    const publisher = this.#publisher;
    if (!publisher) return publication; // not joined yet, or reconnecting: attach() publishes it
    if (publisher.has(source)) {
      await publisher.replace(source, track);
      if (publication.sid && republished) this.#send({ type: 'set_track_muted', track: publication.sid, muted: false });
    } else {
      publisher.add(source, track, this.#streamOf(source), this.#encodingsOf(source));
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
    const replaced = this.#tracks.stopCapture(publication);
    this.#tracks.setOwnMuted(publication, true);
    await replaced;
  }

  /**
   * Mutes or unmutes `source` (a muted microphone sends silence, a muted camera black frames).
   * Rejects with `muted_by_moderator` while a moderator holds it muted.
   * @param {TrackSource} source
   * @param {boolean} muted
   */
  async setMuted(source, muted) {
    const publication = this.#tracks.of(source);
    if (!muted) this.#tracks.refuseLocked(source);
    if (!muted && publication.unpublished) {
      throw new SwitchboardError('no_track', `nothing to unmute: publish the ${source} again instead`);
    }
    this.#tracks.setOwnMuted(publication, muted);
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
    if (this.#stopped) {
      track.stop();
      throw new SwitchboardError('disconnected', 'the call has ended');
    }
    // Locked by a moderator: the new device is taken but stays muted.
    await this.#sendTrack(source, track);
    return track;
  }

  /**
   * Answers a moderator's unmute request (the `unmuteRequested` event).
   * @param {LocalTrackPublication | string} publication or its track sid
   * @param {boolean} accept
   */
  answerUnmuteRequest(publication, accept) {
    const pub = typeof publication === 'string' ? this.#tracks.bySid(publication) : publication;
    if (!pub?.sid) {
      throw new SwitchboardError('not_found', 'no such track of ours: answer with the publication of the unmuteRequested event');
    }
    this.#send({ type: 'unmute_response', track: pub.sid, accept });
    // The server confirms with track_muted{muted: false}; our track comes back at once.
    if (accept && pub.track) this.#tracks.applyMuted(pub, false, null);
  }

  /**
   * Raises or lowers our hand; everyone (moderators too) sees it.
   * @param {boolean} raised
   */
  setHandRaised(raised) {
    this.#hand.set(raised);
  }

  // --- called by the Room ---

  /**
   * Dynacast: sends only the simulcast layers `rids` of our track `trackSid` (no one receives the
   * others; the encoder skips them until they are named again).
   * @param {string} trackSid
   * @param {string[]} rids
   * @internal
   */
  async setLayersWanted(trackSid, rids) {
    const publication = this.#tracks.bySid(trackSid);
    if (publication && Array.isArray(rids)) await this.#publisher?.setActiveLayers(publication.source, rids);
  }

  /**
   * A new connection's Publisher (at `joined`): everything we send goes on it, then one offer
   * (none while we send nothing).
   * A raised hand is raised again (a rejoin is a new session on the server).
   * @param {Publisher} publisher
   * @internal
   */
  async attach(publisher) {
    this.#publisher = publisher;
    this.#hand.entered();
    let any = false;
    for (const [source, publication] of this.trackPublications) {
      if (!publication.track) continue;
      publisher.add(source, publication.track, this.#streamOf(source), this.#encodingsOf(source));
      any = true;
    }
    // Nothing to send yet: no offer (one without media lines has no transport to negotiate);
    // the first publish() makes it.
    if (any) await publisher.negotiate();
  }

  /**
   * The connection is gone: sids are forgotten, a moderator's lock becomes our own mute.
   * @internal
   */
  detach() {
    this.#publisher = null;
    this.#tracks.connectionLost();
  }

  /**
   * Our publications, for the Room to apply the server's messages about them (track_published,
   * track_unpublished, track_muted and unmute_requested about ourselves).
   * @internal
   */
  get ownTracks() {
    return this.#tracks;
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
    this.#hand.update(hand, info);
    if (changed.length) this.#emit('participantUpdated', { participant: this, changed });
  }

  /**
   * A moderator moved us to another room.
   * @internal
   */
  moved() {
    this.#hand.moved();
  }

  /**
   * Releases every device (the call ended).
   * @internal
   */
  stop() {
    this.#stopped = true;
    this.#publisher = null;
    for (const publication of this.trackPublications.values()) {
      publication.track?.stop();
      publication.sid = null;
    }
  }

  // --- internals ---

  /**
   * The simulcast layers `source`'s current track is sent in (undefined: one).
   * @param {TrackSource} source
   */
  #encodingsOf(source) {
    const track = this.#tracks.of(source).track;
    return source === 'camera' && this.#simulcast && track ? cameraLayers(track) : undefined;
  }

  /** @param {TrackSource} source */
  #streamOf(source) {
    return source === 'screen' ? this.#streams.screen : this.#streams.main;
  }
}
