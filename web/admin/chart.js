// The room's bitrate chart: keeps, per participant, the bitrate it sends (the sum of its
// published tracks) sampled at every refresh over the last five minutes, and draws it as lines on
// a plain <canvas> with an HTML legend (which also carries the numbers for screen readers).

import { formatBitrate, h } from './dom.js';

const WINDOW_MS = 5 * 60_000;
const COLORS = ['#5b9bff', '#f5a524', '#3ecf8e', '#f2637e', '#b78cff', '#4dd0e1', '#e0e060', '#ff8a5b'];

export class BitrateChart {
  constructor(canvas, legend) {
    this.canvas = canvas;
    this.legend = legend;
    this.series = new Map(); // identity -> { name, color, samples: [{ t, bps }] }
    this.nextColor = 0;
  }

  reset() {
    this.series.clear();
    this.nextColor = 0;
    this.draw();
  }

  /** One sample per participant that sends media now (stats sampled); others get no point. */
  add(participants, now = Date.now()) {
    for (const p of participants) {
      const sampled = p.tracks.filter((t) => t.stats);
      if (!sampled.length || p.state === 'disconnected') continue;
      let s = this.series.get(p.identity);
      if (!s) {
        s = { name: p.name || p.identity, color: COLORS[this.nextColor++ % COLORS.length], samples: [] };
        this.series.set(p.identity, s);
      }
      s.name = p.name || p.identity;
      s.samples.push({ t: now, bps: sampled.reduce((sum, t) => sum + t.stats.bitrate_bps, 0) });
    }
    for (const [identity, s] of this.series) {
      s.samples = s.samples.filter((x) => now - x.t <= WINDOW_MS);
      if (!s.samples.length) this.series.delete(identity);
    }
    this.draw(now);
  }

  /** The latest sample per identity, for tests and the console. */
  latest() {
    return Object.fromEntries([...this.series].map(([id, s]) => [id, s.samples.at(-1)?.bps ?? null]));
  }

  draw(now = Date.now()) {
    const { canvas } = this;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const pad = { left: 64, right: 8, top: 8, bottom: 20 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const all = [...this.series.values()].flatMap((s) => s.samples);
    const max = niceMax(Math.max(0, ...all.map((x) => x.bps)));
    // The time axis grows with the data from one minute up to the five-minute window.
    const oldest = Math.min(now, ...all.map((x) => x.t));
    const span = Math.min(WINDOW_MS, Math.max(60_000, now - oldest));
    const x = (t) => pad.left + plotW * (1 - (now - t) / span);
    const y = (bps) => pad.top + plotH * (1 - bps / max);

    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#343844';
    ctx.fillStyle = '#9aa0ab';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, y(v));
      ctx.lineTo(width - pad.right, y(v));
      ctx.stroke();
      ctx.fillText(formatBitrate(v), pad.left - 6, y(v));
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = span <= 60_000 ? 15_000 : span <= 150_000 ? 30_000 : 60_000;
    for (let ago = Math.floor(span / step) * step; ago >= 0; ago -= step) {
      const label = ago === 0 ? 'now' : ago % 60_000 ? `−${ago / 1000} s` : `−${ago / 60_000} min`;
      ctx.fillText(label, Math.max(pad.left + 14, Math.min(x(now - ago), width - pad.right - 12)), height - pad.bottom + 5);
    }

    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const s of this.series.values()) {
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      s.samples.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.bps)) : ctx.moveTo(x(p.t), y(p.bps))));
      ctx.stroke();
      if (s.samples.length === 1) {
        ctx.fillStyle = s.color;
        ctx.fillRect(x(s.samples[0].t) - 2, y(s.samples[0].bps) - 2, 4, 4);
      }
    }
    this.drawLegend();
  }

  drawLegend() {
    const items = [...this.series.values()].map((s) => h('li', {},
      h('span', { class: 'swatch', style: `background:${s.color}`, 'aria-hidden': 'true' }),
      `${s.name}: ${formatBitrate(s.samples.at(-1)?.bps)}`));
    this.legend.replaceChildren(...(items.length ? items : [h('li', { class: 'muted', text: 'No media yet' })]));
  }
}

/** A round axis maximum at or above `value` (1, 2 or 5 times a power of ten; at least 100 kb/s). */
function niceMax(value) {
  const v = Math.max(value * 1.1, 100_000);
  const power = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= v);
}
