// Entry point of the moderator dashboard (/admin.html): sign-in with an admin token (kept in
// sessionStorage, so only this tab holds it), then wires the live data (live.js) to the rooms
// sidebar, the room view, the session history and the actions. The selected room is in the URL
// (#room=NAME). `window.dashboard` exposes the state for tests and the console.

import { Api } from './api.js';
import { createActions } from './actions.js';
import { Live } from './live.js';
import { RoomView } from './room.js';
import { RoomsList } from './rooms.js';
import { SessionsView } from './sessions.js';

const TOKEN_KEY = 'switchboard.adminToken';
const TOAST_MS = 4000;
const $ = (id) => document.getElementById(id);

const state = {
  signedIn: false,
  moderator: null, // the token's `sub`
  rooms: [],
  room: null, // selected room name
  participants: [],
  bans: [],
  events: [], // every event received, newest first (at most 200)
  stream: 'off', // SSE: 'live' | 'connecting' | 'off'
  lastError: null, // { code, message, what }
  lastNotice: null,
  lastInvite: null, // { token, url, expires_at } of the last invite created here
  chart: null, // the bitrate chart (chart.latest(): identity -> bps)
};
window.dashboard = state;

let live = null;
let toastTimer = null;

function signIn(token) {
  const claims = decodeClaims(token);
  if (!claims) return showSignInError('That is not a token: paste the whole output of `switchboard token --admin`.');
  if (claims.admin !== true) return showSignInError('This token has no admin grant: mint one with `switchboard token --admin`.');
  if (claims.exp && claims.exp * 1000 < Date.now()) return showSignInError('This token has expired: mint a new one.');
  sessionStorage.setItem(TOKEN_KEY, token);
  state.signedIn = true;
  state.moderator = claims.sub ?? 'admin';
  $('sign-in').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  const until = claims.exp ? ` until ${new Date(claims.exp * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : '';
  $('moderator').textContent = `Signed in as ${state.moderator}${until}`;

  const api = new Api(token, { onUnauthorized: (code, message) => signOut(`Signed out: ${message} (${code}).`) });
  const ctx = {
    api,
    get live() { return live; },
    room: () => state.room,
    rooms: () => state.rooms,
    select,
    notify: toast,
    onError: reportError,
    set lastInvite(invite) { state.lastInvite = invite; },
  };
  const actions = createActions(ctx);
  const roomView = new RoomView(document, actions);
  state.chart = roomView.chart;
  const roomsList = new RoomsList(document, { onSelect: select, onCreate: (values) => actions.createRoom(values) });
  const sessions = new SessionsView(document, api, reportError);
  $('sessions-refresh').addEventListener('click', () => sessions.load(true));

  live = new Live(api, {
    onRooms(rooms) {
      state.rooms = rooms;
      roomsList.update(rooms, state.room);
      if (state.room) roomView.setRoom(rooms.find((r) => r.name === state.room) ?? null);
    },
    onRoom(name, participants, bans) {
      if (name !== state.room) return;
      state.participants = participants ?? [];
      state.bans = bans;
      if (participants) roomView.setParticipants(participants, bans);
      else roomView.setRoom(null);
    },
    onEvent(event) {
      state.events.unshift(event);
      state.events.length = Math.min(state.events.length, 200);
      roomView.addEvent(event);
      if (event.type === 'room_started' || event.type === 'room_ended') sessions.refreshSoon();
    },
    onStatus({ stream, updatedAt }) {
      state.stream = stream;
      const streamText = { live: 'Live events', connecting: 'Connecting to events…', off: 'Events off (polling)' }[stream];
      $('live').textContent = `${streamText}${updatedAt ? ` · updated ${updatedAt.toLocaleTimeString()}` : ''}`;
    },
    onError: (err) => reportError(err, 'refresh'),
  });

  /** Shows room `name`; `room`, when the caller has it (a room just created), fills its settings
   * at once instead of at the next refresh. */
  function select(name, room = null) {
    state.room = name;
    state.participants = [];
    history.replaceState(null, '', name ? `#room=${encodeURIComponent(name)}` : location.pathname);
    roomView.open(name);
    if (room) roomView.setRoom(room);
    $('no-room').hidden = !!name;
    roomsList.update(state.rooms, name);
    live.select(name);
  }

  select(new URLSearchParams(location.hash.slice(1)).get('room'));
  live.start();
  sessions.load(true);
}

function signOut(message = null) {
  sessionStorage.removeItem(TOKEN_KEY);
  live?.stop();
  live = null;
  // A fresh page drops every listener and view of the old session; the message rides along.
  if (message) sessionStorage.setItem('switchboard.signOutMessage', message);
  location.replace(location.pathname);
}

function showSignInError(text) {
  const el = $('sign-in-error');
  el.textContent = text;
  el.hidden = false;
}

/** The claims of a JWT (not verified: the server does that), or null when it is not one. */
function decodeClaims(token) {
  try {
    const part = token.split('.')[1];
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return null;
  }
}

function toast(text) {
  state.lastNotice = text;
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, TOAST_MS);
}

function reportError(err, what) {
  state.lastError = { code: err.code ?? 'error', message: err.message, what };
  const el = $('banner');
  el.textContent = `Could not ${what}: ${err.message}${err.code ? ` (${err.code})` : ''}`;
  el.hidden = false;
  clearTimeout(reportError.timer);
  reportError.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

/**
 * In development mode a server may hand admin tokens to the page (`POST /dev/admin-token`,
 * `{token}`); when it does, a button signs in with one. Otherwise the button stays hidden and the
 * form explains `switchboard token --admin`.
 */
async function offerDevToken() {
  const res = await fetch('/dev/admin-token', { method: 'POST' }).catch(() => null);
  const body = res?.ok ? await res.json().catch(() => null) : null;
  if (typeof body?.token !== 'string' || state.signedIn) return;
  const button = $('dev-token');
  button.hidden = false;
  button.addEventListener('click', () => signIn(body.token), { once: true });
}

$('sign-in').addEventListener('submit', (ev) => {
  ev.preventDefault();
  $('sign-in-error').hidden = true;
  signIn($('token').value.trim());
});
$('sign-out').addEventListener('click', () => signOut());

const message = sessionStorage.getItem('switchboard.signOutMessage');
sessionStorage.removeItem('switchboard.signOutMessage');
if (message) showSignInError(message);
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else offerDevToken();
