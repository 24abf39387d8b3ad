// The signalling connection of one session: the WebSocket to /ws (docs/protocol.md), JSON
// framing, the keep-alive ping, and in-order delivery of server messages to one handler. It knows
// nothing about media, rooms or the page.

import { SwitchboardError } from './errors.js';

const PING_INTERVAL_MS = 10_000;

/** @type {Record<number, string>} */
const CLOSE_REASONS = {
  1000: 'session ended',
  1001: 'server going away',
  1006: 'connection lost',
  1009: 'message too large',
  1011: 'server error',
  1013: 'server is restarting, try again later',
  4001: 'access token rejected',
  4003: 'room is full, or you are banned or were removed',
  4008: 'too many messages',
  4009: 'joined again from another tab or device',
  4010: 'the server lost this connection (network gone too long)',
};

/**
 * Human-readable text for a WebSocket close code of docs/protocol.md.
 * @param {number} code
 */
export function closeReasonText(code) {
  return CLOSE_REASONS[code] ?? 'connection closed';
}

/**
 * The WebSocket URL for `url` (the server's http(s) or ws(s) base URL, absolute or relative to
 * the page; `/ws` is appended unless it ends with it) and `token`, resuming the participant of
 * `resumeToken` (from its `joined`) if given.
 * @param {string | undefined} url
 * @param {string} token
 * @param {string | null} [resumeToken]
 */
export function signalUrl(url, token, resumeToken = null) {
  const page = globalThis.location?.href;
  let base;
  try {
    base = new URL(url || '/', page);
  } catch {
    throw new SwitchboardError('invalid_url',
      `cannot use ${JSON.stringify(url)} as the server URL: pass an absolute one such as "https://sfu.example.com"`);
  }
  const schemes = /** @type {Record<string, string>} */ ({ 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' });
  const scheme = schemes[base.protocol];
  if (!scheme) throw new SwitchboardError('invalid_url', `the server URL must be http(s) or ws(s), not ${base.protocol}`);
  base.protocol = scheme;
  if (!base.pathname.endsWith('/ws')) base.pathname = `${base.pathname.replace(/\/$/, '')}/ws`;
  base.search = `?access_token=${encodeURIComponent(token)}`
    + (resumeToken ? `&resume_token=${encodeURIComponent(resumeToken)}` : '');
  base.hash = '';
  return base.toString();
}

/**
 * @typedef {object} SignalHandlers
 * @property {() => void} onOpen
 * @property {(msg: import('./types.js').ServerMessage) => unknown} onMessage may return a promise
 * @property {(err: unknown, msg: import('./types.js').ServerMessage) => void} onHandlerError
 * @property {(ev: {code: number, reason: string}) => void} onClose
 * @property {(frame: string) => void} onBadFrame
 */

export class Signal {
  /**
   * Connects; connecting is joining the token's room. Messages are handled strictly one after
   * another: a handler that awaits (setRemoteDescription, createAnswer) finishes before the next
   * message is looked at, and onClose runs only after every message received before the close.
   * @param {string} url from signalUrl()
   * @param {SignalHandlers} handlers
   */
  constructor(url, handlers) {
    this.handlers = handlers;
    this.ws = new WebSocket(url);
    /** performance.now() when the server was last heard from (or the socket opened). */
    this.lastHeard = performance.now();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.probeTimer = undefined;
    /** @type {Promise<unknown>} */
    this.queue = Promise.resolve();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    this.ws.onopen = () => {
      this.lastHeard = performance.now();
      handlers.onOpen();
      this.pingTimer = setInterval(() => this.send({ type: 'ping', ts: Date.now() }), PING_INTERVAL_MS);
    };
    this.ws.onmessage = (ev) => {
      this.lastHeard = performance.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        msg = null;
      }
      if (typeof msg?.type !== 'string') {
        handlers.onBadFrame(String(ev.data));
        return;
      }
      this.queue = this.queue
        .then(() => handlers.onMessage(msg))
        .catch((err) => handlers.onHandlerError(err, msg));
    };
    this.ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      clearTimeout(this.probeTimer);
      this.queue = this.queue.then(() => handlers.onClose({ code: ev.code, reason: ev.reason }));
    };
  }

  /**
   * Sends one message; false (and nothing sent) when the socket is not open.
   * @param {object} msg
   */
  send(msg) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /**
   * Checks that the server still answers: a `ping` now, and if nothing at all arrives within
   * `timeoutMs` the socket is taken for dead (a new network left it behind: its packets go
   * nowhere and no close ever comes) and reported closed (1006), so the Room reconnects.
   * @param {number} timeoutMs
   */
  probe(timeoutMs) {
    if (this.ws.readyState !== WebSocket.OPEN || this.probeTimer !== undefined) return;
    const asked = performance.now();
    this.send({ type: 'ping', ts: Date.now() });
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.lastHeard >= asked || this.ws.readyState !== WebSocket.OPEN) return;
      this.close(true);
      this.queue = this.queue.then(() => this.handlers.onClose({ code: 1006, reason: 'the server stopped answering' }));
    }, timeoutMs);
  }

  /**
   * Closes the socket without reporting the close to the handlers (the caller asked for it).
   * `abandoned`: we took it for dead and will resume on another one, so the close frame (if it
   * ever arrives) must not read as leaving (close code 4000, not 1000).
   * @param {boolean} [abandoned]
   */
  close(abandoned = false) {
    clearInterval(this.pingTimer);
    clearTimeout(this.probeTimer);
    this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
    this.ws.close(abandoned ? 4000 : 1000);
  }
}
