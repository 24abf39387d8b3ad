// The reconnection policy: which WebSocket closes end a call for good, which ones follow an
// `error` naming their cause, and how long to wait before each new attempt. The Room runs it;
// this file only decides.

/** Waits before each reconnection attempt; after the last one the call ends (about a minute). */
export const RECONNECT_DELAYS_MS = Object.freeze([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000]);

// Closes that end the call for good: a normal end, a refused token or frame, a banned or removed
// identity, rate-limit abuse, a replacement by the same identity.
const FINAL_CLOSES = new Set([1000, 1009, 4001, 4003, 4008, 4009]);
// Closes that follow an `error` message naming the cause (keep that error, not the close).
const CLOSES_AFTER_ERROR = new Set([1009, 4001, 4003, 4008]);

/**
 * Whether a close with `code` is worth a reconnection: only once the session had started (got
 * `joined` or `lobby_waiting`), and never after a close that ends the call.
 * @param {number} code
 * @param {boolean} entered
 */
export function shouldReconnect(code, entered) {
  return entered && !FINAL_CLOSES.has(code);
}

/**
 * Whether the server sent an `error` explaining a close with `code` just before it.
 * @param {number} code
 */
export function closeFollowsError(code) {
  return CLOSES_AFTER_ERROR.has(code);
}

export class ReconnectSchedule {
  /** @param {readonly number[]} delaysMs */
  constructor(delaysMs = RECONNECT_DELAYS_MS) {
    this.delaysMs = delaysMs;
    /** Attempts since the last successful join. */
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {(() => void) | null} the attempt waiting for its delay */
    this.pending = null;
  }

  /**
   * Schedules `run` after the next delay; returns {attempt, delayMs}, or null when every attempt
   * was used (the caller ends the call).
   * @param {() => void} run
   */
  next(run) {
    const delayMs = this.delaysMs[this.attempt];
    if (delayMs === undefined) return null;
    this.attempt += 1;
    clearTimeout(this.timer);
    this.pending = run;
    this.timer = setTimeout(() => {
      this.pending = null;
      run();
    }, delayMs);
    return { attempt: this.attempt, delayMs };
  }

  /** Runs the scheduled attempt now (the network is back: no need to wait out the delay). */
  hurry() {
    const run = this.pending;
    if (!run) return;
    clearTimeout(this.timer);
    this.pending = null;
    run();
  }

  /** Back in: returns how many attempts it took (0: none); the next drop starts from the first delay. */
  succeeded() {
    const was = this.attempt;
    this.attempt = 0;
    return was;
  }

  cancel() {
    clearTimeout(this.timer);
    this.pending = null;
  }
}
