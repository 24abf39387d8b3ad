// Page entry point: wires the join form, opens invite links (/join?token=…), asks the
// development token endpoint for a token, and publishes `window.switchboard`, the state that
// tests and the console read. Calls are run by call.js and drawn by view.js.

import { Call } from './call.js';
import { View } from './view.js';

// 'idle' | 'joining' | 'lobby' (waiting for a moderator) | 'joined' | then how it ended:
// 'left' (Leave), 'removed' (by a moderator, room ended, replaced…), 'denied' (from the lobby), 'error'.
const store = {
  state: 'idle',
  identity: null,
  participantSid: null,
  name: null,
  room: null, // current room name (changes when a moderator moves us)
  // sid -> { identity, name, state, quality, tracks: { trackSid -> { kind, source, muted } } }
  participants: {},
  publisher: null,
  subscriber: null,
  muted: { audio: false, video: false }, // own media muted (by us or a moderator)
  mutedBy: { audio: null, video: null }, // own kind -> moderator identity holding it muted, or null
  onHold: false,
  quality: null, // own connection quality from the server: 'excellent' | 'good' | 'poor' | 'lost'
  speakers: [], // who speaks now, loudest first: [{ participant, level }]
  notices: [], // every notice shown this session, oldest first: { kind, text }
  lastData: null, // the last `data` message: { from, payload }
  timings: { wsOpen: null, firstFrameDecoded: null }, // performance.now() values
  lastError: null, // { code, message }
  join,
  leave,
};
window.switchboard = store;

const view = new View(document, {
  onLeave: leave,
  onToggleMuted: (kind) => call?.toggleMuted(kind),
  onUnmuteAnswer: (track, accept) => call?.answerUnmute(track, accept),
});
let call = null;

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
  if (!session.finished) await session.start(token);
}

/** Joins with a token from an invite link. */
function joinWithToken(token) {
  return beginCall(null).start(token);
}

function leave() {
  call?.leave();
}

function beginCall(name) {
  if (call && !call.finished) throw new Error('already in a call: leave first');
  Object.assign(store, {
    state: 'joining', identity: null, participantSid: null, name, room: null, participants: {},
    muted: { audio: false, video: false }, mutedBy: { audio: null, video: null }, onHold: false,
    quality: null, speakers: [], notices: [], lastData: null, timings: { wsOpen: null, firstFrameDecoded: null }, lastError: null,
  });
  view.joining();
  call = new Call(store, view);
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
