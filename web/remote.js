// Received media: which participant and track each incoming MediaStreamTrack is (from the
// subscriber offer's `a=mid` / `a=msid:<participant sid> <track sid>` lines), and the streams the
// tiles play — per participant one of its audio and camera, and one of its screen share. A
// stream object is kept as long as its tracks stay the same, so a <video> is not restarted.

export class RemoteMedia {
  constructor() {
    this.byMid = {}; // mid -> { participant, track } from the latest subscriber offer
    this.tracks = new Map(); // participant sid -> Map(track sid -> MediaStreamTrack)
    this.streams = new Map(); // `${participant sid}/${main|screen}` -> { key, stream }
  }

  /** Reads the mid -> (participant, track) labels of a subscriber offer. */
  learnOffer(sdp) {
    for (const section of sdp.split(/\r?\nm=/).slice(1)) {
      const mid = section.match(/\na=mid:(\S+)/)?.[1];
      const msid = section.match(/\na=msid:(\S+) (\S+)/);
      if (mid && msid) this.byMid[mid] = { participant: msid[1], track: msid[2] };
    }
  }

  /** An RTCTrackEvent: returns the participant sid it belongs to (null: unknown). */
  add(ev) {
    const label = this.byMid[ev.transceiver?.mid] ?? { participant: ev.streams[0]?.id, track: ev.track.id };
    if (!label.participant) return null;
    if (!this.tracks.has(label.participant)) this.tracks.set(label.participant, new Map());
    this.tracks.get(label.participant).set(label.track, ev.track);
    return label.participant;
  }

  removeTrack(participant, track) {
    this.tracks.get(participant)?.delete(track);
  }

  removeParticipant(participant) {
    this.tracks.delete(participant);
    this.streams.delete(`${participant}/main`);
    this.streams.delete(`${participant}/screen`);
  }

  clear() {
    this.tracks.clear();
    this.streams.clear();
  }

  /**
   * The streams to play for a participant, given its track infos (`entry.tracks`: sid ->
   * { kind, source, muted }): `main` (audio and camera) and `screen` (unless muted), each null
   * when nothing arrived.
   */
  streamsOf(participant, entry) {
    const received = this.tracks.get(participant) ?? new Map();
    const main = [];
    const screen = [];
    for (const [sid, track] of received) {
      if (track.readyState === 'ended') continue;
      const info = entry?.tracks[sid];
      const source = info?.source ?? (track.kind === 'audio' ? 'microphone' : 'camera');
      // A muted screen share is a stopped one (see local.js): no tile for it.
      if (source === 'screen' && !info?.muted) screen.push(track);
      else if (source !== 'screen') main.push(track);
    }
    return { main: this.stream(`${participant}/main`, main), screen: this.stream(`${participant}/screen`, screen) };
  }

  stream(name, tracks) {
    if (!tracks.length) {
      this.streams.delete(name);
      return null;
    }
    const key = tracks.map((t) => t.id).sort().join(',');
    const cached = this.streams.get(name);
    if (cached?.key === key) return cached.stream;
    const stream = new MediaStream(tracks);
    this.streams.set(name, { key, stream });
    return stream;
  }
}
