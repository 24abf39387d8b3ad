// Our publications, one per source (microphone, camera, screen), and what the server says about
// them: their sids (track_published about ourselves), mutes and moderator locks (track_muted),
// unmute requests, withdrawals (track_unpublished); and the mute state we keep for each — ours,
// or a moderator's lock — with the trackMuted / trackUnmuted events. The LocalParticipant
// (local.js) publishes through it.

import { SwitchboardError } from './errors.js';

/** @typedef {import('./types.js').TrackSource} TrackSource */
/** @typedef {import('./types.js').Emit} Emit */
/** @typedef {import('./publisher.js').Publisher} Publisher */

/** @type {Record<TrackSource, import('./types.js').TrackKind>} */
export const KIND_OF = { microphone: 'audio', camera: 'video', screen: 'video' };

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
    /** Unpublished by us (stopped): muted, with no track, until published again. */
    this.unpublished = false;
  }
}

/** @internal the LocalParticipant's publications; not part of the API */
export class OwnTracks {
  /**
   * @param {import('./participant.js').Participant} participant the local participant (in events)
   * @param {Emit} emit
   * @param {(msg: object) => boolean} send
   * @param {() => Publisher | null} publisher the current connection's
   */
  constructor(participant, emit, send, publisher) {
    this.participant = participant;
    this.emit = emit;
    this.send = send;
    this.publisher = publisher;
    /** @type {Map<TrackSource, LocalTrackPublication>} */
    this.bySource = new Map();
  }

  /**
   * The publication of `source`, created when there is none yet.
   * @param {TrackSource} source
   */
  of(source) {
    let publication = this.bySource.get(source);
    if (!publication) {
      publication = new LocalTrackPublication(source);
      this.bySource.set(source, publication);
    }
    return publication;
  }

  /** @param {string} trackSid */
  bySid(trackSid) {
    return [...this.bySource.values()].find((p) => p.sid === trackSid);
  }

  /** @param {TrackSource} source */
  refuseLocked(source) {
    const by = this.bySource.get(source)?.mutedBy;
    if (by) {
      throw new SwitchboardError('muted_by_moderator',
        `moderator ${by} muted your ${source}; only a moderator can unmute it (they can ask you to)`);
    }
  }

  /**
   * Our own (un)mute: local track, server, event.
   * @param {LocalTrackPublication} publication
   * @param {boolean} muted
   */
  setOwnMuted(publication, muted) {
    this.applyMuted(publication, muted, publication.mutedBy);
    // Before track_published told us the sid, published() sends it instead.
    if (publication.sid) this.send({ type: 'set_track_muted', track: publication.sid, muted });
  }

  /**
   * Sets the mute state and the local track (a disabled track sends silence or black); emits
   * trackMuted / trackUnmuted when something changed.
   * @param {LocalTrackPublication} publication
   * @param {boolean} muted
   * @param {string | null} by
   */
  applyMuted(publication, muted, by) {
    const mutedBy = muted ? by : null;
    if (publication.track) publication.track.enabled = !muted;
    if (publication.muted === muted && publication.mutedBy === mutedBy) return;
    publication.muted = muted;
    publication.mutedBy = mutedBy;
    this.emit(muted ? 'trackMuted' : 'trackUnmuted', { participant: this.participant, publication, by });
  }

  /**
   * Stops the capture of `publication` (it stays published; see local.js).
   * @param {LocalTrackPublication} publication
   */
  stopCapture(publication) {
    publication.track?.stop();
    publication.track = null;
    publication.unpublished = true;
    this.emit('localTrackChanged', { publication });
    return this.publisher()?.replace(publication.source, null);
  }

  /**
   * A moderator muted one of ours: locked; a screen share stops (sharing again is refused).
   * @param {LocalTrackPublication} publication
   * @param {string} by
   */
  moderatorMuted(publication, by) {
    if (publication.source === 'screen' && publication.track) this.stopCapture(publication);
    this.applyMuted(publication, true, by);
  }

  // --- what the server says ---

  /**
   * track_published about one of ours: its sid, and the server's view of its mute.
   * @param {import('./types.js').TrackInfo} info
   */
  published(info) {
    const publication = this.of(info.source);
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

  /** @param {string} trackSid track_unpublished about one of ours (e.g. a permission change) */
  unpublished(trackSid) {
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
   */
  muted(trackSid, muted, by) {
    const publication = this.bySid(trackSid);
    if (!publication) return;
    if (muted && by) {
      this.moderatorMuted(publication, by);
    } else if (!muted && publication.unpublished) {
      // A moderator unmuted a track we do not send (a stopped share): unlocked, still muted.
      this.applyMuted(publication, true, null);
      this.send({ type: 'set_track_muted', track: trackSid, muted: true });
    } else {
      this.applyMuted(publication, muted, null);
    }
  }

  /**
   * unmute_requested: asks the app (unmuteRequested), or declines when there is nothing to unmute.
   * @param {string} trackSid
   * @param {string} by
   */
  unmuteRequested(trackSid, by) {
    const publication = this.bySid(trackSid);
    if (!publication) return;
    if (publication.unpublished) this.send({ type: 'unmute_response', track: trackSid, accept: false });
    else this.emit('unmuteRequested', { publication, by });
  }

  /**
   * The connection is gone (a reconnection makes new PCs): sids are forgotten, and a moderator's
   * lock becomes our own mute (the next session starts without it; we stay muted).
   */
  connectionLost() {
    for (const publication of this.bySource.values()) {
      publication.sid = null;
      if (publication.mutedBy) this.applyMuted(publication, true, null);
    }
  }
}
