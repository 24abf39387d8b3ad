// The subscriber RTCPeerConnection of one connection: answers the server's `subscribe_offer`s
// (right after setLocalDescription: the server is ICE-lite, no trickle), and names each incoming
// MediaStreamTrack by the offer's `a=mid` / `a=msid:<participant sid> <track sid>` lines — by mid,
// because Firefox's MediaStreamTrack.id is not the msid track id.

/**
 * @callback OnTrack
 * @param {string} participant sid of the publisher
 * @param {string} track sid of the published track
 * @param {MediaStreamTrack} mediaTrack
 * @returns {void}
 */

export class Subscriber {
  /**
   * @param {RTCConfiguration} config
   * @param {(msg: object) => void} send
   * @param {OnTrack} onTrack
   * @param {() => void} onConnectionState
   */
  constructor(config, send, onTrack, onConnectionState) {
    this.send = send;
    this.pc = new RTCPeerConnection(config);
    /** @type {Record<string, {participant: string, track: string}>} mid -> labels of the latest offer */
    this.byMid = {};
    this.closed = false;
    this.pc.ontrack = (ev) => {
      const label = this.byMid[ev.transceiver?.mid ?? ''] ?? { participant: ev.streams[0]?.id, track: ev.track.id };
      if (label.participant) onTrack(label.participant, label.track, ev.track);
    };
    this.pc.onconnectionstatechange = onConnectionState;
  }

  /** @param {string} sdp a subscriber offer */
  async handleOffer(sdp) {
    if (this.closed) return;
    learnLabels(sdp, this.byMid);
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    if (!this.closed) this.send({ type: 'subscribe_answer', sdp: answer.sdp });
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}

/**
 * Reads the mid -> (participant, track) labels of a subscriber offer into `byMid`.
 * @param {string} sdp
 * @param {Record<string, {participant: string, track: string}>} byMid
 */
export function learnLabels(sdp, byMid) {
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = section.match(/\na=mid:(\S+)/)?.[1];
    const msid = section.match(/\na=msid:(\S+) (\S+)/);
    if (mid && msid) byMid[mid] = { participant: msid[1], track: msid[2] };
  }
}
