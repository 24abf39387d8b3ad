// Capture devices for the page: the camera and microphone remembered in localStorage (so the next
// visit starts with them), opening them (through the SDK's capture helpers), and filling a
// <select> with the inputs. No call state and no page layout.

import { captureTrack, captureUserMedia as capture, deviceOf, listInputs } from './sdk/index.js';

export { captureTrack, deviceOf, listInputs };

const CHOICE_KEY = 'switchboard.devices';

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

/** Camera and microphone, preferring the devices in `choice` ({ audio, video } ids). */
export function captureUserMedia(choice = savedChoice()) {
  return capture({ audio: choice.audio ?? true, video: choice.video ?? true });
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
