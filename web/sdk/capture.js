// Capturing media for publishing: a microphone or camera track (from a given device), both at
// once, a screen, and the list of input devices. Thin wrappers over navigator.mediaDevices that
// turn failures into errors saying what to do; no state.

import { SwitchboardError } from './errors.js';

/** @typedef {import('./types.js').TrackKind} TrackKind */

/**
 * A MediaTrackConstraints for `deviceId`: `exact` to insist on that device (switching), `ideal`
 * to prefer it (a remembered choice that may be gone).
 * @param {string | null | undefined} deviceId
 * @param {boolean} exact
 * @param {TrackKind} [kind] video asks for 1280×720
 * @returns {MediaTrackConstraints | boolean}
 */
function constraint(deviceId, exact, kind = 'audio') {
  // Cameras: 1280×720 if they can (three simulcast layers need 960×540 or more).
  const size = kind === 'video' ? { width: { ideal: 1280 }, height: { ideal: 720 } } : null;
  if (!deviceId) return size ?? true;
  return { ...size, deviceId: exact ? { exact: deviceId } : { ideal: deviceId } };
}

/** @returns {MediaDevices} */
function mediaDevices() {
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices?.getUserMedia) {
    throw new SwitchboardError('media_unavailable',
      'this page cannot capture media: open it over https (or on localhost) in a browser with camera access');
  }
  return devices;
}

/**
 * @param {unknown} err
 * @param {string} what
 */
function captureError(err, what) {
  const name = /** @type {{name?: string}} */ (err)?.name;
  const message = /** @type {{message?: string}} */ (err)?.message ?? String(err);
  if (name === 'NotAllowedError') {
    return new SwitchboardError('permission_denied', `${what}: access was refused; allow it in the browser's site settings`);
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return new SwitchboardError('device_not_found', `${what}: no such device; pick another one`);
  }
  return new SwitchboardError('media_unavailable', `${what}: ${message}`);
}

/**
 * One new track of `kind` from `deviceId` (exactly that device; none: the browser's default).
 * @param {TrackKind} kind
 * @param {string | null} [deviceId]
 * @returns {Promise<MediaStreamTrack>}
 */
export async function captureTrack(kind, deviceId = null) {
  const what = kind === 'audio' ? 'cannot open the microphone' : 'cannot open the camera';
  try {
    const stream = await mediaDevices().getUserMedia({ [kind]: constraint(deviceId, true, kind) });
    return stream.getTracks()[0];
  } catch (err) {
    throw err instanceof SwitchboardError ? err : captureError(err, what);
  }
}

/**
 * Microphone and camera in one prompt, preferring the given devices (`true`: the default one,
 * `false`: not that kind).
 * @param {{audio?: boolean | string, video?: boolean | string}} wanted device ids or booleans
 * @returns {Promise<MediaStream>}
 */
export async function captureUserMedia({ audio = true, video = true } = {}) {
  const pick = (/** @type {boolean | string} */ w, /** @type {TrackKind} */ kind) => {
    if (typeof w === 'string') return constraint(w, false, kind);
    return w && kind === 'video' ? constraint(null, false, kind) : w;
  };
  try {
    return await mediaDevices().getUserMedia({ audio: pick(audio, 'audio'), video: pick(video, 'video') });
  } catch (err) {
    throw err instanceof SwitchboardError ? err : captureError(err, 'cannot open the camera or microphone');
  }
}

/**
 * A screen capture (the browser asks which screen or window). Cancelling the picker rejects with
 * a SwitchboardError of code `cancelled`.
 * @returns {Promise<MediaStreamTrack>}
 */
export async function captureScreen() {
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices?.getDisplayMedia) throw new SwitchboardError('media_unavailable', 'this browser cannot share the screen');
  try {
    const stream = await devices.getDisplayMedia({ video: true, audio: false });
    return stream.getVideoTracks()[0];
  } catch (err) {
    const name = /** @type {{name?: string}} */ (err)?.name;
    if (name === 'NotAllowedError' || name === 'AbortError') throw new SwitchboardError('cancelled', 'screen sharing was cancelled');
    throw captureError(err, 'cannot share the screen');
  }
}

/**
 * The inputs by kind, `{audio: [{id, label}], video: [...]}` (labels need a granted permission).
 * @returns {Promise<{audio: {id: string, label: string}[], video: {id: string, label: string}[]}>}
 */
export async function listInputs() {
  /** @type {{audio: {id: string, label: string}[], video: {id: string, label: string}[]}} */
  const inputs = { audio: [], video: [] };
  const devices = await globalThis.navigator?.mediaDevices?.enumerateDevices?.().catch(() => []) ?? [];
  for (const d of devices) {
    const kind = d.kind === 'audioinput' ? 'audio' : d.kind === 'videoinput' ? 'video' : null;
    if (!kind || !d.deviceId) continue;
    const n = inputs[kind].length + 1;
    inputs[kind].push({ id: d.deviceId, label: d.label || (kind === 'audio' ? `Microphone ${n}` : `Camera ${n}`) });
  }
  return inputs;
}

/**
 * The device a live track comes from, or null.
 * @param {MediaStreamTrack | null | undefined} track
 */
export function deviceOf(track) {
  return track?.getSettings?.().deviceId ?? null;
}
