// One connection to the server: its signalling socket and, once joined, its two peer connections
// (publisher and subscriber). A resume (docs/protocol.md, "Resume") replaces only the socket and
// keeps the PCs; a full reconnection replaces the whole Engine. Exposed as `room.engine` so apps
// and tests can read the PCs' statistics.

import { IceWatch } from './ice-watch.js';
import { Publisher } from './publisher.js';
import { Signal } from './signal.js';
import { Subscriber } from './subscriber.js';

/**
 * @typedef {object} MediaHandlers
 * @property {import('./subscriber.js').OnTrack} onTrack
 * @property {() => void} onConnectionState
 */

/** A signalling socket that does not answer a probe within this long is taken for dead. */
const PROBE_TIMEOUT_MS = 2500;

export class Engine {
  /**
   * @param {string} url the WebSocket URL (signalUrl())
   * @param {import('./signal.js').SignalHandlers} handlers
   */
  constructor(url, handlers) {
    /**
     * Whether the socket opened (a close before that means the server was unreachable).
     * @internal
     */
    this.opened = false;
    /** @internal */
    this.signal = this.#openSignal(url, handlers);
    /**
     * @type {Publisher | null}
     * @internal
     */
    this.publisher = null;
    /**
     * @type {Subscriber | null}
     * @internal
     */
    this.subscriber = null;
    /** @internal */
    this.closed = false;
    /**
     * Restarts ICE when a PC loses the server (a network change).
     * @internal
     */
    this.iceWatch = this.#newIceWatch();
  }

  /** The publisher RTCPeerConnection (null before `joined`). */
  get publisherPC() {
    return this.publisher?.pc ?? null;
  }

  /** The subscriber RTCPeerConnection (null before `joined`). */
  get subscriberPC() {
    return this.subscriber?.pc ?? null;
  }

  /**
   * Creates both peer connections (at `joined`) with the server's ICE servers (none by default).
   * @param {RTCIceServer[]} iceServers
   * @param {MediaHandlers} handlers
   * @internal
   */
  startMedia(iceServers, handlers) {
    const config = { iceServers };
    const send = (/** @type {object} */ msg) => { this.send(msg); };
    const onConnectionState = () => {
      handlers.onConnectionState();
      this.iceWatch.check();
    };
    this.subscriber = new Subscriber(config, send, handlers.onTrack, onConnectionState);
    this.publisher = new Publisher(config, send, onConnectionState);
    return this.publisher;
  }

  /**
   * A new socket (to resume the same participant) in place of the one that dropped; the PCs stay.
   * @param {string} url
   * @param {import('./signal.js').SignalHandlers} handlers
   * @internal
   */
  replaceSignal(url, handlers) {
    this.signal.close(true);
    this.opened = false;
    this.signal = this.#openSignal(url, handlers);
  }

  #newIceWatch() {
    const pcs = () => ({ publisher: this.publisher, subscriber: this.subscriber });
    return new IceWatch(pcs, (msg) => this.send(msg), () => this.signal.probe(PROBE_TIMEOUT_MS), () => this.signal.lastHeard);
  }

  /**
   * A socket to `url` that marks this Engine opened when it opens.
   * @param {string} url
   * @param {import('./signal.js').SignalHandlers} handlers
   */
  #openSignal(url, handlers) {
    return new Signal(url, {
      ...handlers,
      onOpen: () => {
        this.opened = true;
        handlers.onOpen();
      },
    });
  }

  /**
   * Closes both PCs but not the socket (the server started a new participant: new PCs follow).
   * @internal
   */
  closeMedia() {
    this.iceWatch.stop();
    this.iceWatch = this.#newIceWatch();
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = null;
    this.subscriber = null;
  }

  /**
   * Sends a message; false when the socket is not open (it is dropped).
   * @param {object} msg
   * @internal
   */
  send(msg) {
    return !this.closed && this.signal.send(msg);
  }

  /** Both PCs' statistics (null for a PC that does not exist). */
  async getStats() {
    const [publisher, subscriber] = await Promise.all([
      this.publisherPC?.getStats() ?? null,
      this.subscriberPC?.getStats() ?? null,
    ]);
    return { publisher, subscriber };
  }

  /**
   * Closes the socket and both PCs; idempotent.
   * @internal
   */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.iceWatch.stop();
    this.signal.close();
    this.publisher?.close();
    this.subscriber?.close();
  }
}
