// The participants of a room as the SDK models them: the common Participant (identity, name,
// call state, permissions, hand, quality, speaking level, track publications) filled from the
// protocol's ParticipantInfo, the RemoteParticipant, and a remote participant's published track
// (RemoteTrackPublication) with the MediaStreamTrack received for it. The local side is local.js.

import { ShownSize } from './adaptive.js';

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
  /** @type {ShownSize | null} video: where it is shown (adaptive stream) */
  #shown = null;
  /**
   * @param {TrackInfo} info
   * @param {((msg: object) => boolean) | null} [send] adaptive stream: tells the server how the
   *   video is shown (null: never)
   */
  constructor(info, send = null) {
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
    /** @type {'active' | 'paused'} video: `paused` while the server withholds it for lack of
     * bandwidth on our downlink (audio is never paused) */
    this.streamState = 'active';
    if (send && info.kind === 'video') this.#shown = new ShownSize(info.sid, send);
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
    this.observe(element);
    return element;
  }

  /**
   * Stops playing in `element`.
   * @param {HTMLMediaElement} element
   */
  detach(element) {
    element.srcObject = null;
    this.unobserve(element);
  }

  /**
   * Adaptive stream, for a video played some other way than attach(): `element` shows it, so
   * the server sends a layer no larger than the element and nothing while no element is visible.
   * @param {HTMLMediaElement} element
   */
  observe(element) {
    this.#shown?.observe(element);
  }

  /**
   * `element` no longer shows it (with no element left, the server sends no video).
   * @param {HTMLMediaElement} element
   */
  unobserve(element) {
    this.#shown?.unobserve(element);
  }

  /**
   * Caps the simulcast layer received: 0 (quarter), 1 (half), 2 (full), null (no cap).
   * @param {0 | 1 | 2 | null} layer
   */
  setMaxLayer(layer) {
    if (!this.#shown) return;
    this.#shown.maxLayer = layer;
    this.#shown.resend();
  }

  /** A new connection received the track again: it starts from the server's defaults. */
  resendShown() {
    this.#shown?.resend();
  }

  /** The publication is gone: stop observing. */
  close() {
    this.#shown?.close();
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
