// Capture devices: opening the camera and microphone (as a whole or one kind at a time), listing
// the inputs, filling a <select> with them, and remembering the chosen devices in localStorage so
// the next visit starts with them. No call state and no page layout.

const CHOICE_KEY = 'switchboard.devices';
const KIND_OF_INPUT = { audioinput: 'audio', videoinput: 'video' };

/** The remembered device ids: { audio, video } (null: the browser's default). */
export function savedChoice() {
  try {
    const saved = JSON.parse(localStorage.getItem(CHOICE_KEY) ?? '{}');
    return { audio: saved.audio ?? null, video: saved.video ?? null };
  } catch {
    return { audio: null, video: null };
  }
}

export function saveChoice(kind, deviceId) {
  const choice = savedChoice();
  choice[kind] = deviceId || null;
  try {
    localStorage.setItem(CHOICE_KEY, JSON.stringify(choice));
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

function constraint(deviceId) {
  return deviceId ? { deviceId: { ideal: deviceId } } : true;
}

/** Camera and microphone, preferring the devices in `choice` ({ audio, video } ids). */
export function captureUserMedia(choice = savedChoice()) {
  return navigator.mediaDevices.getUserMedia({ audio: constraint(choice.audio), video: constraint(choice.video) });
}

/** One new track of `kind` ('audio' | 'video') from device `deviceId` (exactly that one). */
export async function captureTrack(kind, deviceId) {
  const stream = await navigator.mediaDevices.getUserMedia({ [kind]: deviceId ? { deviceId: { exact: deviceId } } : true });
  return stream.getTracks()[0];
}

/** The inputs by kind: { audio: [{ id, label }], video: [...] } (labels need a granted permission). */
export async function listInputs() {
  const inputs = { audio: [], video: [] };
  const devices = await navigator.mediaDevices?.enumerateDevices?.().catch(() => []) ?? [];
  for (const d of devices) {
    const kind = KIND_OF_INPUT[d.kind];
    if (!kind || !d.deviceId) continue;
    const n = inputs[kind].length + 1;
    inputs[kind].push({ id: d.deviceId, label: d.label || (kind === 'audio' ? `Microphone ${n}` : `Camera ${n}`) });
  }
  return inputs;
}

/** The device a live track comes from, or null. */
export function deviceOf(track) {
  return track?.getSettings?.().deviceId ?? null;
}

/** Fills `select` with `devices`, selecting `currentId`; disabled when there is nothing to choose. */
export function fillSelect(select, devices, currentId) {
  const options = devices.map((d) => {
    const option = select.ownerDocument.createElement('option');
    option.value = d.id;
    option.textContent = d.label;
    option.selected = d.id === currentId;
    return option;
  });
  if (!options.length) {
    const none = select.ownerDocument.createElement('option');
    none.textContent = 'None found';
    options.push(none);
  }
  select.replaceChildren(...options);
  select.disabled = devices.length === 0;
}
