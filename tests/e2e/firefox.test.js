// Firefox ESR and Chromium in one room, both through the SDK (pages/sdk-recorder.js): each sees
// and hears the other, and a screen share from each browser arrives at the other labelled as a
// screen (Firefox's MediaStreamTrack ids differ from its SDP a=msid track ids: the sources are
// keyed by the offer's a=msid). Screen shares are canvas captures published with
// publishScreen(track), so no screen-capture picker is needed. The time from startRoom to the
// first remote frame shown is reported per browser (FIREFOX_MIXED line).

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { devToken, launchParticipant, openRecorderPage, startServer, waitFor } = require('./lib/harness');
const { firefoxAvailable, launchFirefox } = require('./lib/firefox');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7970;
const UDP_PORT = 7972;
const ROOM = 'mixed';

/** Inbound video frames decoded and audio packets received, and the first-frame time. */
async function pageInbound() {
  const { subscriber } = await window.room.getStats();
  const out = { frames: 0, audioPackets: 0 };
  subscriber?.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'video') out.frames += s.framesDecoded ?? 0;
    if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
  });
  out.firstFrameMs = window.firstFrameAt === null ? null : Math.round(window.firstFrameAt - window.joinStartedAt);
  return out;
}

/** Publishes a 640×360 canvas animation as the screen share. */
async function pageShareCanvas() {
  const canvas = Object.assign(document.createElement('canvas'), { width: 640, height: 360 });
  const ctx = canvas.getContext('2d');
  let n = 0;
  window.canvasTimer = setInterval(() => {
    ctx.fillStyle = `hsl(${(n += 7) % 360} 70% 50%)`;
    ctx.fillRect(0, 0, 640, 360);
    ctx.fillStyle = '#fff';
    ctx.fillText(String(n), 20, 40);
  }, 50);
  const [track] = canvas.captureStream(20).getVideoTracks();
  await window.room.localParticipant.publishScreen(track);
  return true;
}

describe('Firefox and Chromium in one room', { timeout: 120_000 }, () => {
  let server;
  let chrome;
  let firefox;
  const ids = {};

  before(async () => {
    assert.ok(firefoxAvailable(), 'Firefox ESR is missing: apt-get install firefox-esr (scripts/test-all.sh installs it)');
    server = await startServer({ label: 'firefox-mixed', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    [chrome, firefox] = await Promise.all([launchParticipant('Chromium-mixed'), launchFirefox('Firefox-mixed')]);
    for (const p of [chrome, firefox]) await openRecorderPage(p.page, server.url);
  });

  after(async () => {
    await Promise.all([chrome, firefox].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  const events = (who, event) => who.page.evaluate((e) => window.events.filter((x) => x.event === e), event);

  it('each browser sees and hears the other', async () => {
    for (const [name, who] of [['Chromium', chrome], ['Firefox', firefox]]) {
      const t = await devToken(server.url, ROOM, name);
      ids[name] = t.identity;
      const r = await who.page.evaluate((token) => window.startCall(token), t.token);
      assert.ok(['joining', 'connected'].includes(r.state), `${name} joined: ${JSON.stringify(r)}`);
    }
    const inbound = (who) => who.page.evaluate(pageInbound);
    await waitFor(async () => {
      const [c, f] = await Promise.all([inbound(chrome), inbound(firefox)]);
      return c.frames > 10 && f.frames > 10 && c.audioPackets > 50 && f.audioPackets > 50;
    }, { timeout: 25_000, interval: 500, describe: () => 'video frames and audio packets both ways' });
    const [c, f] = await Promise.all([inbound(chrome), inbound(firefox)]);
    console.log(`FIREFOX_MIXED ${JSON.stringify({ firstFrameMs: { chromium: c.firstFrameMs, firefox: f.firstFrameMs }, userAgent: firefox.userAgent })}`);
  });

  it('a screen share from each browser arrives at the other as a screen, not a second camera', async () => {
    for (const [sharer, viewer, name] of [[firefox, chrome, 'Firefox'], [chrome, firefox, 'Chromium']]) {
      assert.equal(await sharer.page.evaluate(pageShareCanvas), true);
      const got = await waitFor(async () => (await events(viewer, 'trackSubscribed'))
        .find((e) => e.participant === ids[name] && e.kind === 'video' && e.source === 'screen'),
      { timeout: 15_000, describe: () => `${viewer === chrome ? 'Chromium' : 'Firefox'} never got ${name}'s screen` });
      assert.equal(got.source, 'screen');
      const cameras = (await events(viewer, 'trackSubscribed')).filter((e) => e.participant === ids[name] && e.kind === 'video' && e.source !== 'screen');
      assert.deepEqual(cameras.map((e) => e.source), ['camera'], `${name}'s videos at the other: ${JSON.stringify(cameras)}`);
    }
  });
});
