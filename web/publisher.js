// The publisher RTCPeerConnection of one connection (docs/protocol.md, "Media model"): one
// sendonly transceiver per source (microphone, camera, screen), the `sources` map declared with
// every offer, and renegotiation — one `publish_offer` in flight at a time, a change meanwhile
// queues one more. Device switches and a paused screen share replace a sender's track without
// renegotiating.

// The SFU is ICE-lite with a host candidate in its SDP: no STUN or TURN server is ever needed.
export const PC_CONFIG = { iceServers: [] };

export class Publisher {
  /** `send(msg)` sends a signalling message; `onConnectionState()` reports state changes. */
  constructor(send, onConnectionState) {
    this.send = send;
    this.pc = new RTCPeerConnection(PC_CONFIG);
    this.pc.onconnectionstatechange = onConnectionState;
    this.transceivers = {}; // source -> RTCRtpTransceiver
    this.sources = {}; // msid track id (the track the transceiver was created with) -> source
    this.inFlight = false;
    this.again = false;
    this.closed = false;
  }

  /** Publishes `track` as `source` on a transceiver of its own. Call negotiate() after the changes. */
  add(source, track, stream) {
    const transceiver = this.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    this.transceivers[source] = transceiver;
    // The SDP keeps the first track's id as msid even after replaceTrack: declare that one.
    this.sources[track.id] = source;
  }

  /** Sends another track (or none: null) for `source` on its transceiver, without renegotiating. */
  replace(source, track) {
    return this.transceivers[source]?.sender.replaceTrack(track) ?? Promise.resolve();
  }

  /** Whether `source` has a transceiver on this connection. */
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
    this.send({ type: 'publish_offer', sdp: offer.sdp, sources: { ...this.sources } });
  }

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
