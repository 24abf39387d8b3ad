// The grid of participant tiles: one tile per participant (its <video> plays its camera and
// audio), one more per screen share, our own camera preview and screen share. Badges (hand
// raised, mic muted, camera off, on hold, connection) and a speaking outline show each one's
// state. Holds no call state: the call glue (through view.js) says what to draw.

const LOCAL = 'local';
const SCREEN = ':screen'; // suffix of a screen-share tile's data-sid
// Tile badges (class suffix -> text), in display order.
const BADGES = {
  hand: 'Hand raised',
  'mic-muted': 'Mic muted',
  'camera-off': 'Camera off',
  'on-hold': 'On hold',
  reconnecting: 'Reconnecting…',
  'video-paused': 'Video paused: low bandwidth',
  'poor-connection': 'Poor connection',
  'connection-lost': 'Connection lost',
};

export class Tiles {
  /** `onAutoplayBlocked()`: a tile could only play muted (no user gesture yet). */
  constructor(doc, grid, { onAutoplayBlocked }) {
    this.doc = doc;
    this.grid = grid;
    this.onAutoplayBlocked = onAutoplayBlocked;
    this.localTile = null;
  }

  showLocal(stream) {
    this.localTile ??= this.addTile(LOCAL, 'You');
    this.localTile.classList.add('local');
    const video = this.localTile.querySelector('video');
    video.muted = true; // own preview: never play our own microphone back
    if (video.srcObject !== stream) video.srcObject = stream;
  }

  localName(name) {
    if (this.localTile) this.setName(this.localTile, `${name} (you)`);
    const screen = this.tile(LOCAL + SCREEN);
    if (screen) this.setName(screen, `${name} (you): screen`);
  }

  /** Our own microphone ('audio') or camera ('video') is muted or not. */
  localMedia(kind, muted) {
    if (!this.localTile) return;
    if (kind === 'video') this.localTile.classList.toggle('no-video', muted);
    this.setBadges(this.localTile, { [kind === 'audio' ? 'mic-muted' : 'camera-off']: muted });
  }

  localQuality(quality) {
    if (this.localTile) this.setBadges(this.localTile, qualityBadges(quality));
  }

  localHand(raised) {
    if (this.localTile) this.setBadges(this.localTile, { hand: raised });
  }

  /** Our own screen share's preview tile (`stream` null: none). */
  localScreen(stream, name) {
    this.screenTile(LOCAL, stream, `${name ?? 'You'} (you): screen`, true);
  }

  /** Draws a participant's main tile: name, badges, video or initial. */
  upsert(sid, entry) {
    const tile = this.tile(sid) ?? this.addTile(sid);
    this.setName(tile, entry.name || entry.identity || sid);
    const tracks = Object.values(entry.tracks);
    const audio = tracks.filter((t) => t.kind === 'audio');
    const camera = tracks.filter((t) => t.kind === 'video' && t.source !== 'screen');
    tile.classList.toggle('no-video', !camera.some((t) => !t.muted));
    this.setBadges(tile, {
      hand: !!entry.hand,
      'mic-muted': audio.length > 0 && audio.every((t) => t.muted),
      'camera-off': camera.length > 0 && camera.every((t) => t.muted),
      'on-hold': entry.state === 'on_hold',
      reconnecting: entry.state === 'reconnecting',
      'video-paused': camera.some((t) => t.paused),
      ...qualityBadges(entry.quality),
    });
  }

  /** Plays a participant's camera and audio (`stream`) in its tile. */
  attach(sid, stream) {
    const video = this.tile(sid)?.querySelector('video');
    if (video) this.play(video, stream);
  }

  /** The <video> of a participant's main or screen tile, if drawn. */
  video(sid, screen) {
    return this.tile(screen ? sid + SCREEN : sid)?.querySelector('video') ?? null;
  }

  /** A participant's screen share in a tile of its own (`stream` null: removes it). */
  screen(sid, stream, name) {
    this.screenTile(sid, stream, `${name}: screen`, false);
  }

  /** Outlines the tiles of the participants speaking now (`ownSpeaking`: our own tile too). */
  speaking(sids, ownSpeaking) {
    for (const tile of this.grid.querySelectorAll('.tile')) {
      tile.classList.toggle('speaking', tile === this.localTile ? ownSpeaking : sids.includes(tile.dataset.sid));
    }
  }

  /** A participant's tiles go (main and screen). */
  remove(sid) {
    for (const id of [sid, sid + SCREEN]) {
      const tile = this.tile(id);
      if (!tile) continue;
      tile.querySelector('video').srcObject = null;
      tile.remove();
    }
  }

  /** Every tile but our own goes (a move to another room, a reconnection). */
  clearRemote() {
    for (const tile of this.grid.querySelectorAll('.tile:not(.local)')) {
      tile.querySelector('video').srcObject = null;
      tile.remove();
    }
  }

  /** Every tile goes (the call ended). */
  reset() {
    for (const video of this.grid.querySelectorAll('video')) video.srcObject = null;
    this.grid.replaceChildren();
    this.localTile = null;
  }

  /** Turns the sound of every remote tile on (after the "Enable audio" click). */
  unmuteAll() {
    for (const tile of this.grid.querySelectorAll('.tile:not(.local)')) {
      const video = tile.querySelector('video');
      video.muted = false;
      video.play().catch(() => {});
    }
  }

  screenTile(sid, stream, name, local) {
    const id = sid + SCREEN;
    let tile = this.tile(id);
    if (!stream) {
      if (tile) {
        tile.querySelector('video').srcObject = null;
        tile.remove();
      }
      return;
    }
    if (!tile) {
      tile = this.addTile(id, name);
      tile.classList.add('screen');
      if (local) tile.classList.add('local');
      // Next to its owner's tile.
      const owner = local ? this.localTile : this.tile(sid);
      owner?.after(tile);
    }
    this.setName(tile, name);
    const video = tile.querySelector('video');
    video.muted = true; // a screen stream carries no audio here
    this.play(video, stream);
  }

  play(video, stream) {
    if (video.srcObject === stream) return;
    video.srcObject = stream;
    if (!stream) return;
    video.play().catch((err) => {
      // Autoplay with sound needs a user gesture (an invite link opened without a click):
      // play muted and offer a button that turns the sound on.
      if (err.name !== 'NotAllowedError') return;
      video.muted = true;
      video.play().catch(() => {});
      this.onAutoplayBlocked();
    });
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
    const badges = this.doc.createElement('ul');
    badges.className = 'badges';
    badges.setAttribute('aria-label', 'Status');
    for (const [badge, text] of Object.entries(BADGES)) {
      const item = this.doc.createElement('li');
      item.className = `badge badge-${badge}`;
      item.textContent = text;
      item.hidden = true;
      badges.append(item);
    }
    const caption = this.doc.createElement('figcaption');
    caption.className = 'tile-name';
    tile.append(video, badges, caption);
    this.setName(tile, name);
    this.grid.append(tile);
    return tile;
  }

  setName(tile, name) {
    tile.querySelector('.tile-name').textContent = name;
    tile.dataset.initial = name.charAt(0).toUpperCase();
  }

  /** Shows or hides a tile's badges; badges not named in `shown` stay as they are. */
  setBadges(tile, shown) {
    for (const [badge, on] of Object.entries(shown)) tile.querySelector(`.badge-${badge}`).hidden = !on;
  }
}

/** Badges for a connection quality (`excellent`, `good`, `poor`, `lost`, or unknown). */
function qualityBadges(quality) {
  return { 'poor-connection': quality === 'poor', 'connection-lost': quality === 'lost' };
}
