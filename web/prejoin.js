// The pre-join preview in the join form: opens the camera and microphone before joining, shows
// the camera, a microphone level meter, and camera/microphone pickers that switch the preview
// live (the choice is remembered). Joining takes the preview's stream over, so the call starts
// with exactly the devices seen here.

import { captureTrack, captureUserMedia, deviceOf, fillSelect, listInputs, saveChoice } from './devices.js';

export class Prejoin {
  constructor(doc) {
    this.video = doc.getElementById('preview');
    this.status = doc.getElementById('preview-status');
    this.meter = doc.getElementById('mic-level');
    this.form = doc.getElementById('join-form');
    this.selects = { video: doc.getElementById('prejoin-camera'), audio: doc.getElementById('prejoin-mic') };
    this.stream = null;
    this.pending = null;
    this.audio = null; // { ctx, source, analyser, frame }
    for (const [kind, select] of Object.entries(this.selects)) {
      select.addEventListener('change', () => this.change(kind, select.value));
    }
    // Audio may only start after a gesture; the first one in the form starts the level meter.
    for (const type of ['pointerdown', 'keydown']) this.form.addEventListener(type, () => this.audio?.ctx.resume(), { passive: true });
    navigator.mediaDevices?.addEventListener?.('devicechange', () => this.stream && this.fillSelects());
  }

  /** Opens the devices for the preview (once; later calls wait for the same result). */
  start() {
    this.pending ??= this.open();
    return this.pending;
  }

  async open() {
    this.say('Starting camera and microphone…');
    try {
      this.stream = await captureUserMedia();
    } catch (err) {
      this.stream = null;
      this.say(`Camera or microphone unavailable: ${err.message}`);
      await this.fillSelects();
      return;
    }
    this.video.srcObject = this.stream;
    this.say('');
    this.startMeter();
    await this.fillSelects();
  }

  /** Hands the preview stream (or null) to the call; the preview lets go of it. */
  async take() {
    await this.start();
    const stream = this.stream;
    this.stream = null;
    this.pending = null;
    this.stopMeter();
    this.video.srcObject = null;
    return stream;
  }

  /** Releases the devices (the page joins without the form, or the preview is not wanted). */
  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.pending = null;
    this.stopMeter();
    this.video.srcObject = null;
  }

  /** The picker of `kind` changed: swap that track of the preview for the chosen device. */
  async change(kind, deviceId) {
    saveChoice(kind, deviceId);
    if (!this.stream) {
      this.pending = null;
      return this.start();
    }
    let track;
    try {
      track = await captureTrack(kind, deviceId);
    } catch (err) {
      this.say(`Cannot open that ${kind === 'audio' ? 'microphone' : 'camera'}: ${err.message}`);
      return undefined;
    }
    if (!this.stream) {
      track.stop(); // joined meanwhile
      return undefined;
    }
    for (const old of kind === 'audio' ? this.stream.getAudioTracks() : this.stream.getVideoTracks()) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    if (kind === 'audio') this.startMeter();
    this.say('');
    return undefined;
  }

  async fillSelects() {
    const inputs = await listInputs();
    fillSelect(this.selects.audio, inputs.audio, deviceOf(this.stream?.getAudioTracks()[0]));
    fillSelect(this.selects.video, inputs.video, deviceOf(this.stream?.getVideoTracks()[0]));
  }

  say(text) {
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  /** A level meter on the preview's microphone (Web Audio analyser, updated every frame). */
  startMeter() {
    this.stopMeter();
    const track = this.stream?.getAudioTracks()[0];
    if (!track || typeof AudioContext === 'undefined') return;
    const ctx = new AudioContext();
    const source = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      // RMS to a 0..1 scale that makes speech visible (about -50 dBFS .. 0 dBFS).
      const db = 10 * Math.log10(sum / samples.length + 1e-10);
      this.meter.value = Math.max(0, Math.min(1, (db + 50) / 50));
      this.audio.frame = requestAnimationFrame(tick);
    };
    this.audio = { ctx, source, analyser, frame: requestAnimationFrame(tick) };
    ctx.resume().catch(() => {});
  }

  stopMeter() {
    if (!this.audio) return;
    cancelAnimationFrame(this.audio.frame);
    this.audio.source.disconnect();
    this.audio.ctx.close().catch(() => {});
    this.audio = null;
    this.meter.value = 0;
  }
}
