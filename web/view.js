// The page's DOM: the join form, the call header, the banner and the grid of participant tiles
// (one <video> per tile plays that participant's audio and video). It holds no call state: call.js
// tells it what to show.

export class View {
  /** `onLeave` runs when the Leave button is pressed. */
  constructor(doc, { onLeave }) {
    this.doc = doc;
    this.form = doc.getElementById('join-form');
    this.call = doc.getElementById('call');
    this.grid = doc.getElementById('grid');
    this.banner = doc.getElementById('banner');
    this.roomName = doc.getElementById('room-name');
    this.statusText = doc.getElementById('status');
    this.rttText = doc.getElementById('rtt');
    this.leaveButton = doc.getElementById('leave');
    this.unmuteButton = doc.getElementById('unmute');
    this.localTile = null;
    this.leaveButton.addEventListener('click', onLeave);
    this.unmuteButton.addEventListener('click', () => this.unmuteAll());
  }

  /** A join started: the form gives way to the (still empty) call. */
  joining() {
    this.hideBanner();
    this.form.hidden = true;
    this.call.hidden = false;
    this.leaveButton.hidden = false;
    this.statusText.textContent = 'Joining…';
  }

  showLocal(stream) {
    this.localTile ??= this.addTile('local', 'You');
    this.localTile.classList.add('local');
    const video = this.localTile.querySelector('video');
    video.muted = true; // own preview: never play our own microphone back
    video.srcObject = stream;
  }

  joined(roomName, ownName) {
    this.roomName.textContent = `Room: ${roomName}`;
    this.setName(this.localTile, `${ownName} (you)`);
    this.statusText.textContent = 'Connecting media…';
  }

  upsertParticipant(sid, entry) {
    const tile = this.tile(sid) ?? this.addTile(sid);
    this.setName(tile, entry.name || entry.identity || sid);
    const hasVideo = Object.values(entry.tracks).some((t) => t.kind === 'video');
    tile.classList.toggle('no-video', !hasVideo);
  }

  removeParticipant(sid) {
    const tile = this.tile(sid);
    if (!tile) return;
    tile.querySelector('video').srcObject = null;
    tile.remove();
  }

  /** Plays a participant's media stream (audio and video) in its tile. */
  attachStream(sid, stream) {
    const video = this.tile(sid)?.querySelector('video');
    if (!video || video.srcObject === stream) return;
    video.srcObject = stream;
    video.play().catch((err) => {
      // Autoplay with sound needs a user gesture (an invite link opened without a click):
      // play muted and offer a button that turns the sound on.
      if (err.name !== 'NotAllowedError') return;
      video.muted = true;
      video.play().catch(() => {});
      this.unmuteButton.hidden = false;
    });
  }

  status(text) {
    this.statusText.textContent = text;
  }

  roundTrip(ms) {
    this.rttText.textContent = `signalling ${ms} ms`;
  }

  notice(text) {
    this.banner.textContent = text;
    this.banner.hidden = false;
  }

  /** The call is over: back to the form, with `message` in the banner if there is one. */
  ended(message) {
    for (const video of this.grid.querySelectorAll('video')) video.srcObject = null;
    this.grid.replaceChildren();
    this.localTile = null;
    this.call.hidden = true;
    this.form.hidden = false;
    this.leaveButton.hidden = true;
    this.unmuteButton.hidden = true;
    this.roomName.textContent = '';
    this.statusText.textContent = '';
    this.rttText.textContent = '';
    if (message) this.notice(message);
    else this.hideBanner();
  }

  hideBanner() {
    this.banner.hidden = true;
    this.banner.textContent = '';
  }

  unmuteAll() {
    for (const tile of this.grid.querySelectorAll('.tile:not(.local)')) {
      const video = tile.querySelector('video');
      video.muted = false;
      video.play().catch(() => {});
    }
    this.unmuteButton.hidden = true;
  }

  tile(sid) {
    return this.grid.querySelector(`.tile[data-sid="${CSS.escape(sid)}"]`);
  }

  addTile(sid, name = sid) {
    const tile = this.doc.createElement('figure');
    tile.className = 'tile';
    tile.dataset.sid = sid;
    const video = this.doc.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    const caption = this.doc.createElement('figcaption');
    caption.className = 'tile-name';
    tile.append(video, caption);
    this.setName(tile, name);
    this.grid.append(tile);
    return tile;
  }

  setName(tile, name) {
    tile.querySelector('.tile-name').textContent = name;
    tile.dataset.initial = name.charAt(0).toUpperCase();
  }
}
