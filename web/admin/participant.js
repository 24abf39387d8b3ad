// One participant's card in the room view: name, call state, connection quality, speaking, raised
// hand, send and receive rates, permissions, a table of its tracks with live statistics and a mute
// button per track, and the participant actions (lower hand, hold/resume, move, remove,
// permissions). Built once per
// identity and updated in place at every refresh, so focus and hover survive the updates.

import { displayName, formatBitrate, formatMs, formatPercent, formatTime, h, setText } from './dom.js';

const STATE_TEXT = {
  invited: 'Invited', lobby: 'In lobby', joining: 'Joining', connected: 'Connected', on_hold: 'On hold', disconnected: 'Disconnected',
};
const SOURCE_TEXT = { microphone: 'Microphone', camera: 'Camera', screen: 'Screen share' };
const SOURCE_ORDER = ['microphone', 'camera', 'screen'];
const PERMISSION_TEXT = {
  can_publish: 'publish', can_subscribe: 'subscribe', can_publish_data: 'data', room_admin: 'room admin', hidden: 'hidden',
};

let nextId = 0;

export class ParticipantCard {
  /** `actions`: mute(p, track, muted), lowerHand(p), hold(p), resume(p), move(p), remove(p), permissions(p). */
  constructor(identity, actions) {
    this.actions = actions;
    this.p = null;
    this.rows = new Map(); // track sid -> { row, cells, button }
    const id = `pc-${nextId++}`;
    this.nameEl = h('span', { class: 'pname' });
    this.identityEl = h('span', { class: 'identity muted' });
    this.stateEl = h('li', { class: 'chip' });
    this.qualityEl = h('li', { class: 'chip' });
    this.speakingEl = h('li', { class: 'chip chip-speaking', text: 'Speaking', hidden: true });
    this.handEl = h('li', { class: 'chip chip-hand', hidden: true });
    this.lowerHandButton = h('button', { type: 'button', class: 'small', text: 'Lower hand', hidden: true, onclick: () => actions.lowerHand(this.p) });
    this.details = h('p', { class: 'muted pdetails' });
    this.holdButton = h('button', { type: 'button', class: 'small', onclick: () => this.toggleHold() });
    this.moveButton = h('button', { type: 'button', class: 'small secondary', text: 'Move…', onclick: () => actions.move(this.p) });
    this.permButton = h('button', { type: 'button', class: 'small secondary', text: 'Permissions…', onclick: () => actions.permissions(this.p) });
    this.removeButton = h('button', { type: 'button', class: 'small danger', text: 'Remove…', onclick: () => actions.remove(this.p) });
    this.tbody = h('tbody');
    this.table = h('table', { class: 'tracks' },
      h('caption', { class: 'visually-hidden', text: 'Published tracks' }),
      h('thead', {}, h('tr', {}, ['Track', 'State', 'Bitrate', 'Loss', 'Jitter', 'Video', ''].map((t) => h('th', { scope: 'col', text: t })))),
      this.tbody);
    this.noTracks = h('p', { class: 'muted', text: 'Publishes no tracks.' });
    this.el = h('article', { class: 'pcard', dataset: { identity }, 'aria-labelledby': `${id}-name` },
      h('div', { class: 'pcard-head' },
        h('h4', { id: `${id}-name` }, this.nameEl, ' ', this.identityEl),
        h('ul', { class: 'chips', 'aria-label': 'Status' }, this.stateEl, this.qualityEl, this.speakingEl, this.handEl)),
      this.details,
      h('div', { class: 'pcard-actions', role: 'group', 'aria-label': 'Actions' },
        this.lowerHandButton, this.holdButton, this.moveButton, this.permButton, this.removeButton),
      h('div', { class: 'table-wrap' }, this.table),
      this.noTracks);
  }

  update(p, { speaking, allowRemoteUnmute }) {
    this.p = p;
    const name = displayName(p);
    setText(this.nameEl, name);
    setText(this.identityEl, p.name && p.name !== p.identity ? p.identity : '');
    this.el.dataset.state = p.state;
    const state = p.state === 'disconnected' && p.disconnect_reason
      ? `Disconnected (${p.disconnect_reason})` : STATE_TEXT[p.state] ?? p.state;
    setText(this.stateEl, state);
    this.stateEl.className = `chip state-${p.state}`;
    setText(this.qualityEl, `Quality: ${p.connection_quality}`);
    this.qualityEl.className = `chip quality-${p.connection_quality}`;
    this.speakingEl.hidden = !speaking;
    this.el.classList.toggle('speaking', speaking);
    const hand = p.hand_raised === true;
    this.handEl.hidden = !hand;
    this.el.classList.toggle('hand-raised', hand);
    setText(this.handEl, hand && p.hand_raised_at ? `✋ Hand raised ${formatTime(p.hand_raised_at)}` : '✋ Hand raised');

    const up = sum(p.tracks.map((t) => t.stats?.bitrate_bps));
    const down = sum(p.subscriptions.map((s) => s.stats?.bitrate_bps));
    setText(this.details, [
      `Sends ${formatBitrate(up)}`,
      `receives ${formatBitrate(down)} (${p.subscriptions.length} tracks${layerSummary(p.subscriptions)})`,
      typeof p.estimated_bitrate_bps === 'number' ? `downlink estimate ${formatBitrate(p.estimated_bitrate_bps)}` : null,
      p.remote_address ? `from ${p.remote_address}` : null,
      p.joined_at ? `joined ${formatTime(p.joined_at)}` : null,
      `may: ${permissionSummary(p.permissions)}`,
    ].filter(Boolean).join(' · '));

    const live = p.state !== 'disconnected';
    for (const b of [this.holdButton, this.moveButton, this.permButton, this.removeButton]) b.hidden = !live;
    this.lowerHandButton.hidden = !live || !hand;
    this.lowerHandButton.setAttribute('aria-label', `Lower ${name}'s hand`);
    const held = p.state === 'on_hold';
    setText(this.holdButton, held ? 'Resume' : 'Hold');
    this.holdButton.setAttribute('aria-label', held ? `Resume ${name}` : `Put ${name} on hold`);
    this.holdButton.disabled = !['connected', 'on_hold'].includes(p.state);
    this.moveButton.setAttribute('aria-label', `Move ${name} to another room`);
    this.permButton.setAttribute('aria-label', `Edit ${name}'s permissions`);
    this.removeButton.setAttribute('aria-label', `Remove ${name}`);

    this.updateTracks(p, name, allowRemoteUnmute && live);
  }

  toggleHold() {
    if (this.p.state === 'on_hold') this.actions.resume(this.p);
    else this.actions.hold(this.p);
  }

  updateTracks(p, name, allowRemoteUnmute) {
    const seen = new Set();
    const tracks = [...p.tracks].sort((a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source));
    for (const t of tracks) {
      seen.add(t.sid);
      let r = this.rows.get(t.sid);
      if (!r) {
        r = this.trackRow(t);
        this.rows.set(t.sid, r);
      }
      this.updateRow(r, t, name, allowRemoteUnmute);
    }
    // Moving a row would take focus off its button: reorder only when the order changed.
    const rows = tracks.map((t) => this.rows.get(t.sid).row);
    if (rows.some((row, i) => this.tbody.children[i] !== row)) this.tbody.append(...rows);
    for (const [sid, r] of this.rows) {
      if (!seen.has(sid)) {
        r.row.remove();
        this.rows.delete(sid);
      }
    }
    this.table.hidden = p.tracks.length === 0;
    this.noTracks.hidden = p.tracks.length > 0;
  }

  trackRow(t) {
    const cells = {};
    for (const key of ['track', 'state', 'bitrate', 'loss', 'jitter', 'video']) cells[key] = h('td', { class: `col-${key}` });
    const button = h('button', { type: 'button', class: 'small' });
    const row = h('tr', { dataset: { track: t.sid, kind: t.kind, source: t.source } }, Object.values(cells), h('td', {}, button));
    button.addEventListener('click', () => {
      const track = this.p.tracks.find((x) => x.sid === t.sid);
      if (track) this.actions.mute(this.p, track, !track.muted || !track.muted_by);
    });
    return { row, cells, button };
  }

  updateRow({ row, cells, button }, t, name, allowRemoteUnmute) {
    const source = SOURCE_TEXT[t.source] ?? t.source;
    const s = t.stats;
    setText(cells.track, source);
    cells.track.title = t.codec;
    setText(cells.state, t.muted ? (t.muted_by ? `Muted by ${t.muted_by}` : 'Muted by participant') : 'Live');
    cells.state.className = `col-state ${t.muted ? 'is-muted' : 'is-live'}`;
    setText(cells.bitrate, formatBitrate(s?.bitrate_bps));
    setText(cells.loss, formatPercent(s?.loss_percent));
    setText(cells.jitter, formatMs(s?.jitter_ms));
    setText(cells.video, videoText(s));
    row.dataset.bitrate = String(s?.bitrate_bps ?? '');
    row.dataset.muted = String(t.muted);
    const what = source.toLowerCase();
    // A moderator's mute is lifted by asking (or at once with allow_remote_unmute); a self-mute
    // can still be locked by muting it as moderator.
    const lift = t.muted && t.muted_by;
    const label = !lift ? 'Mute' : allowRemoteUnmute ? 'Unmute' : 'Ask to unmute';
    setText(button, label);
    button.className = lift ? 'small secondary' : 'small';
    button.setAttribute('aria-label', !lift ? `Mute ${name}'s ${what}`
      : allowRemoteUnmute ? `Unmute ${name}'s ${what}` : `Ask ${name} to unmute ${what}`);
    button.hidden = this.p.state === 'disconnected';
  }
}

function videoText(s) {
  if (!s || !s.frame_width) return s?.rtt_ms ? `RTT ${formatMs(s.rtt_ms)}` : '—';
  const fps = s.frames_per_second ? ` · ${Math.round(s.frames_per_second)} fps` : '';
  return `${s.frame_width}×${s.frame_height}${fps}`;
}

const LAYER_TEXT = ['quarter', 'half', 'full'];

/** `; simulcast layers: full, quarter` for the received tracks of simulcast publishers. */
function layerSummary(subscriptions) {
  const layers = subscriptions.map((s) => s.stats?.layer).filter((l) => typeof l === 'number');
  const paused = subscriptions.filter((s) => s.stats?.paused === 'bandwidth').length;
  return (layers.length ? `; simulcast layers: ${layers.map((l) => LAYER_TEXT[l] ?? `#${l}`).join(', ')}` : '')
    + (paused ? `; ${paused} paused for bandwidth` : '');
}

function sum(values) {
  const known = values.filter((v) => typeof v === 'number');
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

function permissionSummary(perm) {
  const on = Object.entries(PERMISSION_TEXT).filter(([k]) => perm[k]).map(([, text]) => text);
  const sources = perm.can_publish && perm.can_publish_sources.length ? ` (${perm.can_publish_sources.join(', ')} only)` : '';
  return (on.join(', ') || 'nothing') + sources;
}
