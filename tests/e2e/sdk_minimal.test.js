// The SDK's minimal example (/examples/minimal.html, the SDK alone) and the built-in client in one
// room: both decode each other's video, and the example names the other participant.

const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const { inboundStreams, joinThroughForm, launchParticipant, startServer, waitFor, waitJoined } = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7930;
const UDP_PORT = 7932;
const ROOM = 'sdk-minimal';

describe('the SDK\'s minimal example beside the built-in client', { timeout: 120_000 }, () => {
  let server;
  let mini; // /examples/minimal.html
  let builtin; // the built-in call page

  before(async () => {
    server = await startServer({ label: 'sdk-minimal', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    [mini, builtin] = await Promise.all([launchParticipant('Mini'), launchParticipant('Builtin')]);
  });

  after(async () => {
    await Promise.all([mini, builtin].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  /** Frames decoded per inbound video stream of the example page's subscriber PC. */
  const miniDecoded = () => mini.page.evaluate(async () => {
    const { subscriber } = await window.room.getStats();
    const frames = [];
    subscriber?.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames.push(s.framesDecoded ?? 0); });
    return frames;
  });

  /** Resolves when `probe()` (a list of frame counts) shows a stream whose count rose. */
  const rising = async (probe, what) => {
    let last;
    await waitFor(async () => {
      const first = await probe();
      await sleep(700);
      const second = await probe();
      last = [first, second];
      return second.some((n, i) => n > 0 && n > (first[i] ?? 0));
    }, { timeout: 20_000, describe: () => `${what}: no video frames decoded: ${JSON.stringify(last)}` });
  };

  it('both join: the example with the SDK alone, the other through the form', async () => {
    await mini.page.goto(`${server.url}/examples/minimal.html?room=${ROOM}&name=Mini`);
    await mini.page.waitForFunction(() => window.room?.state === 'connected', null, { timeout: 15_000 });
    mini.sid = await mini.page.evaluate(() => window.room.localParticipant.sid);
    await joinThroughForm(builtin.page, server.url, ROOM, 'Builtin');
    builtin.sid = await waitJoined(builtin.page);
    assert.notEqual(mini.sid, builtin.sid);
  });

  it('each decodes the other\'s video', async () => {
    const builtinFromMini = async () => (await inboundStreams(builtin.page))
      .filter((s) => s.owner === mini.sid && s.kind === 'video').map((s) => s.framesDecoded);
    await Promise.all([
      rising(miniDecoded, 'the example page from the built-in client'),
      rising(builtinFromMini, 'the built-in client from the example page'),
    ]);
    const caption = mini.page.locator('figcaption', { hasText: 'Builtin' });
    await caption.waitFor({ state: 'visible', timeout: 5000 });
    await mini.page.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => v.videoWidth > 0),
      null, { timeout: 10_000 });
    assert.equal(await mini.page.locator('video').count(), 2, 'the example shows its own and the other\'s video');
  });

  it('the example drops the other\'s video when it leaves', async () => {
    await builtin.page.getByRole('button', { name: 'Leave' }).click();
    await mini.page.locator('figcaption', { hasText: 'Builtin' }).waitFor({ state: 'detached', timeout: 5000 });
    assert.equal(await mini.page.evaluate(() => window.room.participants.size), 0);
  });
});
