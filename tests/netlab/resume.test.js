// Calls that survive a network loss, in real Chromium (run by tests/netlab/run.sh, as root).
// Two pages publish camera and microphone and watch each other: watcher (sbc1) and flapper
// (sbc2). A moderator mutes the flapper's microphone. Then the flapper's link (eth0) goes down:
//   8 s   the watcher never sees it leave or join again: the server shows it `reconnecting`, then
//         `connected`; the flapper keeps its sid, the moderator's mute still holds, and video
//         flows both ways again within 3 s of the link coming back (time reported).
//   30 s  the server removes it (ICE fails after ice_timeout_s); when the link is back the page
//         joins again as a new participant (new sid) and says so (`reconnected{resumed:false}`).
// Last, the flapper's address changes (10.77.0.3 -> 10.77.0.13): it stays the same participant and
// its media flows on from the new address (its ICE checks from there re-select the pair).
// Report: stdout (`RESUME_REPORT {json}`) and $ARTIFACTS_DIR/resume-report.json.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const { ARTIFACTS, Worker, adminGet, adminPost, adminTok, mint, nl } = require('./lab.js');

const ROOM = 'resume';
const BACK_WITHIN_MS = 3000;

// ---- functions that run in the pages ----

/** Video frames decoded from the other page so far, our sid, state, and the events since `since`. */
async function pageState(since) {
  const { subscriber } = await window.room.getStats();
  let frames = 0;
  subscriber?.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0; });
  const events = (window.events ?? []).filter((e) => e.at >= since
    && ['participantJoined', 'participantLeft', 'reconnecting', 'reconnected', 'joined', 'stateChanged'].includes(e.event))
    .map((e) => ({ event: e.event, participant: e.participant ?? null, resumed: e.resumed ?? null, state: e.state ?? null, resuming: e.resuming ?? null }));
  return { frames, sid: window.room.localParticipant.sid, state: window.room.state, events };
}

describe('netlab: a page whose link goes down resumes its call', { timeout: 200_000 }, () => {
  const names = { watcher: 'sbc1', flapper: 'sbc2' };
  const workers = {};
  const report = { started: new Date().toISOString() };
  let admin = null;

  const state = (name, since = 0) => workers[name].eval(pageState, since, 10_000);
  const serverView = () => adminGet(admin, `/rooms/${ROOM}/participants/flapper`);
  /** Polls until both pages decoded more video frames than `base` ({watcher, flapper}); ms taken. */
  const untilVideoFlows = async (base, timeoutMs) => {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const [w, f] = await Promise.all([state('watcher'), state('flapper')]);
      if (w.frames > base.watcher && f.frames > base.flapper) return Date.now() - t0;
      await sleep(200);
    }
    return null;
  };
  const frames = async () => ({ watcher: (await state('watcher')).frames, flapper: (await state('flapper')).frames });
  const link = (up) => nl(`ip -n sbc2 link set eth0 ${up ? 'up' : 'down'}`);

  before(async () => {
    nl('netlab_up sbc1 sbc2 && server_start');
    admin = adminTok();
    for (const [name, ns] of Object.entries(names)) workers[name] = new Worker(name, ns);
    await Promise.all(Object.values(workers).map((w) => w.call('launch', { viewport: { width: 480, height: 600 } }, 30_000)));
    for (const [name, w] of Object.entries(workers)) {
      const r = await w.eval((t) => window.startCall(t), mint(name, ROOM), 30_000);
      assert.ok(['joining', 'connected'].includes(r.state), `${name} joined: ${JSON.stringify(r)}`);
    }
    assert.notEqual(await untilVideoFlows({ watcher: 0, flapper: 0 }, 20_000), null, 'both pages decode video before the outage');
  });

  after(async () => {
    report.finished = new Date().toISOString();
    fs.writeFileSync(path.join(ARTIFACTS, 'resume-report.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`RESUME_REPORT ${JSON.stringify(report)}`);
    try { link(true); } catch { /* the lab goes anyway */ }
    await Promise.all(Object.values(workers).map((w) => w.close()));
    try { nl('teardown', 30_000); } catch (err) { console.error(`teardown: ${err.message}`); }
  });

  it('8 s down: reconnecting then connected for the others, same sid, the mute holds, media back within 3 s', async () => {
    const muted = adminPost(admin, `/rooms/${ROOM}/participants/flapper/mute`, { kind: 'audio', muted: true });
    assert.ok(!muted.error && muted.identity === 'flapper', `moderator mute: ${JSON.stringify(muted)}`);
    const before = await state('flapper');
    const since = Date.now();
    link(false);
    const seen = new Set();
    while (Date.now() - since < 8000) {
      const view = serverView();
      if (view.state) seen.add(view.state);
      await sleep(500);
    }
    const base = await frames();
    link(true);
    const backMs = await untilVideoFlows(base, 20_000);
    let view = serverView();
    for (let i = 0; i < 40 && view.state !== 'connected'; i += 1) {
      if (view.state) seen.add(view.state);
      await sleep(250);
      view = serverView();
    }
    seen.add(view.state);
    const [w, f] = await Promise.all([state('watcher', since), state('flapper', since)]);
    const audio = (view.tracks ?? []).find((t) => t.kind === 'audio');
    report.outage8s = { serverStates: [...seen], videoBackMs: backMs, watcherEvents: w.events, flapperEvents: f.events,
      sidBefore: before.sid, sidAfter: f.sid, audio };
    const failures = [];
    if (!seen.has('reconnecting')) failures.push(`the server never showed the flapper reconnecting (states ${[...seen]})`);
    if (view.state !== 'connected') failures.push(`the flapper is ${view.state} after the outage, not connected`);
    const churn = w.events.filter((e) => ['participantJoined', 'participantLeft'].includes(e.event) && e.participant === 'flapper');
    if (churn.length) failures.push(`the watcher saw the flapper leave or join: ${JSON.stringify(churn)}`);
    if (f.sid !== before.sid) failures.push(`the flapper's sid changed: ${before.sid} -> ${f.sid}`);
    if (!(audio?.muted && audio?.muted_by)) failures.push(`the moderator's mute does not hold: ${JSON.stringify(audio)}`);
    if (backMs === null || backMs > BACK_WITHIN_MS) failures.push(`video flowed again ${backMs} ms after the link came back (want <= ${BACK_WITHIN_MS})`);
    assert.ok(failures.length === 0, `\n  ${failures.join('\n  ')}\n  ${JSON.stringify(report.outage8s)}`);
  });

  it('30 s down: removed; once back the page joins as a new participant and says so', async () => {
    const before = await state('flapper');
    const since = Date.now();
    link(false);
    let gone = null;
    while (Date.now() - since < 28_000) {
      const view = serverView();
      if (view.error || !view.state) { gone ??= Date.now() - since; }
      await sleep(1000);
    }
    await sleep(Math.max(0, 30_000 - (Date.now() - since)));
    link(true);
    const upAt = Date.now();
    let f = await state('flapper', since);
    while (Date.now() - upAt < 40_000 && !(f.events.some((e) => e.event === 'reconnected') && f.sid !== before.sid && f.state === 'connected')) {
      await sleep(500);
      f = await state('flapper', since);
    }
    const w = await state('watcher', since);
    report.outage30s = { removedAfterMs: gone, rejoinedAfterMs: Date.now() - upAt, flapperEvents: f.events, watcherEvents: w.events,
      sidBefore: before.sid, sidAfter: f.sid };
    const failures = [];
    if (gone === null) failures.push('the server still had the flapper after 28 s down');
    if (f.sid === before.sid) failures.push('the flapper kept its sid: it should be a new participant');
    const told = f.events.find((e) => e.event === 'reconnected');
    if (!told || told.resumed !== false) failures.push(`the page did not say it rejoined as new: ${JSON.stringify(f.events)}`);
    if (!w.events.some((e) => e.event === 'participantLeft' && e.participant === 'flapper')) failures.push('the watcher never saw the flapper leave');
    if (!w.events.some((e) => e.event === 'participantJoined' && e.participant === 'flapper')) failures.push('the watcher never saw the flapper join again');
    assert.ok(failures.length === 0, `\n  ${failures.join('\n  ')}\n  ${JSON.stringify(report.outage30s)}`);
  });

  it('a new address (the veth moves to another IP) keeps the call: same participant, media flows on', async () => {
    const before = await state('flapper');
    const since = Date.now();

    // The old address goes, a new one comes, as on a move from one network to another.
    // (Deleted first: deleting a primary address also deletes the secondaries of its subnet.)
    nl('ip -n sbc2 addr del 10.77.0.3/24 dev eth0 && ip -n sbc2 addr add 10.77.0.13/24 dev eth0');
    // Back when the server hears the flapper from its new address, connected.
    let view = serverView();
    while (Date.now() - since < 30_000 && !(view.state === 'connected' && String(view.remote_address ?? '').startsWith('10.77.0.13:'))) {
      await sleep(250);
      view = serverView();
    }
    const movedMs = Date.now() - since;

    const backMs = await untilVideoFlows(await frames(), 10_000);
    const [w, f] = await Promise.all([state('watcher', since), state('flapper', since)]);
    report.addressChange = { backOnNewAddressMs: movedMs, videoFlowsAfterMs: backMs, serverState: view.state,
      remoteAddress: view.remote_address ?? null, flapperEvents: f.events, watcherEvents: w.events, sidBefore: before.sid, sidAfter: f.sid };
    const failures = [];
    if (backMs === null) failures.push('video did not flow both ways once back on the new address');
    if (f.sid !== before.sid) failures.push(`the flapper became a new participant: ${before.sid} -> ${f.sid}`);
    if (view.state !== 'connected') failures.push(`the server shows the flapper ${view.state}`);
    if (!String(view.remote_address ?? '').startsWith('10.77.0.13:')) failures.push(`the server still sends to ${view.remote_address}`);
    const churn = w.events.filter((e) => ['participantJoined', 'participantLeft'].includes(e.event) && e.participant === 'flapper');
    if (churn.length) failures.push(`the watcher saw the flapper leave or join: ${JSON.stringify(churn)}`);
    assert.ok(failures.length === 0, `\n  ${failures.join('\n  ')}\n  ${JSON.stringify(report.addressChange)}`);
  });
});
