// Page entry point: wires the join form, opens invite links (/join?token=…), asks the
// development token endpoint for a token, and publishes `window.switchboard`, the state that
// tests and the console read. Calls are run by call.js and drawn by view.js.

import { Call } from './call.js';
import { View } from './view.js';

const store = {
  state: 'idle', // 'idle' | 'joining' | 'joined' | 'left' | 'error'
  identity: null,
  participantSid: null,
  name: null,
  room: null,
  participants: {}, // sid -> { identity, name, tracks: { trackSid -> { kind, source, muted } } }
  publisher: null,
  subscriber: null,
  timings: { wsOpen: null, firstFrameDecoded: null }, // performance.now() values
  lastError: null, // { code, message }
  join,
  leave,
};
window.switchboard = store;

const view = new View(document, { onLeave: leave });
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
    timings: { wsOpen: null, firstFrameDecoded: null }, lastError: null,
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
