// Session history (GET /api/v1/sessions, docs/events.md): a table of room sessions, newest first,
// optionally of one room, with "Load more" paging and, per session, its participant legs
// (GET /api/v1/sessions/{id}) in an expandable row. Reloaded when a room starts or ends.

import { seg } from './api.js';
import { formatBytes, formatDuration, formatTime, h, secondsBetween } from './dom.js';

const PAGE = 20;

export class SessionsView {
  constructor(doc, api, onError) {
    this.api = api;
    this.onError = onError;
    this.body = doc.getElementById('sessions-body');
    this.more = doc.getElementById('sessions-more');
    this.filter = doc.getElementById('sessions-room');
    this.status = doc.getElementById('sessions-status');
    this.cursor = null;
    this.soon = null;
    this.more.addEventListener('click', () => this.load(false));
    doc.getElementById('sessions-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.load(true);
    });
  }

  /** Reloads the first page shortly (a room started or ended), unless more pages are shown. */
  refreshSoon() {
    if (this.body.querySelectorAll('tr.session').length > PAGE) return;
    clearTimeout(this.soon);
    this.soon = setTimeout(() => this.load(true), 1000);
  }

  /** Loads the first page (`fresh`) or the next one. */
  async load(fresh = true) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    const room = this.filter.value.trim();
    if (room) query.set('room', room);
    if (!fresh && this.cursor) query.set('cursor', this.cursor);
    this.status.textContent = 'Loading…';
    let page;
    try {
      page = await this.api.get(`/sessions?${query}`);
    } catch (err) {
      this.status.textContent = '';
      this.onError(err, 'load the session history');
      return;
    }
    if (fresh) this.body.replaceChildren();
    for (const s of page.sessions) this.body.append(...this.rows(s));
    this.cursor = page.next_cursor;
    this.more.hidden = !this.cursor;
    const count = this.body.querySelectorAll('tr.session').length;
    this.status.textContent = count ? `${count} session${count === 1 ? '' : 's'}` : 'No sessions recorded yet.';
  }

  rows(s) {
    const detail = h('tr', { class: 'legs', hidden: true }, h('td', { colspan: 7 }));
    const toggle = h('button', {
      type: 'button', class: 'small secondary', text: 'Participants', 'aria-expanded': 'false',
      'aria-label': `Participants of the ${s.room} session started ${formatTime(s.started_at)}`,
    });
    toggle.addEventListener('click', () => this.toggle(s, toggle, detail));
    const row = h('tr', { class: 'session', dataset: { id: s.id } },
      h('td', { text: s.room }),
      h('td', { text: formatTime(s.started_at) }),
      h('td', { text: s.ended_at ? formatTime(s.ended_at) : 'running' }),
      h('td', { text: formatDuration(secondsBetween(s.started_at, s.ended_at)) }),
      h('td', { class: 'num', text: String(s.peak_participants) }),
      h('td', { class: 'num', text: String(s.participants) }),
      h('td', {}, toggle));
    return [row, detail];
  }

  async toggle(s, button, detail) {
    const open = button.getAttribute('aria-expanded') === 'true';
    button.setAttribute('aria-expanded', String(!open));
    detail.hidden = open;
    if (open || detail.dataset.loaded) return;
    let session;
    try {
      session = await this.api.get(`/sessions/${seg(s.id)}`);
    } catch (err) {
      this.onError(err, 'load the session');
      return;
    }
    detail.dataset.loaded = 'true';
    const legs = session.participants ?? session.legs ?? [];
    detail.firstChild.replaceChildren(legs.length
      ? h('table', { class: 'legs-table' },
        h('thead', {}, h('tr', {}, ['Participant', 'Joined', 'Left', 'Duration', 'Why it left', 'Received / sent', 'Moderation']
          .map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, legs.map((l) => h('tr', {},
          h('td', { text: l.name && l.name !== l.identity ? `${l.name} (${l.identity})` : l.identity }),
          h('td', { text: formatTime(l.joined_at) }),
          h('td', { text: l.left_at ? formatTime(l.left_at) : 'still in' }),
          h('td', { text: formatDuration(l.duration_s ?? secondsBetween(l.joined_at, l.left_at)) }),
          h('td', { text: l.leave_reason ?? '—' }),
          h('td', { text: `${formatBytes(l.bytes_in)} / ${formatBytes(l.bytes_out)}` }),
          h('td', { text: (l.moderator_actions ?? []).map((a) => `${a.action} by ${a.by}`).join(', ') || '—' })))))
      : h('p', { class: 'muted', text: 'Nobody joined this session.' }));
  }
}
