// Signalling connection: one WebSocket per session (docs/protocol.md). Owns the socket, JSON
// framing, the keep-alive ping and in-order delivery of server messages to one handler. It knows
// nothing about media or the page.

const PING_INTERVAL_MS = 10_000;

const CLOSE_REASONS = {
  1000: 'session ended',
  1001: 'server going away',
  1006: 'connection lost',
  1009: 'message too large',
  1011: 'server error',
  1013: 'server is restarting, try again later',
  4001: 'access token rejected',
  4003: 'room is full',
  4008: 'too many messages',
  4009: 'joined again from another tab or device',
};

/** Human-readable text for a WebSocket close code. */
export function closeReasonText(code) {
  return CLOSE_REASONS[code] ?? 'connection closed';
}

export class Signal {
  /**
   * Connects to /ws with the token; connecting is joining the token's room.
   * `handlers`: onOpen(), onMessage(msg) (may be async), onHandlerError(err, msg),
   * onClose(CloseEvent). Messages are handled strictly one after another: a handler that
   * awaits (setRemoteDescription, createAnswer) finishes before the next message is looked
   * at, and onClose runs only after every message received before the close.
   */
  constructor(token, handlers) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.ws = new WebSocket(`${scheme}://${location.host}/ws?access_token=${encodeURIComponent(token)}`);
    this.queue = Promise.resolve();
    this.pingTimer = null;
    this.ws.onopen = () => {
      handlers.onOpen();
      this.pingTimer = setInterval(() => this.send({ type: 'ping', ts: Date.now() }), PING_INTERVAL_MS);
    };
    this.ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.error('switchboard: ignoring a frame that is not JSON', ev.data);
        return;
      }
      this.queue = this.queue
        .then(() => handlers.onMessage(msg))
        .catch((err) => handlers.onHandlerError(err, msg));
    };
    this.ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      this.queue = this.queue.then(() => handlers.onClose(ev));
    };
  }

  /** Sends one message; silently dropped once the socket is no longer open. */
  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Closes the socket without reporting the close to the handlers (the caller asked for it). */
  close() {
    clearInterval(this.pingTimer);
    this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
    this.ws.close(1000);
  }
}
