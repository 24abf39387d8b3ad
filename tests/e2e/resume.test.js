// Resume in real Chromium: a page whose WebSocket is cut (both TCP ends reset, as when a NAT or
// a proxy drops the connection) while its media keeps flowing. Its SDK reconnects with the
// resume token of its `joined`: the same participant (sid), the same PeerConnections, media
// never stops, and the other page sees no leave and no join. The page's signalling goes through
// a TCP relay in this test that can cut every connection it carries; its media goes to the
// server directly.

const assert = require('node:assert/strict');
const net = require('node:net');
const { after, before, describe, it } = require('node:test');
const { devToken, launchParticipant, openRecorderPage, startServer, waitFor } = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7960;
const UDP_PORT = 7962;
const RELAY_PORT = 7961;
const ROOM = 'resume';

/** A TCP relay to the server's HTTP port whose connections can all be reset at once. */
function startRelay(port, target) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({
    cut() {
      for (const s of sockets) s.resetAndDestroy();
    },
    close() {
      this.cut();
      return new Promise((r) => server.close(r));
    },
  })));
}

/** Video frames decoded and the PCs' identity, from the page's SDK. */
function pageMedia() {
  return window.room.getStats().then(({ subscriber }) => {
    let frames = 0;
    subscriber?.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0; });
    window.pcsAtStart ??= [window.room.engine.publisherPC, window.room.engine.subscriberPC];
    const samePcs = window.pcsAtStart[0] === window.room.engine.publisherPC && window.pcsAtStart[1] === window.room.engine.subscriberPC;
    return { frames, sid: window.room.localParticipant.sid, state: window.room.state, samePcs };
  });
}

describe('resume after a dropped WebSocket', { timeout: 120_000 }, () => {
  let server;
  let relay;
  let ann; // signalling through the relay
  let bob;

  before(async () => {
    server = await startServer({ label: 'resume', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    relay = await startRelay(RELAY_PORT, HTTP_PORT);
    [ann, bob] = await Promise.all([launchParticipant('Ann-resume'), launchParticipant('Bob-resume')]);
    for (const p of [ann, bob]) await openRecorderPage(p.page, server.url);
  });

  after(async () => {
    await Promise.all([ann, bob].filter(Boolean).map((p) => p.close()));
    await relay?.close();
    await server?.stop();
  });

  it('the page resumes: same sid and PCs, media goes on, the other sees no leave or join', async () => {
    const show = { width: 320, height: 240 };
    const { token: annToken, identity: annIdentity } = await devToken(server.url, ROOM, 'Ann');
    const bobToken = (await devToken(server.url, ROOM, 'Bob')).token;
    const started = await Promise.all([
      ann.page.evaluate(({ t, show, url }) => window.startRoom(t, { show, url }), { t: annToken, show, url: `http://127.0.0.1:${RELAY_PORT}` }),
      bob.page.evaluate(({ t, show }) => window.startRoom(t, { show }), { t: bobToken, show }),
    ]);
    for (const s of started) assert.ok(['joining', 'connected'].includes(s.state), JSON.stringify(s));
    const media = (p) => p.page.evaluate(pageMedia);
    await waitFor(async () => (await media(ann)).frames > 0 && (await media(bob)).frames > 0,
      { timeout: 20_000, describe: () => 'both pages decode video before the cut' });
    const before = await media(ann);
    const since = Date.now();
    relay.cut();
    const resumed = await waitFor(() => ann.page.evaluate((t) => window.events.find((e) => e.at >= t && e.event === 'reconnected'), since),
      { timeout: 15_000, describe: () => 'Ann never reconnected' });
    const resumeMs = resumed.at - since;
    console.log(`RESUME ws cut -> reconnected{resumed:${resumed.resumed}} in ${resumeMs} ms`);
    assert.equal(resumed.resumed, true, `resumed, not joined as new: ${JSON.stringify(resumed)}`);
    const annEvents = await ann.page.evaluate((t) => window.events.filter((e) => e.at >= t).map((e) => e.event), since);
    assert.ok(annEvents.includes('reconnecting'), JSON.stringify(annEvents));
    assert.ok(!annEvents.includes('participantLeft') && !annEvents.includes('participantJoined'), `Ann's view of Bob stays: ${annEvents}`);
    await waitFor(async () => (await media(ann)).state === 'connected', { timeout: 10_000, describe: () => 'Ann back to connected' });
    const after = await media(ann);
    assert.equal(after.sid, before.sid, 'the same participant');
    assert.ok(after.samePcs, 'the same PeerConnections');
    const bobAfter = await media(bob);
    await waitFor(async () => (await media(ann)).frames > after.frames && (await media(bob)).frames > bobAfter.frames,
      { timeout: 5_000, describe: () => 'video keeps flowing both ways' });
    const bobEvents = await bob.page.evaluate(({ t, who }) => window.events.filter((e) => e.at >= t && e.participant === who)
      .map((e) => e.event), { t: since, who: annIdentity });
    assert.ok(!bobEvents.includes('participantLeft') && !bobEvents.includes('participantJoined'), `Bob saw Ann leave or join: ${bobEvents}`);
  });
});
