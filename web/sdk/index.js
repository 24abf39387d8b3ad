// Entry point of the Switchboard JavaScript SDK (docs/sdk.md): `connect()` and the classes and
// helpers an app uses. ES modules, no build step: import it from `/sdk/index.js` of a Switchboard
// server, or from the npm package.

import { Room } from './room.js';

export { Room } from './room.js';
export { Participant, RemoteParticipant, RemoteTrackPublication } from './participant.js';
export { LocalParticipant } from './local.js';
export { LocalTrackPublication } from './local-tracks.js';
export { Moderation } from './moderation.js';
export { SwitchboardError } from './errors.js';
export { Emitter } from './emitter.js';
export { captureScreen, captureTrack, captureUserMedia, deviceOf, listInputs } from './capture.js';
export { closeReasonText } from './signal.js';
export { RECONNECT_DELAYS_MS } from './reconnect.js';
// The types (RoomEvents, RoomState, ParticipantInfo, …): JSDoc typedefs, for TypeScript users.
export * from './types.js';

/** The protocol version this SDK speaks (docs/protocol.md). */
export const PROTOCOL_VERSION = 1;

// Every Room event, once: tsc fails when this misses one of RoomEvents or names another.
/** @type {Record<keyof import('./types.js').RoomEvents, true>} */
const EVENTS = {
  stateChanged: true, joined: true, participantJoined: true, participantLeft: true, participantUpdated: true,
  trackPublished: true, trackUnpublished: true, trackSubscribed: true, trackUnsubscribed: true,
  trackMuted: true, trackUnmuted: true, trackStreamStateChanged: true, localTrackPublished: true, localTrackUnpublished: true,
  localTrackChanged: true, activeSpeakers: true, connectionQuality: true, dataReceived: true,
  handRaised: true, handLowered: true, unmuteRequested: true, onHold: true, resumed: true, moved: true,
  removed: true, admitted: true, denied: true, goingAway: true, reconnecting: true, reconnected: true,
  transportStateChanged: true, pong: true, error: true,
};

/** Every Room event name (payloads: RoomEvents in types.js, docs/sdk.md). */
export const ROOM_EVENTS = Object.freeze(/** @type {(keyof import('./types.js').RoomEvents)[]} */ (Object.keys(EVENTS)));

/**
 * @typedef {import('./room.js').RoomOptions & {
 *   audio?: boolean | string | MediaStreamTrack,
 *   video?: boolean | string | MediaStreamTrack,
 * }} ConnectOptions `audio` / `video`: publish the microphone / camera (true: default device, a
 *   device id, or a track of your own) before joining
 */

/**
 * Captures what `options` asks for, then joins the token's room through the server at `url`
 * (absent or relative: the page's own server). Resolves with the Room once joined, with everyone
 * present in `room.participants` (or once waiting in the lobby); rejects with a SwitchboardError
 * (e.g. `invalid_token`, or `permission_denied` for the camera) otherwise. To see every event from
 * the start, create a `new Room()`, add listeners, then call `room.connect()`.
 * @param {string | undefined} url
 * @param {string} token
 * @param {ConnectOptions} [options]
 * @returns {Promise<Room>}
 */
export async function connect(url, token, options = {}) {
  const { audio = false, video = false, ...roomOptions } = options;
  const room = new Room(roomOptions);
  const local = room.localParticipant;
  const wanted = (/** @type {boolean | string | MediaStreamTrack} */ w) => (w instanceof MediaStreamTrack ? false : w);
  if (wanted(audio) || wanted(video)) await local.publishCameraAndMicrophone({ audio: wanted(audio), video: wanted(video) });
  if (audio instanceof MediaStreamTrack) await local.publishMicrophone(audio);
  if (video instanceof MediaStreamTrack) await local.publishCamera(video);
  return room.connect(url, token);
}
