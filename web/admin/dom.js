// Small DOM and formatting helpers shared by the dashboard modules: an element builder and the
// human-readable forms of bitrates, percentages, durations and timestamps. No state.

/**
 * Builds an element. `props`: `class`, `dataset` (object), `on<event>` (listener), `text`
 * (textContent); booleans set or omit an attribute; anything else is an attribute. Children may
 * be nodes, strings, arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Sets an element's text only when it changed (keeps screen readers and selections calm). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function formatBitrate(bps) {
  if (bps === null || bps === undefined) return '—';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mb/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kb/s`;
  return `${Math.round(bps)} b/s`;
}

export function formatPercent(value) {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)} %`;
}

export function formatMs(value) {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)} ms`;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A timestamp as local date and time (RFC 3339 in, or '' / null: '—'). */
export function formatTime(rfc3339) {
  if (!rfc3339) return '—';
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleString();
}

/** Seconds between two RFC 3339 timestamps (`to` absent: now). */
export function secondsBetween(from, to) {
  const start = Date.parse(from);
  const end = to ? Date.parse(to) : Date.now();
  return Number.isNaN(start) || Number.isNaN(end) ? null : (end - start) / 1000;
}

/** What a moderator calls someone: the display name, else the identity. */
export function displayName(p) {
  return p.name || p.identity;
}
