// In-room moderation for `room_admin` tokens: every action of the protocol's `moderate` message as
// a method returning a Promise of its `moderate_result` (rejected with the server's `error`).
//
// The protocol has no request ids, but a session's replies come in the order of its messages. So
// each `moderate` goes out right behind a `ping` with a marker: once that marker's `pong` is back,
// the next `moderate_result` — or `error` of a kind a moderation can fail with — answers it.

import { SwitchboardError } from './errors.js';

/** @typedef {import('./types.js').ModerateRequest} ModerateRequest */
/** @typedef {import('./types.js').TrackKind} TrackKind */

// Error codes a `moderate` is answered with; other errors (an SDP the media layer refused, say)
// can arrive at any time and are not its answer.
const MODERATION_ERRORS = new Set(['not_found', 'permission_denied', 'invalid_message', 'out_of_order', 'rate_limited']);
// Marker timestamps, far below Date.now() of the keep-alive pings.
let nextMarker = 1;

/**
 * @typedef {object} Pending
 * @property {number} marker
 * @property {boolean} ponged
 * @property {string} action
 * @property {(result: any) => void} resolve
 * @property {(err: SwitchboardError) => void} reject
 */

export class Moderation {
  /** @param {(msg: object) => boolean} send over the current connection */
  constructor(send) {
    /** @internal */
    this.send = send;
    /**
     * @type {Pending[]} in the order sent
     * @internal
     */
    this.pending = [];
  }

  /**
   * Sends a raw moderation request.
   * @param {ModerateRequest} request
   * @returns {Promise<any>} the `result` of moderate_result
   */
  request(request) {
    return new Promise((resolve, reject) => {
      const marker = nextMarker++;
      if (!this.send({ type: 'ping', ts: marker }) || !this.send({ type: 'moderate', ...request })) {
        const message = `cannot ${request.action}: not connected to the room; wait for the state "connected"`;
        reject(new SwitchboardError('not_connected', message));
        return;
      }
      this.pending.push({ marker, ponged: false, action: request.action, resolve, reject });
    });
  }

  /**
   * Mutes a participant's track (`track`), or its tracks of one kind, or all of them.
   * @param {string} identity
   * @param {{track?: string, kind?: TrackKind}} [which]
   */
  mute(identity, which = {}) { return this.request({ action: 'mute', identity, ...which }); }

  /**
   * Unmutes (with the room's allow_remote_unmute) or asks the participant to unmute.
   * @param {string} identity
   * @param {{track?: string, kind?: TrackKind}} [which]
   */
  unmute(identity, which = {}) { return this.request({ action: 'unmute', identity, ...which }); }

  /**
   * Mutes everyone's tracks of `kind`, but the `except` identities.
   * @param {TrackKind} kind
   * @param {{except?: string[]}} [options]
   */
  muteRoom(kind, { except = [] } = {}) { return this.request({ action: 'mute_room', kind, except }); }

  /** @param {string} identity */
  hold(identity) { return this.request({ action: 'hold', identity }); }

  /** @param {string} identity */
  resume(identity) { return this.request({ action: 'resume', identity }); }

  /**
   * Removes a participant; `reason` is shown to them, `ban` keeps the identity out.
   * @param {string} identity
   * @param {{reason?: string, ban?: boolean}} [options]
   */
  remove(identity, { reason, ban = false } = {}) {
    return this.request({ action: 'remove', identity, ban, ...(reason === undefined ? {} : { reason }) });
  }

  /**
   * @param {string} identity
   * @param {string} toRoom
   */
  move(identity, toRoom) { return this.request({ action: 'move', identity, to_room: toRoom }); }

  /** @param {string} identity a lobby member */
  admit(identity) { return this.request({ action: 'admit', identity }); }

  /** @param {string} identity a lobby member */
  deny(identity) { return this.request({ action: 'deny', identity }); }

  /**
   * @param {string} identity
   * @param {Partial<import('./types.js').Permissions>} permissions
   */
  updatePermissions(identity, permissions) { return this.request({ action: 'update_permissions', identity, permissions }); }

  /** @param {string} identity */
  lowerHand(identity) { return this.request({ action: 'lower_hand', identity }); }

  /** Every participant of the room, with state, tracks and permissions. */
  list() { return this.request({ action: 'list' }); }

  // --- called by the Room ---

  /**
   * A pong: true when it was one of our markers (not a keep-alive).
   * @param {unknown} ts
   * @internal
   */
  pong(ts) {
    const entry = this.pending.find((p) => p.marker === ts);
    if (entry) entry.ponged = true;
    return entry !== undefined;
  }

  /**
   * A moderate_result: resolves the oldest request whose marker came back.
   * @param {string} action
   * @param {unknown} result
   * @internal
   */
  result(action, result) {
    const entry = this.answered();
    if (!entry) return;
    if (entry.action !== action) console.warn('switchboard: moderate_result for', action, 'answers', entry.action);
    entry.resolve(result);
  }

  /**
   * An `error`: true when it answered a request (which is rejected with it).
   * @param {string} code
   * @param {string} message
   * @internal
   */
  error(code, message) {
    if (!MODERATION_ERRORS.has(code)) return false;
    const entry = this.answered();
    if (!entry) return false;
    entry.reject(new SwitchboardError(code, `${entry.action}: ${message}`));
    return true;
  }

  /**
   * The connection dropped or the call ended: requests not answered will never be.
   * @param {string} why
   * @internal
   */
  failAll(why) {
    for (const entry of this.pending.splice(0)) {
      entry.reject(new SwitchboardError('disconnected', `${entry.action}: ${why}; the request may or may not have been applied`));
    }
  }

  /** @internal */
  answered() {
    const i = this.pending.findIndex((p) => p.ponged);
    return i < 0 ? undefined : this.pending.splice(i, 1)[0];
  }
}
