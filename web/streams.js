// The MediaStreams the tiles play, built from the SDK's tracks: per remote participant one of its
// audio and camera, and one of its screen share (none while the share is muted: a stopped share
// stays published, muted); and our own preview (microphone and camera). A stream object is kept
// as long as its tracks stay the same, so a <video> is not restarted.

export class TileStreams {
  constructor() {
    this.cache = new Map(); // name -> { key, stream }
  }

  /** `{ main, screen }` for a RemoteParticipant (each a MediaStream, or null: nothing arrived). */
  of(participant) {
    const main = [];
    const screen = [];
    for (const publication of participant.trackPublications.values()) {
      const track = publication.track;
      if (!track || track.readyState === 'ended') continue;
      if (publication.source !== 'screen') main.push(track);
      else if (!publication.muted) screen.push(track);
    }
    return { main: this.stream(`${participant.sid}/main`, main), screen: this.stream(`${participant.sid}/screen`, screen) };
  }

  /** Our own preview: the microphone and camera we send (null: none). */
  local(localParticipant) {
    const tracks = ['microphone', 'camera'].map((s) => localParticipant.getTrackPublication(s)?.track).filter(Boolean);
    return this.stream('local', tracks);
  }

  forget(sid) {
    this.cache.delete(`${sid}/main`);
    this.cache.delete(`${sid}/screen`);
  }

  clear() {
    this.cache.clear();
  }

  stream(name, tracks) {
    if (!tracks.length) {
      this.cache.delete(name);
      return null;
    }
    const key = tracks.map((t) => t.id).sort().join(',');
    const cached = this.cache.get(name);
    if (cached?.key === key) return cached.stream;
    const stream = new MediaStream(tracks);
    this.cache.set(name, { key, stream });
    return stream;
  }
}
