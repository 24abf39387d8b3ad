// The selected room's view: its header (counts, active speaker, settings, room actions), the lobby
// with admit/deny, invitees, participant cards, the bitrate chart, bans and the activity log of
// the room's events. Draws what main.js hands it; buttons call the actions (actions.js).

import { BitrateChart } from './chart.js';
import { displayName, formatTime, h, setText } from './dom.js';
import { ParticipantCard } from './participant.js';

const MAX_ACTIVITY = 40;
const WAITING = new Set(['lobby', 'invited']);

export class RoomView {
  constructor(doc, actions) {
    const $ = (id) => doc.getElementById(id);
    this.actions = actions;
    this.el = $('room-view');
    this.title = $('room-title');
    this.summary = $('room-summary');
    this.lobbySetting = $('set-lobby');
    this.unmuteSetting = $('set-remote-unmute');
    this.limit = $('room-limit');
    this.lobbySection = $('lobby-section');
    this.lobbyList = $('lobby-list');
    this.cards = $('cards');
    this.noPeople = $('no-people');
    this.bansSection = $('bans-section');
    this.bans = $('bans');
    this.activity = $('activity');
    this.chart = new BitrateChart($('chart'), $('chart-legend'));
    this.chartCanvas = $('chart');
    this.cardsByIdentity = new Map();
    this.names = new Map(); // identity -> display name, for the activity log
    this.name = null;
    this.room = null;
    this.events = [];

    $('mute-all').addEventListener('click', () => actions.muteAll());
    $('invite').addEventListener('click', () => actions.invite());
    $('message').addEventListener('click', () => actions.message());
    $('end-room').addEventListener('click', () => actions.endRoom());
    this.lobbySetting.addEventListener('change', () => actions.setSetting('lobby', this.lobbySetting.checked, 'Lobby'));
    this.unmuteSetting.addEventListener('change',
      () => actions.setSetting('allow_remote_unmute', this.unmuteSetting.checked, 'Direct unmute'));
    new ResizeObserver(() => this.chart.draw()).observe(this.chartCanvas);
  }

  /** Shows room `name` (empty until its data arrives). */
  open(name) {
    if (this.name === name) return;
    this.name = name;
    this.room = null;
    this.el.hidden = !name;
    this.chart.reset();
    this.cards.replaceChildren();
    this.cardsByIdentity.clear();
    this.lobbyList.replaceChildren();
    this.events = [];
    this.names = new Map();
    this.activity.replaceChildren();
    setText(this.title, name ? `Room ${name}` : '');
    setText(this.summary, 'Loading…');
  }

  /** The room's settings and counts (from GET /rooms); null: the room is gone. */
  setRoom(room) {
    this.room = room;
    if (!room) {
      setText(this.summary, 'This room has ended.');
      this.el.classList.add('ended');
      return;
    }
    this.el.classList.remove('ended');
    this.lobbySetting.checked = room.lobby;
    this.unmuteSetting.checked = room.allow_remote_unmute;
    setText(this.limit, room.max_participants ? `At most ${room.max_participants} participants` : 'No participant limit');
  }

  /** The room's participants (lobby and invitees included) and bans, from the latest refresh. */
  setParticipants(participants, bans) {
    const room = this.room;
    const speaker = room?.active_speaker ?? null;
    const inCall = participants.filter((p) => !WAITING.has(p.state));
    const waiting = participants.filter((p) => WAITING.has(p.state));
    const speakerName = displayName(participants.find((p) => p.identity === speaker) ?? { identity: speaker ?? '' });
    // Hands in the order they went up: who asked first is answered first.
    const hands = inCall.filter((p) => p.hand_raised)
      .sort((a, b) => (a.hand_raised_at ?? '').localeCompare(b.hand_raised_at ?? ''))
      .map(displayName);
    setText(this.summary, [
      `${inCall.filter((p) => p.state !== 'disconnected').length} in the call`,
      `${waiting.filter((p) => p.state === 'lobby').length} waiting`,
      speaker ? `speaking: ${speakerName}` : 'nobody speaking',
      hands.length ? `✋ ${hands.join(', ')}` : null,
      room ? `open since ${formatTime(room.created_at)}` : null,
    ].filter(Boolean).join(' · '));

    for (const p of participants) this.names.set(p.identity, displayName(p));
    this.drawLobby(waiting);
    this.drawCards(inCall, speaker);
    this.drawBans(bans);
    this.chart.add(inCall);
  }

  drawLobby(waiting) {
    this.lobbySection.hidden = waiting.length === 0;
    const items = waiting.map((p) => {
      const name = displayName(p);
      const who = h('span', { class: 'lobby-name' }, name, p.name && p.name !== p.identity ? h('span', { class: 'muted', text: ` ${p.identity}` }) : null);
      if (p.state === 'invited') return h('li', { dataset: { identity: p.identity, state: p.state } }, who, h('span', { class: 'chip', text: 'Invited, not joined yet' }));
      return h('li', { dataset: { identity: p.identity, state: p.state } }, who,
        h('span', { class: 'lobby-actions' },
          h('button', { type: 'button', class: 'small', text: 'Admit', 'aria-label': `Admit ${name}`, onclick: () => this.actions.admit(p) }),
          h('button', { type: 'button', class: 'small secondary', text: 'Deny', 'aria-label': `Deny ${name}`, onclick: () => this.actions.deny(p) })));
    });
    // Rebuilt only when who waits changes, so a focused Admit button is not replaced under the cursor.
    const key = waiting.map((p) => `${p.identity}:${p.state}`).join(',');
    if (this.lobbyList.dataset.key !== key) {
      this.lobbyList.dataset.key = key;
      this.lobbyList.replaceChildren(...items);
    }
  }

  drawCards(participants, speaker) {
    const seen = new Set();
    const sorted = [...participants].sort((a, b) => (a.joined_at || '~').localeCompare(b.joined_at || '~') || a.identity.localeCompare(b.identity));
    for (const p of sorted) {
      seen.add(p.identity);
      let card = this.cardsByIdentity.get(p.identity);
      if (!card) {
        card = new ParticipantCard(p.identity, this.actions);
        this.cardsByIdentity.set(p.identity, card);
      }
      card.update(p, { speaking: p.identity === speaker, allowRemoteUnmute: !!this.room?.allow_remote_unmute });
    }
    for (const [identity, card] of this.cardsByIdentity) {
      if (!seen.has(identity)) {
        card.el.remove();
        this.cardsByIdentity.delete(identity);
      }
    }
    // Oldest first; nodes move only when the order changed (moving a node takes its focus away).
    const els = sorted.map((p) => this.cardsByIdentity.get(p.identity).el);
    if (els.some((el, i) => this.cards.children[i] !== el)) this.cards.append(...els);
    this.noPeople.hidden = participants.length > 0;
  }

  drawBans(bans) {
    this.bansSection.hidden = bans.length === 0;
    const key = bans.join(',');
    if (this.bans.dataset.key === key) return;
    this.bans.dataset.key = key;
    this.bans.replaceChildren(...bans.map((identity) => h('li', {}, h('span', { text: identity }),
      h('button', { type: 'button', class: 'small secondary', text: 'Lift ban', 'aria-label': `Lift the ban on ${identity}`, onclick: () => this.actions.liftBan(identity) }))));
  }

  /** An event of the stream; kept when it concerns this room. */
  addEvent(event) {
    if (event.room !== this.name) return;
    this.events.unshift(event);
    this.events.length = Math.min(this.events.length, MAX_ACTIVITY);
    const item = h('li', {},
      h('time', { datetime: event.at, text: new Date(event.at).toLocaleTimeString() }), ' ',
      h('span', { text: describe(event, (identity) => this.names.get(identity) ?? identity) }));
    this.activity.prepend(item);
    while (this.activity.children.length > MAX_ACTIVITY) this.activity.lastChild.remove();
  }
}

/** One line for an event: who (`nameOf(identity)`), what, and the interesting part of its data. */
function describe(e, nameOf) {
  const d = e.data ?? {};
  const who = e.participant ? nameOf(e.participant) : 'room';
  switch (e.type) {
    case 'room_started': return 'Room started';
    case 'room_ended': return 'Room ended';
    case 'participant_joined': return `${who} joined`;
    case 'participant_left': return `${who} left (${d.reason ?? 'unknown'})`;
    case 'participant_state_changed': return `${who} is ${String(d.state ?? '').replace('_', ' ')}${d.by ? ` (by ${d.by})` : ''}`;
    case 'participant_updated': return `${who} was updated${d.hand_raised ? ' (hand raised)' : ''}`;
    case 'track_published': return `${who} published ${d.source ?? d.kind ?? 'a track'}`;
    case 'track_unpublished': return `${who} stopped ${d.source ?? 'a track'}`;
    case 'track_muted': return `${who}: a track was muted${d.by ? ` by ${d.by}` : ''}`;
    case 'track_unmuted': return `${who}: a track was unmuted${d.by ? ` by ${d.by}` : ''}`;
    case 'moderator_action': return `${d.by ?? 'moderator'}: ${(d.action ?? 'action').replace('_', ' ')}${e.participant ? ` ${who}` : ''}`;
    case 'connection_quality_changed': return `${who}: connection ${d.quality}`;
    case 'active_speaker_changed': return e.participant ? `${who} is speaking` : 'Nobody speaking';
    case 'stream_state_changed': return d.state === 'paused'
      ? `${who}: video of ${d.publisher ?? 'someone'} paused (low bandwidth)` : `${who}: video of ${d.publisher ?? 'someone'} resumed`;
    default: return `${who}: ${e.type}`;
  }
}
