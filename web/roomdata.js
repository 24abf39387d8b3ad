// Chat (`data` messages with `{type: "chat", text}`, docs/protocol.md) and our raised hand (server
// state: `set_hand_raised`, announced to everyone and to moderators in `participant_updated`).
// Other data payloads are only kept in store.lastData.

export class RoomData {
  /** `send(msg)`: over the current connection; `notify(notice)`: tell the user something. */
  constructor(store, view, send, notify) {
    this.store = store;
    this.view = view;
    this.send = send;
    this.notify = notify;
    /** The hand state we last asked for and the server has not echoed yet (null: none). */
    this.pendingHand = null;
  }

  sendChat(text) {
    this.send({ type: 'send_data', payload: { type: 'chat', text } });
    this.addChat({ from: this.store.identity, name: this.store.name, text, own: true });
  }

  /** Raises or lowers our hand; the server tells everyone. */
  setHand(raised) {
    this.showHand(raised);
    this.requestHand(raised);
  }

  requestHand(raised) {
    this.pendingHand = raised;
    this.send({ type: 'set_hand_raised', raised });
  }

  showHand(raised) {
    this.store.handRaised = raised;
    this.view.handRaised(raised);
  }

  /** We (re)joined: a reconnection is a new session, so a raised hand is raised again. */
  entered() {
    this.pendingHand = null;
    if (this.store.handRaised) this.requestHand(true);
  }

  /** A moderator moved us: the server lowered our hand (it was a question to the old room). */
  moved() {
    this.pendingHand = null;
    this.showHand(false);
  }

  /**
   * Our own `participant_updated`. While a request of ours is on its way, updates (its echoes,
   * and others sent before the server saw it) say nothing new; after that, a hand that went down
   * by itself was lowered by a moderator.
   */
  ownUpdate(info) {
    const raised = info.hand_raised === true;
    if (this.pendingHand !== null) {
      if (raised === this.pendingHand) this.pendingHand = null;
      return;
    }
    if (raised === this.store.handRaised) return;
    if (!raised) this.notify({ kind: 'hand', text: 'A moderator lowered your hand', key: 'hand' });
    this.showHand(raised);
  }

  /** A `data` message. */
  received(msg) {
    this.store.lastData = { from: msg.from, payload: msg.payload };
    const payload = msg.payload;
    if (payload?.type === 'chat' && typeof payload.text === 'string') {
      const name = msg.from === null ? 'Moderator' : this.participant(msg.from)?.[1].name || msg.from;
      this.addChat({ from: msg.from, name, text: payload.text, own: false });
    }
  }

  addChat({ from, name, text, own }) {
    const at = new Date();
    this.store.chat.push({ from, name, text, own, at: at.toISOString() });
    this.view.chatMessage({ from: name, text, own, at });
  }

  /** [sid, entry] of the participant with `identity`, or undefined. */
  participant(identity) {
    return Object.entries(this.store.participants).find(([, p]) => p.identity === identity);
  }
}
