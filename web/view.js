// The page's DOM around the tiles: the join form and lobby, the call header, the banner (errors,
// end of call), the reconnecting notice, the moderation notices and unmute prompts, the call
// controls (microphone, camera, screen share, raise hand, chat, devices), the devices dialog and
// the on-hold overlay. The tile grid is tiles.js, the chat panel chat.js. It holds no call state:
// the call glue (call.js, room-events.js) tells it what to show, and user actions go back through
// the handlers.

import { ChatPanel } from './chat.js';
import { fillSelect } from './devices.js';
import { Tiles } from './tiles.js';

const CONTROL_IDS = { audio: 'mic', video: 'camera' };
// Most moderation notices on screen at once; older ones give way (they stay in store.notices).
const MAX_NOTICES = 3;

export class View {
  /**
   * Handlers: `onLeave()`, `onToggleMuted(kind)` ('audio' | 'video'), `onUnmuteAnswer(track,
   * accept)`, `onToggleScreen()`, `onToggleHand()`, `onSendChat(text)`, `devices()` (resolves to
   * { inputs: { audio, video }, current: { audio, video } } for the devices dialog),
   * `onSwitchDevice(kind, deviceId)`.
   */
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.handlers = handlers;
    this.form = $('join-form');
    this.lobbyPanel = $('lobby');
    this.lobbyRoom = $('lobby-room');
    this.call = $('call');
    this.banner = $('banner');
    this.reconnectBanner = $('reconnecting');
    this.notices = $('notices');
    this.holdOverlay = $('hold');
    this.holdDetail = $('hold-detail');
    this.roomName = $('room-name');
    this.statusText = $('status');
    this.rttText = $('rtt');
    this.leaveButton = $('leave');
    this.unmuteButton = $('unmute');
    this.screenButton = $('screen');
    this.handButton = $('hand');
    this.devicesDialog = $('devices-dialog');
    this.deviceSelects = { video: $('call-camera'), audio: $('call-mic') };
    this.tiles = new Tiles(doc, $('grid'), { onAutoplayBlocked: () => { this.unmuteButton.hidden = false; } });
    this.chat = new ChatPanel(doc, { onSend: handlers.onSendChat });
    this.controls = {};
    for (const [kind, id] of Object.entries(CONTROL_IDS)) {
      const button = $(id);
      // aria-disabled rather than `disabled`: a locked control stays focusable and hoverable,
      // so keyboard and pointer users can still find out why it does nothing.
      button.addEventListener('click', () => {
        if (button.getAttribute('aria-disabled') !== 'true') handlers.onToggleMuted(kind);
      });
      this.controls[kind] = { button, lock: $(`${id}-lock`) };
    }
    // Phones and some browsers cannot capture the screen: no button then.
    this.screenButton.hidden = !navigator.mediaDevices?.getDisplayMedia;
    this.screenButton.addEventListener('click', () => handlers.onToggleScreen());
    this.handButton.addEventListener('click', () => handlers.onToggleHand());
    $('devices').addEventListener('click', () => this.openDevices());
    for (const [kind, select] of Object.entries(this.deviceSelects)) {
      select.addEventListener('change', () => handlers.onSwitchDevice(kind, select.value));
    }
    this.leaveButton.addEventListener('click', handlers.onLeave);
    this.unmuteButton.addEventListener('click', () => {
      this.tiles.unmuteAll();
      this.unmuteButton.hidden = true;
    });
  }

  /** A join started: the form gives way to the (still empty) call. */
  joining() {
    this.hideBanner();
    this.reconnecting(null);
    this.clearNotices();
    this.chat.reset();
    this.form.hidden = true;
    this.lobbyPanel.hidden = true;
    this.call.hidden = false;
    this.leaveButton.hidden = false;
    this.hold(false);
    for (const kind of Object.keys(this.controls)) this.ownMedia(kind, { muted: false, lockedBy: null });
    this.screenSharing(false, null);
    this.handRaised(false);
    this.statusText.textContent = 'Joining…';
  }

  showLocal(stream) {
    this.tiles.showLocal(stream);
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
    this.tiles.localName(name);
  }

  upsertParticipant(sid, entry) {
    this.tiles.upsert(sid, entry);
  }

  /** Plays a participant's streams: `main` (camera and audio) in its tile, `screen` in another. */
  attachStreams(sid, entry, { main, screen }) {
    this.tiles.attach(sid, main);
    this.tiles.screen(sid, screen, entry.name || entry.identity || sid);
  }

  /** The <video> of a participant's main tile, or of its screen tile, if drawn. */
  videoOf(sid, screen) {
    return this.tiles.video(sid, screen);
  }

  removeParticipant(sid) {
    this.tiles.remove(sid);
  }

  clearParticipants() {
    this.tiles.clearRemote();
  }

  speaking(sids, ownSpeaking) {
    this.tiles.speaking(sids, ownSpeaking);
  }

  ownQuality(quality) {
    this.tiles.localQuality(quality);
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
    this.tiles.localMedia(kind, muted);
  }

  /**
   * Our screen share is on (`stream` previewed in a tile of its own) or off. Toggles keep their
   * label and show their state as pressed (so screen readers announce it).
   */
  screenSharing(on, stream, name = null) {
    this.screenButton.setAttribute('aria-pressed', String(on));
    this.tiles.localScreen(on ? stream : null, name);
  }

  handRaised(raised) {
    this.handButton.setAttribute('aria-pressed', String(raised));
    this.tiles.localHand(raised);
  }

  chatMessage(message) {
    this.chat.add(message);
  }

  async openDevices() {
    const { inputs, current } = await this.handlers.devices();
    for (const [kind, select] of Object.entries(this.deviceSelects)) fillSelect(select, inputs[kind], current[kind]);
    this.devicesDialog.showModal();
  }

  /** The on-hold overlay over the grid. */
  hold(on, by = null) {
    this.holdOverlay.hidden = !on;
    this.holdDetail.textContent = on
      ? `${by ? `Moderator ${by}` : 'A moderator'} put you on hold. Nobody hears or sees you until you are resumed.`
      : '';
    this.call.classList.toggle('on-hold', on);
  }

  /** The reconnecting notice: `text` while reconnecting, null once back (or given up). */
  reconnecting(text) {
    this.reconnectBanner.hidden = text === null;
    this.reconnectBanner.querySelector('.text').textContent = text ?? '';
    this.call.classList.toggle('reconnecting', text !== null);
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
        this.handlers.onUnmuteAnswer(track, accept);
      });
      buttons.append(button);
    }
    prompt.append(message, buttons);
    this.notices.prepend(prompt);
  }

  closePrompt(track) {
    this.notices.querySelector(`.prompt[data-track="${CSS.escape(track)}"]`)?.remove();
  }

  /** Every unmute prompt goes (a reconnection: the requests died with the old session). */
  closePrompts() {
    for (const prompt of this.notices.querySelectorAll('.prompt')) prompt.remove();
  }

  /**
   * The call is over: back to the form, with `message` in the banner if there is one. `tone` is
   * 'error' (red) or 'info' (an expected end such as a removal).
   */
  ended(message, tone = 'error') {
    this.tiles.reset();
    this.clearNotices();
    this.chat.reset();
    this.hold(false);
    this.reconnecting(null);
    if (this.devicesDialog.open) this.devicesDialog.close();
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
}
