// Page entry point: wires the join form and its pre-join preview (prejoin.js), opens invite links
// (/join?token=…), asks the development token endpoint for a token, and publishes
// `window.switchboard`, the state that tests and the console read. A call is the SDK's Room
// (web/sdk) glued to the page by call.js and room-events.js, and drawn by view.js.

import { Call } from './call.js';
import { Prejoin } from './prejoin.js';
import { View } from './view.js';

// 'idle' | 'joining' | 'lobby' (waiting for a moderator) | 'joined' | 'reconnecting' (the
// connection dropped; rejoining with the same token) | then how it ended: 'left' (Leave),
// 'removed' (by a moderator, room ended, replaced…), 'denied' (from the lobby), 'error'.
const store = {
  state: 'idle',
  identity: null,
  participantSid: null,
  name: null,
  room: null, // current room name (changes when a moderator moves us)
  // sid -> { identity, name, state, quality, hand, tracks: { trackSid -> { kind, source, muted } } }
  participants: {},
  // The current connection's RTCPeerConnections (for getStats), from the SDK's room.engine.
  get publisher() { return call?.room.engine?.publisherPC ?? null; },
  get subscriber() { return call?.room.engine?.subscriberPC ?? null; },
  muted: { audio: false, video: false }, // own media muted (by us or a moderator)
  mutedBy: { audio: null, video: null }, // own kind -> moderator identity holding it muted, or null
  screenSharing: false,
  handRaised: false,
  onHold: false,
  quality: null, // own connection quality from the server: 'excellent' | 'good' | 'poor' | 'lost'
  speakers: [], // who speaks now, loudest first: [{ participant, level }]
  notices: [], // every notice shown this session, oldest first: { kind, text }
  chat: [], // chat messages, oldest first: { from (identity, null: moderator), name, text, own, at }
  lastData: null, // the last `data` message: { from, payload }
  reconnects: 0, // reconnections started this session
  timings: { wsOpen: null, firstFrameDecoded: null }, // performance.now() values
  lastError: null, // { code, message }
  join,
  leave,
};
window.switchboard = store;

let call = null;
const view = new View(document, {
  onLeave: leave,
  onToggleMuted: (kind) => call?.toggleMuted(kind),
  onUnmuteAnswer: (track, accept) => call?.answerUnmute(track, accept),
  onToggleScreen: () => call?.toggleScreen(),
  onToggleHand: () => call?.toggleHand(),
  onSendChat: (text) => call?.sendChat(text),
  devices: () => call?.devices() ?? Promise.resolve({ inputs: { audio: [], video: [] }, current: {} }),
  onSwitchDevice: (kind, deviceId) => call?.switchDevice(kind, deviceId),
});
const prejoin = new Prejoin(document);

class TokenError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Joins `room` as `name` with a token from the development endpoint. */
async function join(room, name) {
  const session = beginCall(name);
  let token;
  try {
    token = await fetchDevToken(room, name);
  } catch (err) {
    session.fail({ code: err.code ?? 'token_request_failed', message: err.message });
    return;
  }
  const stream = await prejoin.take();
  if (session.finished) {
    for (const track of stream?.getTracks() ?? []) track.stop();
    return;
  }
  await session.start(token, stream);
}

/** Joins with a token from an invite link (no form, so no preview: the call captures itself). */
function joinWithToken(token) {
  prejoin.stop();
  return beginCall(null).start(token);
}

function leave() {
  call?.leave();
}

function beginCall(name) {
  if (call && !call.finished) throw new Error('already in a call: leave first');
  Object.assign(store, {
    state: 'joining', identity: null, participantSid: null, name, room: null, participants: {},
    muted: { audio: false, video: false }, mutedBy: { audio: null, video: null }, screenSharing: false,
    handRaised: false, onHold: false, quality: null, speakers: [], notices: [], chat: [], lastData: null,
    reconnects: 0, timings: { wsOpen: null, firstFrameDecoded: null }, lastError: null,
  });
  view.joining();
  // Back at the form after the call: the preview comes back on.
  call = new Call(store, view, { onEnded: () => prejoin.start() });
  // For the console and tests: the SDK Room of the current call (its PeerConnections, stats).
  window.switchboardRoom = call.room;
  return call;
}

async function fetchDevToken(room, name) {
  let res;
  try {
    res = await fetch('/dev/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room, name }),
    });
  } catch (err) {
    throw new TokenError('token_request_failed', `cannot reach the server: ${err.message}`);
  }
  const body = await res.json().catch(() => null);
  if (res.ok && typeof body?.token === 'string') return body.token;
  if (res.status === 404) {
    throw new TokenError(body?.error?.code ?? 'not_found',
      'development token endpoint is off: open an invite link (/join?token=…)');
  }
  throw new TokenError(body?.error?.code ?? 'token_request_failed',
    body?.error?.message ?? `token request failed (HTTP ${res.status})`);
}

document.getElementById('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  join(form.elements.room.value.trim(), form.elements.name.value.trim());
});

const inviteToken = location.pathname === '/join' ? new URLSearchParams(location.search).get('token') : null;
if (inviteToken) joinWithToken(inviteToken);
else prejoin.start();
