// Moderation through the admin API, seen from two browsers in room "mod": a moderator's mute stops
// the participant's audio at the server (video keeps flowing) and locks its microphone control;
// a removal ends the participant's call with the moderator's reason and takes it off the other page.

const assert = require('node:assert/strict');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const {
  adminRequest, adminToken, artifactsDir, inboundStreams, joinThroughForm, launchParticipant,
  startServer, waitFor, waitJoined, waitTileGone,
} = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7900;
const UDP_PORT = 7902;
const ROOM = 'mod';

describe('moderation through the admin API', { timeout: 120_000 }, () => {
  let server;
  let token;
  let alice; // participant 1: muted, then removed
  let bob; // participant 2: watches

  before(async () => {
    server = await startServer({ label: 'moderation', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    token = adminToken();
    alice = await launchParticipant('Alice-mod');
    bob = await launchParticipant('Bob-mod');
  });

  after(async () => {
    await Promise.all([alice, bob].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  /** Alice's inbound audio and video streams on Bob's page (the ones playing in Alice's tile). */
  const aliceOnBob = async () => {
    const streams = (await inboundStreams(bob.page)).filter((s) => s.owner === alice.sid);
    return { audio: streams.find((s) => s.kind === 'audio'), video: streams.find((s) => s.kind === 'video') };
  };

  it('two pages join room "mod" through the form and receive each other', async () => {
    await Promise.all([
      joinThroughForm(alice.page, server.url, ROOM, 'Alice'),
      joinThroughForm(bob.page, server.url, ROOM, 'Bob'),
    ]);
    for (const p of [alice, bob]) {
      p.sid = await waitJoined(p.page);
      p.identity = await p.page.evaluate(() => window.switchboard.identity);
    }
    let last;
    await waitFor(async () => {
      last = await aliceOnBob();
      return last.audio?.bytesReceived > 0 && last.video?.framesDecoded > 0;
    }, { timeout: 20_000, describe: () => `Bob receives no audio and video from Alice after 20 s: ${JSON.stringify(last)}` });
  });

  it('a moderator\'s audio mute locks Alice\'s mic control and stops her audio, not her video', async () => {
    // Audio must be flowing first, or "stopped" below would prove nothing.
    const before1 = await aliceOnBob();
    await sleep(1000);
    const before2 = await aliceOnBob();
    assert.ok(before2.audio.bytesReceived > before1.audio.bytesReceived,
      `Alice's audio flows to Bob before the mute: ${JSON.stringify([before1.audio, before2.audio])}`);

    const res = await adminRequest(server.url, token, 'POST',
      `/rooms/${ROOM}/participants/${encodeURIComponent(alice.identity)}/mute`, { kind: 'audio', muted: true });
    assert.ok(res.body.tracks.some((t) => t.kind === 'audio' && t.muted), `the API reports the mute: ${JSON.stringify(res.body)}`);

    const { page } = alice;
    const notice = page.locator('#notices .notice', { hasText: 'Muted by moderator' });
    await notice.waitFor({ state: 'visible', timeout: 5000 });
    const mic = page.getByRole('button', { name: 'Mute mic' });
    assert.equal(await mic.isDisabled(), true, 'the mic control is disabled');
    assert.equal(await mic.getAttribute('aria-pressed'), 'true', 'the mic control shows muted');
    assert.match(await mic.getAttribute('title') ?? '', /Muted by moderator/, 'the locked control says why');
    assert.equal(await page.getByRole('button', { name: 'Stop camera' }).isDisabled(), false, 'the camera control is not locked');
    const state = await page.evaluate(() => ({
      mutedBy: window.switchboard.mutedBy,
      notices: window.switchboard.notices,
      audioSending: window.switchboard.publisher.getSenders().find((s) => s.track?.kind === 'audio')?.track.enabled,
    }));
    assert.ok(state.mutedBy.audio, `mutedBy.audio names the moderator: ${JSON.stringify(state)}`);
    assert.equal(state.mutedBy.video, null, 'video is not muted by anyone');
    assert.ok(state.notices.some((n) => n.text.startsWith('Muted by moderator')), JSON.stringify(state.notices));
    assert.equal(state.audioSending, false, 'the local microphone track is disabled');
    await page.screenshot({ path: path.join(artifactsDir(), 'moderation-muted.png') });

    // Bob sees the badge, then (after a grace period for packets in flight) no more audio bytes.
    await bob.page.locator(`#grid .tile[data-sid="${alice.sid}"] .badge-mic-muted`).waitFor({ state: 'visible', timeout: 5000 });
    await sleep(1500);
    const first = await aliceOnBob();
    await sleep(1000);
    const second = await aliceOnBob();
    assert.equal(second.audio.bytesReceived, first.audio.bytesReceived,
      `no audio from Alice reaches Bob while muted: ${JSON.stringify([first.audio, second.audio])}`);
    assert.ok(second.video.framesDecoded > first.video.framesDecoded,
      `Alice's video still decodes on Bob's page: ${JSON.stringify([first.video, second.video])}`);
    await bob.page.screenshot({ path: path.join(artifactsDir(), 'moderation-peer-sees-muted.png') });
  });

  it('removing Alice with a reason ends her call and takes her off Bob\'s page within 5 s', async () => {
    await adminRequest(server.url, token, 'DELETE',
      `/rooms/${ROOM}/participants/${encodeURIComponent(alice.identity)}?reason=Bye`);
    const { page } = alice;
    await page.getByRole('alert').filter({ hasText: 'You were removed: Bye' }).waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await page.evaluate(() => window.switchboard.state), 'removed');
    assert.ok(await page.getByRole('button', { name: 'Join' }).isVisible(), 'Alice is back at the form');
    await page.screenshot({ path: path.join(artifactsDir(), 'moderation-removed.png') });
    await waitTileGone(bob.page, alice.sid, 5000);
  });
});
