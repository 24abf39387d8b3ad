// The remote participants of the current room (room.participants) and everything the server says
// about them: who joins, changes and leaves, their track publications and mutes, the media tracks
// received for those publications, active speakers and connection quality (these two also for the
// local participant). It turns those messages into model changes and Room events.

import { handEvent } from './hand.js';
import { RemoteParticipant, RemoteTrackPublication } from './participant.js';

/** @typedef {import('./types.js').ParticipantInfo} ParticipantInfo */
/** @typedef {import('./types.js').TrackInfo} TrackInfo */
/** @typedef {import('./types.js').RoomEvents} RoomEvents */
/** @typedef {import('./types.js').Emit} Emit */
/** @typedef {import('./local.js').LocalParticipant} LocalParticipant */

export class Roster {
  /**
   * @param {LocalParticipant} local
   * @param {Emit} emit
   * @param {((msg: object) => boolean) | null} send adaptive stream's messages (null: off)
   */
  constructor(local, emit, send) {
    this.local = local;
    this.emit = emit;
    this.send = send;
    /** @type {Map<string, RemoteParticipant>} by sid */
    this.participants = new Map();
    /** @type {Map<string, MediaStreamTrack>} `${participant}/${track}` -> a track received before its publication was known */
    this.early = new Map();
  }

  /**
   * The participant with `sid`: a remote one, or the local participant.
   * @param {string} sid
   * @returns {import('./participant.js').Participant | undefined}
   */
  get(sid) {
    return sid === this.local.sid ? this.local : this.participants.get(sid);
  }

  /**
   * The remote participant with `identity`.
   * @param {string} identity
   */
  byIdentity(identity) {
    return [...this.participants.values()].find((p) => p.identity === identity);
  }

  /**
   * A participant of the room (participant_joined, or listed by joined / moved). An update of one
   * already known is handled as participant_updated.
   * @param {ParticipantInfo} info
   * @returns {void}
   */
  join(info) {
    if (this.participants.has(info.sid)) {
      this.update(info);
      return;
    }
    const participant = new RemoteParticipant(info.sid);
    participant.applyInfo(info);
    this.participants.set(info.sid, participant);
    this.emit('participantJoined', { participant });
    for (const track of info.tracks ?? []) this.publish(participant, track);
  }

  /**
   * participant_updated about someone else. Its track list is the whole truth at this point of the
   * (ordered) message stream: publications are added, dropped or (un)muted to match it.
   * @param {ParticipantInfo} info
   * @returns {void}
   */
  update(info) {
    const participant = this.participants.get(info.sid);
    if (!participant) {
      this.join(info);
      return;
    }
    const wasRaised = participant.handRaised;
    const changed = participant.applyInfo(info);
    const listed = new Set((info.tracks ?? []).map((t) => t.sid));
    for (const sid of [...participant.trackPublications.keys()]) {
      if (!listed.has(sid)) this.unpublish(participant, sid);
    }
    for (const track of info.tracks ?? []) {
      const publication = participant.trackPublications.get(track.sid);
      if (!publication) this.publish(participant, track);
      else if (publication.muted !== track.muted) this.setMuted(participant, publication, track.muted, track.muted_by ?? null);
    }
    if (changed.length) this.emit('participantUpdated', { participant, changed });
    if (changed.includes('hand')) handEvent(this.emit, participant, wasRaised, null);
  }

  /**
   * participant_left (or everyone at once: a reconnection, a move, the end): its tracks are
   * unsubscribed and unpublished first.
   * @param {string} sid
   * @param {string} reason
   */
  leave(sid, reason) {
    const participant = this.participants.get(sid);
    if (!participant) return;
    for (const trackSid of [...participant.trackPublications.keys()]) this.unpublish(participant, trackSid);
    this.participants.delete(sid);
    for (const key of [...this.early.keys()]) if (key.startsWith(`${sid}/`)) this.early.delete(key);
    this.emit('participantLeft', { participant, reason });
  }

  /**
   * The room as a resumed `joined` lists it: the listed are joined or updated, the others have
   * left while we were away.
   * @param {ParticipantInfo[]} infos
   */
  sync(infos) {
    const listed = new Set(infos.map((i) => i.sid));
    for (const sid of [...this.participants.keys()]) if (!listed.has(sid)) this.leave(sid, 'left');
    for (const info of infos) this.join(info);
  }

  /**
   * Everyone leaves (reason: `reconnecting`, `moved` or `disconnected`, our side's reason).
   * @param {string} reason
   */
  clear(reason) {
    for (const sid of [...this.participants.keys()]) this.leave(sid, reason);
    this.early.clear();
  }

  /**
   * track_published about someone else.
   * @param {string} sid
   * @param {TrackInfo} track
   */
  trackPublished(sid, track) {
    const participant = this.participants.get(sid);
    if (!participant) {
      // A hidden participant's track (hidden participants are not announced): not surfaced.
      console.warn('switchboard: track of an unknown participant, ignored', sid, track.sid);
      return;
    }
    if (!participant.trackPublications.has(track.sid)) this.publish(participant, track);
  }

  /**
   * @param {string} sid
   * @param {string} trackSid
   */
  trackUnpublished(sid, trackSid) {
    const participant = this.participants.get(sid);
    if (participant) this.unpublish(participant, trackSid);
  }

  /**
   * track_muted about someone else.
   * @param {string} sid
   * @param {string} trackSid
   * @param {boolean} muted
   * @param {string | null} by
   */
  trackMuted(sid, trackSid, muted, by) {
    const participant = this.participants.get(sid);
    const publication = participant?.trackPublications.get(trackSid);
    if (participant && publication) this.setMuted(participant, publication, muted, by);
  }

  /**
   * stream_state: the server paused (or resumed) a video it sends us.
   * @param {string} trackSid
   * @param {'active' | 'paused'} state
   * @param {string} reason
   */
  streamState(trackSid, state, reason) {
    for (const participant of this.participants.values()) {
      const publication = participant.trackPublications.get(trackSid);
      if (!publication || publication.streamState === state) continue;
      publication.streamState = state;
      this.emit('trackStreamStateChanged', { participant, publication, state, reason });
    }
  }

  /**
   * A MediaStreamTrack arrived on the subscriber PC for (participant sid, track sid).
   * @param {string} sid
   * @param {string} trackSid
   * @param {MediaStreamTrack} track
   */
  received(sid, trackSid, track) {
    const participant = this.participants.get(sid);
    const publication = participant?.trackPublications.get(trackSid);
    if (!participant || !publication) {
      this.early.set(`${sid}/${trackSid}`, track);
      return;
    }
    this.subscribe(participant, publication, track);
  }

  /**
   * `speakers`: loudest first; everyone else's level goes back to 0.
   * @param {{participant: string, level: number}[]} speakers
   */
  speakers(speakers) {
    const levels = new Map(speakers.map((s) => [s.participant, s.level]));
    for (const p of [this.local, ...this.participants.values()]) p.audioLevel = levels.get(p.sid) ?? 0;
    const active = [];
    for (const s of speakers) {
      const participant = this.get(s.participant);
      if (participant) active.push({ participant, level: s.level });
    }
    this.emit('activeSpeakers', { speakers: active });
  }

  /**
   * `connection_quality` updates (ours included).
   * @param {{participant: string, quality: import('./types.js').ConnectionQuality}[]} updates
   */
  quality(updates) {
    for (const { participant: sid, quality } of updates) {
      const participant = this.get(sid);
      if (!participant) continue;
      participant.quality = quality;
      this.emit('connectionQuality', { participant, quality });
    }
  }

  /**
   * @param {RemoteParticipant} participant
   * @param {TrackInfo} info
   */
  publish(participant, info) {
    const publication = new RemoteTrackPublication(info, this.send);
    participant.trackPublications.set(info.sid, publication);
    this.emit('trackPublished', { participant, publication });
    const key = `${participant.sid}/${info.sid}`;
    const early = this.early.get(key);
    if (early) {
      this.early.delete(key);
      this.subscribe(participant, publication, early);
    }
  }

  /**
   * @param {RemoteParticipant} participant
   * @param {string} trackSid
   */
  unpublish(participant, trackSid) {
    const publication = participant.trackPublications.get(trackSid);
    if (!publication) return;
    const track = publication.track;
    if (track) {
      publication.track = null;
      this.emit('trackUnsubscribed', { participant, publication, track });
    }
    participant.trackPublications.delete(trackSid);
    publication.close();
    this.emit('trackUnpublished', { participant, publication });
  }

  /**
   * @param {RemoteParticipant} participant
   * @param {RemoteTrackPublication} publication
   * @param {MediaStreamTrack} track
   */
  subscribe(participant, publication, track) {
    if (publication.track === track) return;
    const old = publication.track;
    if (old) this.emit('trackUnsubscribed', { participant, publication, track: old });
    publication.track = track;
    publication.resendShown();
    this.emit('trackSubscribed', { participant, publication, track });
  }

  /**
   * @param {RemoteParticipant} participant
   * @param {RemoteTrackPublication} publication
   * @param {boolean} muted
   * @param {string | null} by
   */
  setMuted(participant, publication, muted, by) {
    if (publication.muted === muted && publication.mutedBy === (muted ? by : null)) return;
    publication.muted = muted;
    publication.mutedBy = muted ? by : null;
    this.emit(muted ? 'trackMuted' : 'trackUnmuted', { participant, publication, by });
  }
}

