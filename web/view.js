// The page's DOM: the join form, the lobby, the call header, the banner, the moderation notices
// and unmute prompts, the own microphone/camera controls, the on-hold overlay and the grid of
// participant tiles (one <video> per tile plays that participant's audio and video; badges and a
// speaking outline show its state). It holds no call state: call.js tells it what to show, and
// user actions go back through the handlers.

const LOCAL = 'local';
const CONTROL_IDS = { audio: 'mic', video: 'camera' };
// Most moderation notices on screen at once; older ones give way (they stay in store.notices).
const MAX_NOTICES = 3;
// Tile badges (class suffix -> text), in display order.
const BADGES = {
  'mic-muted': 'Mic muted',
  'camera-off': 'Camera off',
  'on-hold': 'On hold',
  'poor-connection': 'Poor connection',
  'connection-lost': 'Connection lost',
};

export class View {
  /**
   * Handlers: `onLeave()` (the Leave button), `onToggleMuted(kind)` (the microphone or camera
   * control; kind is 'audio' or 'video'), `onUnmuteAnswer(track, accept)` (the unmute prompt).
   */
  constructor(doc, { onLeave, onToggleMuted, onUnmuteAnswer }) {
    this.doc = doc;
    this.form = doc.getElementById('join-form');
    this.lobbyPanel = doc.getElementById('lobby');
    this.lobbyRoom = doc.getElementById('lobby-room');
    this.call = doc.getElementById('call');
    this.grid = doc.getElementById('grid');
    this.banner = doc.getElementById('banner');
    this.notices = doc.getElementById('notices');
    this.holdOverlay = doc.getElementById('hold');
    this.holdDetail = doc.getElementById('hold-detail');
    this.roomName = doc.getElementById('room-name');
    this.statusText = doc.getElementById('status');
    this.rttText = doc.getElementById('rtt');
    this.leaveButton = doc.getElementById('leave');
    this.unmuteButton = doc.getElementById('unmute');
    this.controls = {};
    for (const [kind, id] of Object.entries(CONTROL_IDS)) {
      const button = doc.getElementById(id);
      const lock = doc.getElementById(`${id}-lock`);
      // aria-disabled rather than `disabled`: a locked control stays focusable and hoverable,
      // so keyboard and pointer users can still find out why it does nothing.
      button.addEventListener('click', () => {
        if (button.getAttribute('aria-disabled') !== 'true') onToggleMuted(kind);
      });
      this.controls[kind] = { button, lock };
    }
    this.onUnmuteAnswer = onUnmuteAnswer;
    this.localTile = null;
    this.leaveButton.addEventListener('click', onLeave);
    this.unmuteButton.addEventListener('click', () => this.unmuteAll());
  }

  /** A join started: the form gives way to the (still empty) call. */
  joining() {
    this.hideBanner();
    this.clearNotices();
    this.form.hidden = true;
    this.lobbyPanel.hidden = true;
    this.call.hidden = false;
    this.leaveButton.hidden = false;
    this.hold(false);
    for (const kind of Object.keys(this.controls)) this.ownMedia(kind, { muted: false, lockedBy: null });
    this.statusText.textContent = 'Joining…';
  }

  showLocal(stream) {
    this.localTile ??= this.addTile(LOCAL, 'You');
    this.localTile.classList.add('local');
    const video = this.localTile.querySelector('video');
    video.muted = true; // own preview: never play our own microphone back
    video.srcObject = stream;
  }

  /** The room has a lobby: wait there (the call and its preview stay hidden) until admitted. */
  lobby(roomName) {
    this.call.hidden = true;
    this.lobbyPanel.hidden = false;
    this.lobbyRoom.textContent = `Room: ${roomName}`;
    this.statusText.textContent = 'In the lobby';
  }

  joined(roomName) {
    this.lobbyPanel.hidden = true;
    this.call.hidden = false;
    this.room(roomName);
    this.statusText.textContent = 'Connecting media…';
  }

  room(roomName) {
    this.roomName.textContent = `Room: ${roomName}`;
  }

  ownName(name) {
    if (this.localTile) this.setName(this.localTile, `${name} (you)`);
  }

  /** Draws a participant's tile: name, badges (mic muted, camera off, on hold, connection), video or initial. */
  upsertParticipant(sid, entry) {
    const tile = this.tile(sid) ?? this.addTile(sid);
    this.setName(tile, entry.name || entry.identity || sid);
    const tracks = Object.values(entry.tracks);
    const audio = tracks.filter((t) => t.kind === 'audio');
    const video = tracks.filter((t) => t.kind === 'video');
    tile.classList.toggle('no-video', !video.some((t) => !t.muted));
    this.setBadges(tile, {
      'mic-muted': audio.length > 0 && audio.every((t) => t.muted),
      'camera-off': video.length > 0 && video.every((t) => t.muted),
      'on-hold': entry.state === 'on_hold',
      ...qualityBadges(entry.quality),
    });
  }

  /** Outlines the tiles of the participants speaking now (`ownSpeaking`: our own tile too). */
  speaking(sids, ownSpeaking) {
    for (const tile of this.grid.querySelectorAll('.tile')) {
      tile.classList.toggle('speaking', tile === this.localTile ? ownSpeaking : sids.includes(tile.dataset.sid));
    }
  }

  ownQuality(quality) {
    if (this.localTile) this.setBadges(this.localTile, qualityBadges(quality));
  }

  removeParticipant(sid) {
    const tile = this.tile(sid);
    if (!tile) return;
    tile.querySelector('video').srcObject = null;
    tile.remove();
  }

  /** Every tile but our own goes (a move to another room). */
  clearParticipants() {
    for (const tile of this.grid.querySelectorAll('.tile:not(.local)')) this.removeParticipant(tile.dataset.sid);
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

  /**
   * State of one own medium ('audio' or 'video'): its toggle is pressed while muted, and locked
   * (with the reason as tooltip and description) while a moderator holds it muted.
   */
  ownMedia(kind, { muted, lockedBy }) {
    const { button, lock } = this.controls[kind];
    button.setAttribute('aria-pressed', String(muted));
    if (lockedBy) {
      const text = kind === 'audio' ? `Muted by moderator ${lockedBy}` : `Camera turned off by moderator ${lockedBy}`;
      lock.textContent = text;
      lock.hidden = false;
      button.setAttribute('aria-disabled', 'true');
      button.setAttribute('aria-describedby', lock.id);
      button.title = `${text}. Only a moderator can turn it back on.`;
    } else {
      lock.hidden = true;
      lock.textContent = '';
      button.removeAttribute('aria-disabled');
      button.removeAttribute('aria-describedby');
      button.removeAttribute('title');
    }
    if (!this.localTile) return;
    if (kind === 'video') this.localTile.classList.toggle('no-video', muted);
    this.setBadges(this.localTile, { [kind === 'audio' ? 'mic-muted' : 'camera-off']: muted });
  }

  /** The on-hold overlay over the grid. */
  hold(on, by = null) {
    this.holdOverlay.hidden = !on;
    this.holdDetail.textContent = on
      ? `${by ? `Moderator ${by}` : 'A moderator'} put you on hold. Nobody hears or sees you until you are resumed.`
      : '';
    this.call.classList.toggle('on-hold', on);
  }

  status(text) {
    this.statusText.textContent = text;
  }

  roundTrip(ms) {
    this.rttText.textContent = `signalling ${ms} ms`;
  }

  /** An error or an end of call: the banner (an alert), kept until the next join. */
  alert(text) {
    this.banner.textContent = text;
    this.banner.hidden = false;
  }

  /**
   * A moderation notice in the notices list (announced politely). A notice with the `key` of one
   * on screen replaces it; `key` also lets dismissNotice take it away when it no longer holds.
   */
  notice({ kind, text, key = null }) {
    if (key) this.dismissNotice(key);
    const item = this.doc.createElement('div');
    item.className = `notice notice-${kind}`;
    if (key) item.dataset.key = key;
    const message = this.doc.createElement('p');
    message.textContent = text;
    const close = this.doc.createElement('button');
    close.type = 'button';
    close.className = 'dismiss';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => item.remove());
    item.append(message, close);
    this.notices.append(item);
    const shown = this.notices.querySelectorAll('.notice');
    for (let i = 0; i < shown.length - MAX_NOTICES; i++) shown[i].remove();
  }

  dismissNotice(key) {
    this.notices.querySelector(`.notice[data-key="${CSS.escape(key)}"]`)?.remove();
  }

  /**
   * A non-modal prompt asking to unmute `track`, with Accept and Decline. It is announced and
   * does not take focus: the call goes on while it is open.
   */
  unmutePrompt(track, text) {
    this.closePrompt(track);
    const prompt = this.doc.createElement('section');
    prompt.className = 'prompt';
    prompt.dataset.track = track;
    prompt.setAttribute('role', 'dialog');
    prompt.setAttribute('aria-modal', 'false');
    const message = this.doc.createElement('p');
    message.id = `prompt-${track}`;
    message.textContent = text;
    prompt.setAttribute('aria-labelledby', message.id);
    const buttons = this.doc.createElement('div');
    buttons.className = 'prompt-actions';
    for (const [label, accept] of [['Accept', true], ['Decline', false]]) {
      const button = this.doc.createElement('button');
      button.type = 'button';
      button.textContent = label;
      if (!accept) button.className = 'secondary';
      button.addEventListener('click', () => {
        prompt.remove();
        this.onUnmuteAnswer(track, accept);
      });
      buttons.append(button);
    }
    prompt.append(message, buttons);
    this.notices.prepend(prompt);
  }

  closePrompt(track) {
    this.notices.querySelector(`.prompt[data-track="${CSS.escape(track)}"]`)?.remove();
  }

  /**
   * The call is over: back to the form, with `message` in the banner if there is one. `tone` is
   * 'error' (red) or 'info' (an expected end such as a removal).
   */
  ended(message, tone = 'error') {
    for (const video of this.grid.querySelectorAll('video')) video.srcObject = null;
    this.grid.replaceChildren();
    this.clearNotices();
    this.hold(false);
    this.localTile = null;
    this.call.hidden = true;
    this.lobbyPanel.hidden = true;
    this.form.hidden = false;
    this.leaveButton.hidden = true;
    this.unmuteButton.hidden = true;
    this.roomName.textContent = '';
    this.statusText.textContent = '';
    this.rttText.textContent = '';
    this.banner.classList.toggle('info', tone === 'info');
    if (message) this.alert(message);
    else this.hideBanner();
  }

  hideBanner() {
    this.banner.hidden = true;
    this.banner.textContent = '';
  }

  clearNotices() {
    this.notices.replaceChildren();
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
