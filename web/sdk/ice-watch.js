// Restarts ICE when a PeerConnection loses the server while the call goes on (docs/protocol.md,
// "Resume"): after a network change (Wi-Fi to mobile, a new address) the old candidate pair is
// dead and only new candidates, gathered by an ICE restart, reach the server again. A PC whose
// ICE state stays `disconnected` or `failed` for GRACE_MS (2 s) gets one: the publisher with a new
// offer (restartIce + publish_offer), the subscriber by asking the server for a restarting offer
// (restartIce + `ice_restart`). At most one restart every RETRY_MS while it stays bad. The
// signalling socket is probed as soon as a PC goes bad: a network change usually leaves it dead
// without a close. The restart happens only once the server has answered since the trouble
// began: a restart whose offer went into a dead socket would only leave the PC with credentials
// the server never saw (a dead socket is replaced by a resume, which restarts ICE itself if the
// PCs are still cut off, or finds them back after a mere outage).

const GRACE_MS = 2000;
const RETRY_MS = 8000;

const BAD = new Set(['disconnected', 'failed']);

export class IceWatch {
  /**
   * @param {() => {publisher: import('./publisher.js').Publisher | null, subscriber: import('./subscriber.js').Subscriber | null}} pcs
   * @param {(msg: object) => boolean} send a signalling message; false when the socket is down
   * @param {() => void} probe checks that the signalling socket is alive (Signal.probe)
   * @param {() => number} lastHeard performance.now() when the server was last heard from
   */
  constructor(pcs, send, probe, lastHeard) {
    this.pcs = pcs;
    this.send = send;
    this.probe = probe;
    this.lastHeard = lastHeard;
    /** @type {number | null} performance.now() when a PC went bad (null: both fine) */
    this.badSince = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.lastRestart = -Infinity;
    this.stopped = false;
    /** Restarts done (for tests and diagnostics). */
    this.restarts = 0;
  }

  /** Whether either PC's transport has lost the server. */
  bad() {
    const { publisher, subscriber } = this.pcs();
    return [publisher?.pc, subscriber?.pc].some((pc) => pc && BAD.has(pc.iceConnectionState));
  }

  /** Called on every connection state change of either PC. */
  check() {
    if (this.stopped) return;
    if (!this.bad()) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.badSince = null;
      return;
    }
    this.badSince ??= performance.now();
    if (this.timer) return;
    // The socket is checked at once: if the network changed, it is dead too, and replacing it
    // (a resume) is what lets the restart's messages through.
    this.probe();
    const wait = Math.max(GRACE_MS, this.lastRestart + RETRY_MS - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || !this.bad()) return;
      // Only over a socket the server answered since: else the probe's verdict (or a resume) comes first.
      if (this.lastHeard() > (this.badSince ?? Infinity)) this.restart();
      this.check();
    }, wait);
  }

  /** Restarts ICE on both PCs now (also after a resume whose transport was lost). */
  restart() {
    const { publisher, subscriber } = this.pcs();
    this.lastRestart = performance.now();
    this.restarts += 1;
    this.probe();
    publisher?.resumed(true).catch((err) => console.warn('switchboard: publisher ICE restart failed', err));
    if (subscriber && !subscriber.closed) {
      subscriber.pc.restartIce();
      this.send({ type: 'ice_restart' });
    }
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
