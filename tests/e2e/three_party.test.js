// Three people in one room, each in their own headless Chromium, against the real server binary:
// everyone receives both others' audio and video over the server's single UDP port, a Leave and a
// browser crash are both seen by the remaining participants. Ends with one JSON line of numbers.

const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const {
  inboundStreams, joinThroughForm, launchParticipant, metricSum, screenshot,
  selectedRemoteCandidates, startServer, waitFor, waitJoined, waitTileGone,
} = require('./lib/harness');

const HTTP_PORT = 7880;
const UDP_PORT = 7882;
const RESUME_WINDOW_S = 3;
const ROOM = 'e2e';
const NAMES = ['Alice', 'Bob', 'Carol'];

describe('three participants in one room', { timeout: 180_000 }, () => {
  let server;
  const people = {}; // name -> { ...participant from launchParticipant, sid }
  const firstFrameMs = {};

  before(async () => {
    // A short resume window: a killed browser waits for a resume this long before it leaves.
    server = await startServer({ label: 'three-party', httpPort: HTTP_PORT, udpPort: UDP_PORT, args: ['--resume-window-s', String(RESUME_WINDOW_S)] });
    for (const name of NAMES) people[name] = await launchParticipant(name);
  });

  after(async () => {
    await Promise.all(Object.values(people).map((p) => p.close()));
    await server?.stop();
  });

  const others = (name) => NAMES.filter((n) => n !== name);

  it('joins three pages through the form', async () => {
    await Promise.all(NAMES.map((name) => joinThroughForm(people[name].page, server.url, ROOM, name)));
    for (const name of NAMES) people[name].sid = await waitJoined(people[name].page);
    assert.equal(new Set(NAMES.map((n) => people[n].sid)).size, 3, 'every participant has its own sid');
  });

  it('everyone decodes both others\' video and receives both others\' audio', async () => {
    await Promise.all(NAMES.map(async (name) => {
      const { page } = people[name];
      const expectedOwners = others(name).map((n) => people[n].sid).sort();
      const flowing = (streams, kind, field) => streams.filter((s) => s.kind === kind && s[field] > 0);
      let streams = [];
      const first = await waitFor(async () => {
        streams = await inboundStreams(page);
        const video = flowing(streams, 'video', 'framesDecoded');
        const audio = flowing(streams, 'audio', 'bytesReceived');
        return video.length >= 2 && audio.length >= 2 ? streams : null;
      }, {
        timeout: 20_000,
        describe: () => `${name}: fewer than 2 decoding video and 2 audio streams after 20 s: ${JSON.stringify(streams)}`,
      });
      await sleep(2000);
      const second = await inboundStreams(page);
      const earlier = new Map(first.map((s) => [s.ssrc, s]));

      for (const [kind, field] of [['video', 'framesDecoded'], ['audio', 'bytesReceived']]) {
        const streams = flowing(first, kind, field);
        assert.equal(streams.length, 2, `${name}: exactly 2 ${kind} streams flow: ${JSON.stringify(first)}`);
        assert.deepEqual(streams.map((s) => s.owner).sort(), expectedOwners,
          `${name}: the ${kind} streams play in the tiles of ${others(name)}: ${JSON.stringify(first)}`);
        for (const s of streams) {
          const now = second.find((x) => x.ssrc === s.ssrc);
          assert.ok(now && now[field] > earlier.get(s.ssrc)[field],
            `${name}: ${kind} ssrc ${s.ssrc} ${field} rose in 2 s (${s[field]} -> ${now?.[field]})`);
        }
      }
      for (const other of others(name)) {
        await page.locator('#grid .tile-name', { hasText: other }).waitFor({ state: 'visible', timeout: 5000 });
      }
      const t = await page.evaluate(() => window.switchboard.timings);
      assert.ok(t.firstFrameDecoded > t.wsOpen, `${name}: first frame timing recorded: ${JSON.stringify(t)}`);
      firstFrameMs[name] = Math.round(t.firstFrameDecoded - t.wsOpen);
    }));
  });

  it('all media uses the server\'s one UDP port', async () => {
    for (const name of NAMES) {
      const remote = await selectedRemoteCandidates(people[name].page);
      for (const pc of ['publisher', 'subscriber']) {
        assert.ok(remote[pc], `${name}: ${pc} PC has a selected candidate pair`);
        assert.equal(remote[pc].protocol, 'udp', `${name}: ${pc} over UDP: ${JSON.stringify(remote[pc])}`);
        assert.equal(remote[pc].address, '127.0.0.1', `${name}: ${pc} server address: ${JSON.stringify(remote[pc])}`);
        assert.equal(remote[pc].port, UDP_PORT, `${name}: ${pc} server port: ${JSON.stringify(remote[pc])}`);
      }
    }
  });

  it('saves a screenshot of a three-tile call, Bob\'s hand raised', async () => {
    const { page } = people.Alice;
    await page.waitForFunction(() => {
      const videos = [...document.querySelectorAll('#grid .tile video')];
      return videos.length === 3 && videos.every((v) => v.videoWidth > 0);
    }, null, { timeout: 10_000 });
    await people.Bob.page.getByRole('button', { name: 'Raise hand' }).click();
    await page.locator(`#grid .tile[data-sid="${people.Bob.sid}"] .badge-hand`).waitFor({ state: 'visible', timeout: 5000 });
    await screenshot(page, 'three-party', { docs: true });
  });

  it('a participant who clicks Leave disappears from the others within 5 s', async () => {
    const carol = people.Carol;
    await carol.page.getByRole('button', { name: 'Leave' }).click();
    await carol.page.waitForFunction(() => window.switchboard.state === 'left', null, { timeout: 5000 });
    assert.ok(await carol.page.getByRole('button', { name: 'Join' }).isVisible(), 'Carol is back at the form');
    await Promise.all(['Alice', 'Bob'].map((name) => waitTileGone(people[name].page, carol.sid, 5000)));
  });

  it('a participant whose browser is killed shows reconnecting within 5 s, then disappears after its resume window', async () => {
    people.Bob.kill();
    const bob = people.Bob.sid;
    await people.Alice.page.waitForFunction((sid) => window.switchboard.participants[sid]?.state === 'reconnecting'
      && document.querySelector(`#grid .tile[data-sid="${CSS.escape(sid)}"] .badge-reconnecting`)?.hidden === false, bob, { timeout: 5000 });
    await waitTileGone(people.Alice.page, bob, RESUME_WINDOW_S * 1000 + 5000);
    assert.deepEqual(await people.Alice.page.evaluate(() => Object.keys(window.switchboard.participants)), [],
      'Alice is alone in the room');
  });

  it('reports timings and forwarding counters', async () => {
    const report = {
      test: 'three_party',
      first_frame_decoded_after_ws_open_ms: firstFrameMs,
      packets_forwarded_total: await metricSum(server.url, 'switchboard_packets_forwarded_total'),
      packets_dropped_total: await metricSum(server.url, 'switchboard_packets_dropped_total'),
    };
    console.log(JSON.stringify(report));
    assert.equal(Object.keys(firstFrameMs).length, 3, 'a first-frame time for every page');
  });
});
