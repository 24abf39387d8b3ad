// The sidebar: the list of open rooms (name, people in the call, people waiting), which one is
// selected, and the form that creates a room.

import { h } from './dom.js';

export class RoomsList {
  /** Handlers: onSelect(name), onCreate({ name, lobby, maxParticipants, allowRemoteUnmute }) (resolves when done). */
  constructor(doc, { onSelect, onCreate }) {
    this.list = doc.getElementById('rooms');
    this.empty = doc.getElementById('no-rooms');
    this.onSelect = onSelect;
    this.key = null;
    const form = doc.getElementById('create-room');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = form.elements;
      const max = f['new-room-max'].value.trim();
      const created = await onCreate({
        name: f['new-room-name'].value.trim(),
        lobby: f['new-room-lobby'].checked,
        maxParticipants: max ? Number(max) : null,
        allowRemoteUnmute: f['new-room-remote-unmute'].checked,
      });
      if (created) form.reset();
    });
  }

  update(rooms, selected) {
    const sorted = [...rooms].sort((a, b) => a.name.localeCompare(b.name));
    const key = JSON.stringify([selected, sorted.map((r) => [r.name, r.num_participants, r.num_waiting, r.lobby])]);
    if (key === this.key) return;
    this.key = key;
    const focused = document.activeElement?.dataset?.room;
    this.list.replaceChildren(...sorted.map((r) => {
      const counts = `${r.num_participants} in call${r.num_waiting ? ` · ${r.num_waiting} waiting` : ''}${r.lobby ? ' · lobby' : ''}`;
      return h('li', {}, h('button', {
        type: 'button',
        class: 'room-link',
        dataset: { room: r.name },
        'aria-current': r.name === selected ? 'true' : null,
        onclick: () => this.onSelect(r.name),
      }, h('span', { class: 'room-link-name', text: r.name }), h('span', { class: 'room-link-counts', text: counts })));
    }));
    // The list is rebuilt: keep keyboard focus on the same room.
    if (focused) this.list.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus();
    this.empty.hidden = rooms.length > 0;
  }
}
