// The participants of a room as the SDK models them: the common Participant (identity, name,
// call state, permissions, hand, quality, speaking level, track publications) filled from the
// protocol's ParticipantInfo, the RemoteParticipant, and a remote participant's published track
// (RemoteTrackPublication) with the MediaStreamTrack received for it. The local side is local.js.

/** @typedef {import('./types.js').ParticipantInfo} ParticipantInfo */
/** @typedef {import('./types.js').TrackInfo} TrackInfo */
/** @typedef {import('./types.js').Permissions} Permissions */

/** @type {Permissions} */
const NO_PERMISSIONS = Object.freeze({
  can_publish: false, can_publish_sources: [], can_subscribe: false, can_publish_data: false, hidden: false, room_admin: false,
});

export class Participant {
  /** @param {string} sid */
  constructor(sid) {
    /** @type {string} */
    this.sid = sid;
    this.identity = '';
    this.name = '';
    /** @type {import('./types.js').ParticipantState} */
    this.state = 'joining';
    /** @type {Permissions} */
    this.permissions = NO_PERMISSIONS;
    /** @type {unknown} */
    this.metadata = null;
    this.joinedAt = '';
    this.handRaised = false;
    /** @type {string | null} RFC 3339, while the hand is up */
    this.handRaisedAt = null;
    /** @type {import('./types.js').ConnectionQuality | null} from the server; null until it reports one */
    this.quality = null;
    /** 0..1 while among the active speakers, else 0. */
    this.audioLevel = 0;
    /** @type {boolean} */
    this.isLocal = false;
  }

  /** Whether it is among the active speakers now. */
  get isSpeaking() {
    return this.audioLevel > 0;
  }

  /**
   * Takes the fields of a ParticipantInfo (not its tracks); returns the names of those that
   * changed: `name`, `state`, `permissions`, `metadata`, `hand`.
   * @param {ParticipantInfo} info
   * @internal
   */
  applyInfo(info) {
    const changed = [];
    if (info.identity !== this.identity) this.identity = info.identity;
    if (info.name !== this.name) {
      this.name = info.name;
      changed.push('name');
    }
    if (info.state !== this.state) {
      this.state = info.state;
      changed.push('state');
    }
    if (JSON.stringify(info.permissions) !== JSON.stringify(this.permissions)) {
      this.permissions = info.permissions;
      changed.push('permissions');
    }
    if (JSON.stringify(info.metadata ?? null) !== JSON.stringify(this.metadata)) {
      this.metadata = info.metadata ?? null;
      changed.push('metadata');
    }
    const raised = info.hand_raised === true;
    if (raised !== this.handRaised) changed.push('hand');
    this.handRaised = raised;
    this.handRaisedAt = info.hand_raised_at ?? null;
    this.joinedAt = info.joined_at;
    return changed;
  }
}

export class RemoteTrackPublication {
  /** @param {TrackInfo} info */
  constructor(info) {
    /** @type {string} */
    this.sid = info.sid;
    /** @type {import('./types.js').TrackKind} */
    this.kind = info.kind;
    /** @type {import('./types.js').TrackSource} */
    this.source = info.source;
    /** @type {string} */
    this.mimeType = info.mime_type;
    this.muted = info.muted;
    /** @type {string | null} the moderator who muted it */
    this.mutedBy = info.muted_by ?? null;
    /** @type {MediaStreamTrack | null} the received track, once subscribed */
    this.track = null;
  }

  /** Whether its media arrived (a track was received for it). */
  get isSubscribed() {
    return this.track !== null;
  }

  /**
   * Plays the received track in `element` (an <audio> or <video>); returns the element.
   * @template {HTMLMediaElement} E
   * @param {E} element
   * @returns {E}
   */
  attach(element) {
    if (this.track) element.srcObject = new MediaStream([this.track]);
    return element;
  }

  /**
   * Stops playing in `element`.
   * @param {HTMLMediaElement} element
   */
  detach(element) {
    element.srcObject = null;
  }
}

export class RemoteParticipant extends Participant {
  /** @param {string} sid */
  constructor(sid) {
    super(sid);
    /** @type {Map<string, RemoteTrackPublication>} by track sid */
    this.trackPublications = new Map();
  }

  /**
   * Its publication of `source` ('camera', 'microphone', 'screen'), if any.
   * @param {import('./types.js').TrackSource} source
   */
  getTrackPublication(source) {
    return [...this.trackPublications.values()].find((p) => p.source === source);
  }

  /** Every track received from it. */
  get tracks() {
    return [...this.trackPublications.values()].flatMap((p) => (p.track ? [p.track] : []));
  }
}
