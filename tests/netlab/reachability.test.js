// Reachability in real Chromium (run by tests/netlab/run.sh, as root): a page whose network drops
// every UDP packet between it and the server joins over ICE/TCP (RFC 6544: Chromium's active TCP
// candidate to the server's passive one on port 7881), and sees and hears a page on an open
// network, which sees and hears it. The blocked page's selected candidate pairs must be TCP on
// both PeerConnections, the open page's UDP. Each page's time from join to its first decoded
// remote frame is reported (not asserted: the machine is shared).
//
// Lab: netlab.sh's sbsrv (server on 10.77.0.1) and two client namespaces, sbc1 (open) and sbc2
// (block_udp: silent drops both ways, as a firewall on the path). Report: stdout
// (`REACHABILITY_REPORT {json}`) and $ARTIFACTS_DIR/reachability-report.json.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const { ARTIFACTS, Worker, mint, nl } = require('./lab.js');

const ROOM = 'reach';
const DECODE_WITHIN_S = 25;

// ---- functions that run in the pages ----

/** Inbound totals per kind, the selected candidate pair of each PC, and the first-frame time. */
async function pageSample() {
  const { publisher, subscriber } = await window.room.getStats();
  const selected = (report) => {
    if (!report) return null;
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
    });
    if (!pair) report.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    if (!pair) return null;
    const local = report.get(pair.localCandidateId) ?? {};
    const remote = report.get(pair.remoteCandidateId) ?? {};
    return { local: local.protocol ?? null, localType: local.candidateType ?? null, tcpType: local.tcpType ?? null,
      remote: remote.protocol ?? null, remotePort: remote.port ?? null };
  };
  const inbound = { audio: { packets: 0 }, video: { packets: 0, frames: 0 } };
  subscriber?.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    inbound[s.kind].packets += s.packetsReceived ?? 0;
    if (s.kind === 'video') inbound.video.frames += s.framesDecoded ?? 0;
  });
  return {
    t: Date.now(),
    inbound,
    pairs: { publisher: selected(publisher), subscriber: selected(subscriber) },
    firstFrameMs: window.firstFrameAt === null ? null : Math.round(window.firstFrameAt - window.joinStartedAt),
  };
}

describe('netlab: a page behind a UDP-blocking firewall joins over ICE/TCP', { timeout: 120_000 }, () => {
  const names = { open: 'sbc1', blocked: 'sbc2' };
  const workers = {};
  const report = { started: new Date().toISOString(), pages: {} };

  before(async () => {
    nl('netlab_up sbc1 sbc2 && server_start && block_udp sbc2');
    for (const [name, ns] of Object.entries(names)) workers[name] = new Worker(name, ns);
    await Promise.all(Object.values(workers).map((w) => w.call('launch', { viewport: { width: 480, height: 600 } }, 30_000)));
  });

  after(async () => {
    report.finished = new Date().toISOString();
    fs.writeFileSync(path.join(ARTIFACTS, 'reachability-report.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`REACHABILITY_REPORT ${JSON.stringify(report)}`);
    await Promise.all(Object.values(workers).map((w) => w.close()));
    try { nl('teardown', 30_000); } catch (err) { console.error(`teardown: ${err.message}`); }
  });

  it('both pages see and hear each other; the blocked one over TCP, the open one over UDP', async () => {
    for (const [name, w] of Object.entries(workers)) {
      const r = await w.eval((t) => window.startCall(t), mint(name, ROOM), 30_000);
      assert.ok(['joining', 'connected'].includes(r.state), `${name} joined: ${JSON.stringify(r)}`);
    }
    // Media flows both ways: video frames decode and audio packets arrive, measured over 3 s
    // once each page has its first frame.
    const sample = async () => Object.fromEntries(await Promise.all(Object.entries(workers)
      .map(async ([n, w]) => [n, await w.eval(pageSample, null, 10_000)])));
    const since = Date.now();
    let s = await sample();
    while (!Object.values(s).every((p) => p.inbound.video.frames > 0) && Date.now() - since < DECODE_WITHIN_S * 1000) {
      await sleep(500);
      s = await sample();
    }
    await sleep(3000);
    const e = await sample();
    for (const name of Object.keys(workers)) {
      const [a, b] = [s[name], e[name]];
      const dt = (b.t - a.t) / 1000;
      report.pages[name] = {
        firstFrameMs: b.firstFrameMs,
        fps: Math.round((10 * (b.inbound.video.frames - a.inbound.video.frames)) / dt) / 10,
        audioPacketsPerS: Math.round((b.inbound.audio.packets - a.inbound.audio.packets) / dt),
        pairs: b.pairs,
      };
    }
    const failures = [];
    for (const [name, p] of Object.entries(report.pages)) {
      if (!(p.fps >= 5)) failures.push(`${name} decodes the other's video at ${p.fps} fps (want >= 5)`);
      if (!(p.audioPacketsPerS >= 20)) failures.push(`${name} receives ${p.audioPacketsPerS} audio packets/s (want >= 20)`);
    }
    const want = { open: 'udp', blocked: 'tcp' };
    for (const [name, proto] of Object.entries(want)) {
      for (const [pc, pair] of Object.entries(report.pages[name].pairs)) {
        if (pair?.local !== proto || pair?.remote !== proto) {
          failures.push(`${name} ${pc} PC's selected pair is ${JSON.stringify(pair)} (want ${proto} both ends)`);
        }
      }
    }
    const tcpPorts = Object.values(report.pages.blocked.pairs).map((p) => p?.remotePort);
    if (!tcpPorts.every((port) => port === 7881)) failures.push(`blocked page reached TCP ports ${tcpPorts} (want 7881)`);
    assert.ok(failures.length === 0, `\n  ${failures.join('\n  ')}\n  report: ${JSON.stringify(report.pages)}`);
  });
});
