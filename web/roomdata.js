// Data messages between participants (`send_data` / `data`, docs/protocol.md): chat
// (`{type: "chat", text}`) and raised hands (`{type: "raise_hand", raised}`). The server keeps
// neither, so a raised hand is told again to newcomers, after a move and after a reconnection.
// Other payloads are only kept in store.lastData.

export class RoomData {
  /** `send(msg)`: over the current connection; `render(sid)`: redraw a participant's tile. */
  constructor(store, view, send, render) {
    this.store = store;
    this.view = view;
    this.send = send;
    this.render = render;
  }

  sendChat(text) {
    this.send({ type: 'send_data', payload: { type: 'chat', text } });
    this.addChat({ from: this.store.identity, name: this.store.name, text, own: true });
  }

  setHand(raised) {
    this.store.handRaised = raised;
    this.view.handRaised(raised);
    this.tellHand();
  }

  /** Tells the room (or `to`, identities) whether our hand is up. */
  tellHand(to = undefined) {
    this.send({ type: 'send_data', payload: { type: 'raise_hand', raised: this.store.handRaised }, ...(to ? { to } : {}) });
  }

  /** We (re)entered a room, or someone joined ours (`identity`): a raised hand is told again. */
  entered(identity = undefined) {
    if (this.store.handRaised) this.tellHand(identity ? [identity] : undefined);
  }

  /** A `data` message. */
  received(msg) {
    this.store.lastData = { from: msg.from, payload: msg.payload };
    const payload = msg.payload;
    if (payload?.type === 'chat' && typeof payload.text === 'string') {
      const name = msg.from === null ? 'Moderator' : this.participant(msg.from)?.[1].name || msg.from;
      this.addChat({ from: msg.from, name, text: payload.text, own: false });
    } else if (payload?.type === 'raise_hand' && msg.from !== null) {
      const found = this.participant(msg.from);
      if (!found) return;
      found[1].hand = payload.raised === true;
      this.render(found[0]);
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
