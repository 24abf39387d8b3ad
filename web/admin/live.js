// Keeps the dashboard's data fresh: polls GET /rooms and the selected room's participants every
// 2 s (its bans when they may have changed), and listens to the SSE event stream, whose events
// trigger an early refresh and feed the activity log. One refresh runs at a time; a request while
// one runs queues one more. That stays well inside the API's rate limit (20 requests/s).

const POLL_MS = 2000;
// An event triggers a refresh this soon (events come in bursts: join = several events).
const EVENT_REFRESH_MS = 400;
// Events after which the ban list is read again.
const BAN_EVENTS = new Set(['moderator_action', 'room_started']);
// Every event type of docs/events.md: EventSource only delivers named events to listeners by name.
const EVENT_TYPES = [
  'room_started', 'room_ended', 'participant_joined', 'participant_state_changed', 'participant_left',
  'participant_updated', 'track_published', 'track_unpublished', 'track_muted', 'track_unmuted',
  'moderator_action', 'connection_quality_changed', 'active_speaker_changed', 'stream_state_changed',
];

export class Live {
  /**
   * Handlers: onRooms(rooms), onRoom(name, participants | null (room gone), bans), onEvent(event),
   * onStatus({ stream: 'live' | 'connecting' | 'off', updatedAt }), onError(err).
   */
  constructor(api, handlers) {
    this.api = api;
    this.handlers = handlers;
    this.selected = null;
    this.bans = [];
    this.bansStale = true;
    this.timer = null;
    this.soon = null;
    this.running = null;
    this.again = false;
    this.source = null;
    this.stream = 'off';
    this.updatedAt = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.openStream();
    this.refresh();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.soon);
    this.source?.close();
    this.source = null;
  }

  /** Follows room `name` (null: none) and refreshes at once. */
  select(name) {
    this.selected = name;
    this.bans = [];
    this.bansStale = true;
    this.refresh();
  }

  /** Refreshes shortly (after an action or an event), coalescing bursts. */
  refreshSoon(delay = EVENT_REFRESH_MS) {
    if (delay === 0) this.bansStale = true; // after an action of ours: a removal may have banned
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.refresh();
    }, delay);
  }

  async refresh() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.poll();
    await this.running;
    this.running = null;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.refresh();
    } else {
      this.timer = setTimeout(() => this.refresh(), POLL_MS);
    }
  }

  async poll() {
    const readBans = this.bansStale;
    this.bansStale = false;
    try {
      const { rooms } = await this.api.get('/rooms');
      if (this.stopped) return;
      this.handlers.onRooms(rooms);
      const room = this.selected;
      if (room && rooms.some((r) => r.name === room)) {
        const path = `/rooms/${encodeURIComponent(room)}`;
        const [{ participants }, bans] = await Promise.all([
          this.api.get(`${path}/participants`),
          readBans ? this.api.get(`${path}/bans`).then((r) => r.bans) : this.bans,
        ]);
        if (this.stopped || room !== this.selected) return;
        this.bans = bans;
        this.handlers.onRoom(room, participants, bans);
      } else if (room) {
        this.handlers.onRoom(room, null, []);
      }
      this.updatedAt = new Date();
      this.status();
    } catch (err) {
      if (readBans) this.bansStale = true;
      if (err.code === 'room_not_found' && this.selected) this.handlers.onRoom(this.selected, null, []);
      else if (!this.stopped) this.handlers.onError(err);
    }
  }

  openStream() {
    const source = this.api.events();
    this.source = source;
    this.stream = 'connecting';
    source.onopen = () => {
      this.stream = 'live';
      this.status();
    };
    // EventSource reconnects by itself (with Last-Event-ID); a refused token closes it for good.
    source.onerror = () => {
      this.stream = source.readyState === EventSource.CLOSED ? 'off' : 'connecting';
      this.status();
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (ev) => {
        let event;
        try {
          event = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (BAN_EVENTS.has(event.type)) this.bansStale = true;
        this.handlers.onEvent(event);
        this.refreshSoon();
      });
    }
  }

  status() {
    this.handlers.onStatus({ stream: this.stream, updatedAt: this.updatedAt });
  }
}
