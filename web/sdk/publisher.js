// The publisher RTCPeerConnection of one connection (docs/protocol.md, "Media model"): one
// sendonly transceiver per source (microphone, camera, screen), the `sources` map declared with
// every offer, and renegotiation — one `publish_offer` in flight at a time, a change meanwhile
// queues one more. Device switches and a stopped track replace a sender's track without
// renegotiating.

import { msidTracksByMid } from './sdp.js';

/** @typedef {import('./types.js').TrackSource} TrackSource */

export class Publisher {
  /**
   * @param {RTCConfiguration} config
   * @param {(msg: object) => void} send sends a signalling message
   * @param {() => void} onConnectionState
   */
  constructor(config, send, onConnectionState) {
    this.send = send;
    this.pc = new RTCPeerConnection(config);
    this.pc.onconnectionstatechange = onConnectionState;
    /** @type {Partial<Record<TrackSource, RTCRtpTransceiver>>} */
    this.transceivers = {};
    /** @type {Record<string, TrackSource>} msid track id (the track the transceiver was created with) -> source */
    this.sources = {};
    this.inFlight = false;
    this.again = false;
    this.closed = false;
    /** @type {Partial<Record<TrackSource, string[]>>} dynacast: the layers the server wants */
    this.wantedLayers = {};
    /** @type {Promise<void>} the last setParameters of setActiveLayers */
    this.layersDone = Promise.resolve();
  }

  /**
   * Publishes `track` as `source` on a transceiver of its own. Call negotiate() after the changes.
   * @param {TrackSource} source
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   * @param {RTCRtpEncodingParameters[]} [sendEncodings] simulcast layers (absent: one)
   */
  add(source, track, stream, sendEncodings) {
    const init = { direction: /** @type {const} */ ('sendonly'), streams: [stream], ...(sendEncodings ? { sendEncodings } : {}) };
    const transceiver = this.pc.addTransceiver(track, init);
    this.transceivers[source] = transceiver;
    // The SDP keeps the first track's id as msid even after replaceTrack: declare that one.
    this.sources[track.id] = source;
  }

  /**
   * Sends another track (or none: null) for `source` on its transceiver, without renegotiating.
   * @param {TrackSource} source
   * @param {MediaStreamTrack | null} track
   */
  async replace(source, track) {
    await this.transceivers[source]?.sender.replaceTrack(track);
  }

  /**
   * Switches the simulcast layers of `source` on (`rids`) and off (the others), without
   * renegotiating.
   * @param {TrackSource} source
   * @param {string[]} rids
   */
  setActiveLayers(source, rids) {
    // One setParameters at a time (each needs a getParameters of its own), the latest wins; a
    // failure (e.g. during a renegotiation) is tried again once with the then-current wishes.
    this.wantedLayers[source] = rids;
    this.layersDone = this.layersDone.then(() => this.#applyLayers(source))
      .catch(() => new Promise((resolve) => setTimeout(resolve, 500)).then(() => this.#applyLayers(source)))
      .catch(() => {});
    return this.layersDone;
  }

  /** @param {TrackSource} source */
  async #applyLayers(source) {
    const sender = this.transceivers[source]?.sender;
    const rids = this.wantedLayers[source];
    if (!sender || !rids || this.closed) return;
    const params = sender.getParameters();
    let changed = false;
    for (const encoding of params.encodings ?? []) {
      if (!encoding.rid) continue;
      const active = rids.includes(encoding.rid);
      changed ||= encoding.active !== active;
      encoding.active = active;
    }
    if (changed) await sender.setParameters(params);
  }

  /**
   * Whether `source` has a transceiver on this connection.
   * @param {TrackSource} source
   */
  has(source) {
    return source in this.transceivers;
  }

  /** Sends a new offer, or queues one when an offer is waiting for its answer. */
  async negotiate() {
    if (this.closed) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    if (this.closed) return;
    // No waiting for ICE gathering and no trickle: the ICE-lite server learns our address from
    // our connectivity checks.
    this.send({ type: 'publish_offer', sdp: offer.sdp, sources: this.declaredSources(offer.sdp ?? '') });
  }

  /**
   * The `sources` of a `publish_offer` for `sdp`: keyed by each transceiver's `a=msid` track id
   * in the offer (Firefox's differs from MediaStreamTrack.id, Chromium's does not), else by the
   * id of the track the transceiver was created with.
   * @param {string} sdp
   * @returns {Record<string, TrackSource>}
   */
  declaredSources(sdp) {
    const byMid = msidTracksByMid(sdp);
    /** @type {Record<string, TrackSource>} */
    const out = { ...this.sources };
    for (const [source, transceiver] of Object.entries(this.transceivers)) {
      const msidTrack = transceiver?.mid ? byMid.get(transceiver.mid) : undefined;
      if (!msidTrack) continue;
      for (const [id, s] of Object.entries(out)) if (s === source) delete out[id];
      out[msidTrack] = /** @type {TrackSource} */ (source);
    }
    return out;
  }

  /**
   * After a resume: the answer to an offer sent just before the drop may never have arrived, so
   * that offer is rolled back and sent again; an ICE restart (new credentials, same DTLS) goes
   * with it when our transport lost the server (`restartIce`).
   * @param {boolean} restartIce
   */
  async resumed(restartIce) {
    if (this.closed) return;
    const unanswered = this.inFlight && this.pc.signalingState === 'have-local-offer';
    if (!unanswered && !restartIce) return;
    if (unanswered) await this.pc.setLocalDescription({ type: 'rollback' });
    this.inFlight = false;
    if (restartIce) this.pc.restartIce();
    await this.negotiate();
  }

  /** @param {string} sdp */
  async onAnswer(sdp) {
    if (this.closed) return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.inFlight = false;
    if (this.again) {
      this.again = false;
      await this.negotiate();
    }
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}
