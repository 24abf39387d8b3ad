// Adaptive stream (docs/protocol.md, `update_subscription`): for one received video, the size
// it is shown at — the largest of the elements it is attached to, in device pixels — and whether
// any of them is visible at all (in the viewport, page not hidden). The server then sends no
// simulcast layer larger than shown and nothing to a hidden tile. Changes are sent at most every
// DEBOUNCE_MS, and only when they change what the server would pick. The only DOM it reads is
// the media elements' (their size, their page's visibility).

const DEBOUNCE_MS = 250;

export class ShownSize {
  /** @type {Set<HTMLMediaElement>} */
  #elements = new Set();
  /** @type {Set<HTMLMediaElement>} elements in the viewport */
  #inView = new Set();
  /** @type {ResizeObserver | null} */
  #resize = null;
  /** @type {IntersectionObserver | null} */
  #intersect = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #timer = null;
  /** @type {string} the last message sent, as JSON */
  #sent = '';
  /** @type {number | null} set by the app: the highest layer wanted */
  maxLayer = null;

  /**
   * @param {string} trackSid
   * @param {(msg: object) => boolean} send
   */
  constructor(trackSid, send) {
    this.trackSid = trackSid;
    this.send = send;
    this.onPageVisibility = () => this.#schedule();
  }

  /** @type {Document | null} the elements' page (its visibility counts) */
  #page = null;

  /** @param {HTMLMediaElement} element */
  observe(element) {
    if (this.#elements.size === 0) this.#start(element.ownerDocument);
    this.#elements.add(element);
    this.#resize?.observe(element);
    this.#intersect?.observe(element);
    this.#schedule();
  }

  /** @param {HTMLMediaElement} element */
  unobserve(element) {
    if (!this.#elements.delete(element)) return;
    this.#inView.delete(element);
    this.#resize?.unobserve(element);
    this.#intersect?.unobserve(element);
    if (this.#elements.size === 0) this.#stop();
    this.#schedule();
  }

  /** Sends the current state again (a new connection starts from the server's defaults). */
  resend() {
    this.#sent = '';
    this.#schedule();
  }

  /** @param {Document} page */
  #start(page) {
    if (typeof ResizeObserver !== 'undefined') this.#resize = new ResizeObserver(() => this.#schedule());
    if (typeof IntersectionObserver !== 'undefined') {
      this.#intersect = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const el = /** @type {HTMLMediaElement} */ (e.target);
          if (e.isIntersecting) this.#inView.add(el); else this.#inView.delete(el);
        }
        this.#schedule();
      });
    }
    this.#page = page;
    page.addEventListener('visibilitychange', this.onPageVisibility);
  }

  #stop() {
    this.#resize?.disconnect();
    this.#intersect?.disconnect();
    this.#resize = this.#intersect = null;
    this.#page?.removeEventListener('visibilitychange', this.onPageVisibility);
    this.#page = null;
  }

  #schedule() {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flush();
    }, DEBOUNCE_MS);
  }

  #flush() {
    const dpr = globalThis.devicePixelRatio || 1;
    let width = 0;
    let height = 0;
    for (const el of this.#elements) {
      width = Math.max(width, Math.round(el.clientWidth * dpr));
      height = Math.max(height, Math.round(el.clientHeight * dpr));
    }
    const inView = this.#intersect ? this.#inView.size > 0 : this.#elements.size > 0;
    const visible = inView && this.#page?.visibilityState !== 'hidden' && width > 0 && height > 0;
    /** @type {Record<string, unknown>} */
    const msg = { type: 'update_subscription', track: this.trackSid, visible };
    if (visible) Object.assign(msg, { width: Math.min(width, 16384), height: Math.min(height, 16384) });
    if (this.maxLayer !== null) msg.max_layer = this.maxLayer;
    const json = JSON.stringify(msg);
    if (json === this.#sent) return;
    if (this.send(msg)) this.#sent = json;
  }

  /** Stops observing everything (the publication is gone). */
  close() {
    for (const el of [...this.#elements]) this.unobserve(el);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
