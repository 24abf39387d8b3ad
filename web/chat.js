// The chat panel: the message list (announced politely), the send form, and the unread count on
// the Chat button while the panel is closed; Escape closes it and gives focus back to the button. Messages travel as `send_data`/`data` with payload
// `{type: "chat", text}` (call.js); this module only draws them.

const MAX_MESSAGES = 200;
const MAX_LENGTH = 2000;

export class ChatPanel {
  /** `onSend(text)`: the form was submitted with a non-empty message. */
  constructor(doc, { onSend }) {
    this.doc = doc;
    this.panel = doc.getElementById('chat');
    this.list = doc.getElementById('chat-list');
    this.empty = doc.getElementById('chat-empty');
    this.form = doc.getElementById('chat-form');
    this.input = doc.getElementById('chat-input');
    this.toggleButton = doc.getElementById('chat-toggle');
    this.badge = doc.getElementById('chat-unread');
    this.unread = 0;
    this.input.maxLength = MAX_LENGTH;
    this.toggleButton.addEventListener('click', () => this.toggle());
    doc.getElementById('chat-close').addEventListener('click', () => this.toggle(false));
    this.panel.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.toggle(false);
    });
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = '';
      onSend(text);
    });
  }

  get open() {
    return !this.panel.hidden;
  }

  /** Opens or closes the panel (no argument: the other way round); opening reads everything. */
  toggle(open = !this.open) {
    this.panel.hidden = !open;
    this.toggleButton.setAttribute('aria-expanded', String(open));
    this.panel.closest('.call')?.classList.toggle('chat-open', open);
    if (open) {
      this.setUnread(0);
      this.input.focus();
      this.list.lastElementChild?.scrollIntoView({ block: 'nearest' });
    } else if (this.panel.contains(this.doc.activeElement)) {
      this.toggleButton.focus();
    }
  }

  /** A message: `from` (display name), `text`, `own` (sent by us), `at` (Date). */
  add({ from, text, own = false, at = new Date() }) {
    const item = this.doc.createElement('li');
    item.className = own ? 'chat-message own' : 'chat-message';
    const meta = this.doc.createElement('p');
    meta.className = 'chat-meta';
    const who = this.doc.createElement('strong');
    who.textContent = own ? 'You' : from;
    const time = this.doc.createElement('time');
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    meta.append(who, ' ', time);
    const body = this.doc.createElement('p');
    body.className = 'chat-text';
    body.textContent = String(text).slice(0, MAX_LENGTH);
    item.append(meta, body);
    this.list.append(item);
    while (this.list.children.length > MAX_MESSAGES) this.list.firstElementChild.remove();
    this.empty.hidden = true;
    if (this.open) item.scrollIntoView({ block: 'nearest' });
    else if (!own) this.setUnread(this.unread + 1);
  }

  /** The call ended: no messages, panel closed. */
  reset() {
    this.list.replaceChildren();
    this.empty.hidden = false;
    this.input.value = '';
    this.setUnread(0);
    this.toggle(false);
  }

  setUnread(n) {
    this.unread = n;
    this.badge.hidden = n === 0;
    this.badge.querySelector('.count').textContent = String(n);
  }
}
