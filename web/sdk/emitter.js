// A small typed event emitter (on / off / once / emit) that the Room is built on. A listener that
// throws is reported on the console and does not stop the other listeners or the SDK.

/**
 * @template {Record<string, any>} Events event name -> payload type
 */
export class Emitter {
  /** @type {Map<keyof Events, Set<(payload: any) => void>>} */
  #listeners = new Map();

  /**
   * Calls `listener` with the payload of every `event` from now on.
   * @template {keyof Events} K
   * @param {K} event
   * @param {(payload: Events[K]) => void} listener
   * @returns {this}
   */
  on(event, listener) {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return this;
  }

  /**
   * Stops calling `listener` (as given to `on` or `once`).
   * @template {keyof Events} K
   * @param {K} event
   * @param {(payload: Events[K]) => void} listener
   * @returns {this}
   */
  off(event, listener) {
    const set = this.#listeners.get(event);
    if (!set) return this;
    set.delete(listener);
    for (const wrapped of set) {
      if (/** @type {any} */ (wrapped).original === listener) set.delete(wrapped);
    }
    return this;
  }

  /**
   * Calls `listener` for the next `event` only.
   * @template {keyof Events} K
   * @param {K} event
   * @param {(payload: Events[K]) => void} listener
   * @returns {this}
   */
  once(event, listener) {
    /** @param {Events[K]} payload */
    const wrapped = (payload) => {
      this.off(event, wrapped);
      listener(payload);
    };
    wrapped.original = listener;
    return this.on(event, wrapped);
  }

  /**
   * Calls every listener of `event` with `payload`, in the order they were added.
   * @template {keyof Events} K
   * @param {K} event
   * @param {Events[K]} payload
   */
  emit(event, payload) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        console.error(`switchboard: a listener of "${String(event)}" threw`, err);
      }
    }
  }
}
