// Readable summary of netlab-report.json (written by shaped.test.js):
//   node tests/netlab/report.js [--brief] [path/to/netlab-report.json]
// Also used by shaped.test.js to print the summary at the end of a run.

const fs = require('node:fs');

const num = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? '-' : Number(v).toFixed(digits));
const secs = (v) => (v === null || v === undefined ? 'not reached' : `${num(v)} s`);

function trackLine(t) {
  const name = `${t.from ?? '?'}/${t.source ?? t.kind}`;
  if (t.kind === 'audio') {
    return `${name.padEnd(18)} audio  pkts +${t.packets} loss ${num(t.lossPct)}% jb ${num(t.jitterBufferMs, 0)}ms ${num(t.kbps, 0)}kbps`;
  }
  return `${name.padEnd(18)} ${String(t.frameHeight ?? '-').padStart(4)}p ${num(t.fps).padStart(5)}fps loss ${num(t.lossPct).padStart(5)}%`
    + ` jb ${num(t.jitterBufferMs, 0).padStart(4)}ms ${num(t.kbps, 0).padStart(5)}kbps freezes +${t.freezes ?? '-'} pli-sent +${t.plisSent ?? '-'}`;
}

function publisherLine(name, p) {
  const order = (rid) => ({ q: 0, h: 1, f: 2 }[rid] ?? 3);
  const rids = Object.entries(p.rids ?? {}).sort(([a], [b]) => order(a) - order(b))
    .map(([rid, r]) => `${rid}:${r.frameHeight ?? '-'}p ${num(r.kbps, 0)}kbps`).join('  ');
  return `${name.padEnd(6)} PLIs +${p.plis}${p.plisShapedPhase !== undefined ? ` (shaped phase: ${p.plisShapedPhase})` : ''}  ${rids}`
    + `  (limit: ${p.qualityLimitation ?? '-'}, uplink estimate ${p.bweKbps ?? '-'} kbps)`;
}

/** Each phase's headline (times) and its failed checks only. */
function brief(report) {
  return summary(report, { brief: true }).split('\n').filter((l) => /^(netlab|==|  note:)|\[FAIL\]/.test(l)).join('\n');
}

function summary(report, options = {}) {
  const out = [];
  out.push(`netlab report — server ${report.binary}`);
  for (const [name, ph] of Object.entries(report.phases ?? {})) {
    const head = [`== ${name}`];
    if (ph.shaping) head.push(`(shaped page: ${ph.shaping})`);
    if ('reachedS' in ph) head.push(`all at 720: ${secs(ph.reachedS)}`);
    if ('adaptDownS' in ph) head.push(`adapt-down: ${secs(ph.adaptDownS)}`);
    if ('adaptUpS' in ph) head.push(`adapt-up: ${secs(ph.adaptUpS)}`);
    if ('pausedS' in ph) head.push(`paused: ${secs(ph.pausedS)}`);
    if ('resumedS' in ph) head.push(`video resumed: ${secs(ph.resumedS)}`);
    if (ph.windowS) head.push(`window ${num(ph.windowS)} s`);
    if (ph.loadavg !== undefined) head.push(`host: load ${ph.loadavg}, CPU ${ph.cpuBusyPct ?? '-'}% busy`);
    out.push(head.join('  '));
    if (ph.from) out.push(`  before: ${ph.from}`);
    if (ph.note) out.push(`  note: ${ph.note}`);
    for (const [page, tracks] of Object.entries(ph.pages ?? {})) {
      out.push(`  ${page}:`);
      for (const t of tracks) out.push(`    ${trackLine(t)}`);
    }
    for (const [pub, p] of Object.entries(ph.publishers ?? {})) out.push(`  ${publisherLine(pub, p)}`);
    if (ph.rttMs) out.push(`  RTT (subscriber PC): ${Object.entries(ph.rttMs).map(([k, v]) => `${k} ${v ?? '-'} ms`).join(', ')}`);
    if (ph.admin?.legs) {
      out.push(`  server on subShaped: estimate ${ph.admin.estimateKbps ?? '-'} kbps; legs ${ph.admin.legs.map((s) => `${s.publisher} layer ${s.layer}→${s.targetLayer}${s.paused ? ` paused:${s.paused}` : ''} ${s.kbps}kbps`).join(', ')}`);
    }
    if (ph.timeline?.length && !options.brief) {
      out.push('  timeline (subShaped, 1 s steps: height/fps/kbps [server layer→target]):');
      for (const e of ph.timeline) {
        const v = e.videos.map((x) => `${x.from} ${x.frameHeight ?? '-'}p/${num(x.fps, 0)}/${num(x.kbps, 0)}`
          + ` [${x.paused ? `paused:${x.paused}` : `${x.layer ?? '-'}→${x.targetLayer ?? '-'}`}]`).join('  ');
        out.push(`    t=${num(e.t).padStart(5)}s est ${String(e.estimateKbps ?? '-').padStart(5)}k  ${v}`);
      }
    }
    if (ph.streamState) out.push(`  stream_state seen: ${JSON.stringify(ph.streamState)}`);
    for (const c of ph.checks ?? []) out.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}${c.ok ? '' : ` — ${c.detail}`}`);
  }
  return out.join('\n');
}

module.exports = { brief, summary };

if (require.main === module) {
  const args = process.argv.slice(2);
  const short = args.includes('--brief');
  const file = args.find((a) => a !== '--brief') || `${process.env.ARTIFACTS_DIR || `${__dirname}/artifacts`}/netlab-report.json`;
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  console.log(short ? brief(report) : summary(report));
}
