// Simulcast and adaptive stream in real Chromium: an SDK page publishes a 1280×720 camera, which
// the SDK sends in three layers (q/h/f); two SDK pages receive it, one showing it in a 640×480 tile, one in a
// 160×120 tile. Each decodes the layer that fits its tile; the small one climbs to the full layer
// when its tile grows, gets nothing while the tile is hidden, and resumes when it is shown again.
// Dynacast: the layer no one receives stops at the publisher, and comes back when a tile needs it.
// The admin API names the layer each leg forwards.

const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const {
  adminRequest, adminToken, devToken, launchParticipant, openRecorderPage, startServer, waitFor,
} = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7950;
const UDP_PORT = 7952;
const ROOM = 'simulcast';

describe('simulcast and adaptive stream', { timeout: 180_000 }, () => {
  let server;
  let pub; // SDK page, publishing
  let big; // SDK page, 640×480 tile
  let small; // SDK page, 160×120 tile

  before(async () => {
    server = await startServer({ label: 'simulcast', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    [pub, big, small] = await Promise.all([launchParticipant('Pub'), launchParticipant('Big'), launchParticipant('Small')]);
  });

  after(async () => {
    await Promise.all([pub, big, small].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  /** The page's one inbound video stream: frame height, frames decoded, bytes. */
  const inboundVideo = (who) => who.page.evaluate(async () => {
    const { subscriber } = await window.room.getStats();
    let out = null;
    subscriber?.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out = { frameHeight: s.frameHeight ?? 0, framesDecoded: s.framesDecoded ?? 0, bytes: s.bytesReceived ?? 0 };
      }
    });
    return out;
  });

  /** Waits until `who` decodes frames `height` tall, frames still rising. */
  const decodesAt = async (who, height, timeout = 20_000) => {
    let last;
    await waitFor(async () => {
      const a = await inboundVideo(who);
      await sleep(500);
      const b = await inboundVideo(who);
      last = [a, b];
      return a && b && b.frameHeight === height && b.framesDecoded > a.framesDecoded;
    }, { timeout, describe: () => `${who.label}: not decoding ${height}p frames: ${JSON.stringify(last)}` });
  };

  /** Bytes sent so far per rid by the publisher. */
  const sentByRid = () => pub.page.evaluate(async () => {
    const out = {};
    (await window.room.engine.publisherPC.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') out[s.rid] = s.bytesSent ?? 0;
    });
    return out;
  });

  /** Waits until the publisher's layer `rid` sends (`on`) or stops sending (`!on`). */
  const layerSending = async (rid, on, timeout = 15_000) => {
    let last;
    await waitFor(async () => {
      const a = await sentByRid();
      await sleep(1000);
      const b = await sentByRid();
      last = [a, b];
      return on ? b[rid] > a[rid] : b[rid] === a[rid];
    }, { timeout, describe: () => `layer ${rid} ${on ? 'not sending' : 'still sending'}: ${JSON.stringify(last)}` });
  };

  const startSdkPage = async (who, name, show, simulcast = false) => {
    await openRecorderPage(who.page, server.url);
    const { token, identity } = await devToken(server.url, ROOM, name);
    who.identity = identity;
    const result = await who.page.evaluate(({ token, show, simulcast }) => window.startRoom(token, { publish: false, show, simulcast }), { token, show, simulcast });
    // A page that publishes nothing yet stays `joining` (no media connected) but receives.
    assert.ok(['joining', 'connected'].includes(result.state), `${name} joined: ${JSON.stringify(result)}`);
  };

  it('a 1280×720 camera goes out in three layers', async () => {
    await startSdkPage(pub, 'Pub', null, true);
    await pub.page.evaluate(async () => {
      const [track] = (await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } })).getVideoTracks();
      await window.room.localParticipant.publishCamera(track);
    });
    let layers;
    await waitFor(async () => {
      layers = await pub.page.evaluate(async () => {
        const out = {};
        (await window.room.engine.publisherPC.getStats()).forEach((s) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video') out[s.rid] = s.frameHeight ?? 0;
        });
        return out;
      });
      return layers.q > 0 && layers.h > 0 && layers.f > 0;
    }, { timeout: 20_000, describe: () => `publisher layers: ${JSON.stringify(layers)}` });
    assert.ok(layers.q < layers.h && layers.h < layers.f, `q < h < f: ${JSON.stringify(layers)}`);
    pub.layers = layers;
  });

  it('each subscriber decodes the layer that fits its tile', async () => {
    await Promise.all([
      startSdkPage(big, 'Big', { width: 640, height: 480 }),
      startSdkPage(small, 'Small', { width: 160, height: 120 }),
    ]);
    await Promise.all([decodesAt(big, pub.layers.f), decodesAt(small, pub.layers.q)]);
  });

  it('the admin API names the layer each leg forwards', async () => {
    const admin = adminToken();
    const layerOf = async (who) => {
      const view = await adminRequest(server.url, admin, 'GET', `/rooms/${ROOM}/participants/${who.identity}`);
      return view.body.subscriptions?.find((s) => s.stats?.layer !== undefined && s.stats?.layer !== null)?.stats ?? null;
    };
    let seen;
    await waitFor(async () => {
      seen = { big: await layerOf(big), small: await layerOf(small) };
      return seen.big?.layer === 2 && seen.small?.layer === 0;
    }, { timeout: 15_000, describe: () => `layers in the admin API: ${JSON.stringify(seen)}` });
    assert.equal(seen.small.frame_height, pub.layers.q);
  });

  it('each subscriber has a bandwidth estimate from its transport-wide feedback', async () => {
    // Chromium sends transport-cc feedback only for packets stamped with the extension: no
    // stamps, no estimate. On loopback the estimate stays high enough for the full layer.
    const admin = adminToken();
    let seen;
    await waitFor(async () => {
      const view = await adminRequest(server.url, admin, 'GET', `/rooms/${ROOM}/participants/${big.identity}`);
      seen = view.body.estimated_bitrate_bps;
      return typeof seen === 'number' && seen > 1_000_000;
    }, { timeout: 15_000, describe: () => `Big's estimated_bitrate_bps: ${seen}` });
  });

  it('dynacast: a layer no one receives is switched off at the publisher', async () => {
    await layerSending('h', false);
    await layerSending('q', true);
    await layerSending('f', true);
  });

  it('a tile that grows gets the full layer', async () => {
    await small.page.evaluate(() => {
      for (const v of document.querySelectorAll('video')) Object.assign(v.style, { width: '640px', height: '480px' });
    });
    await decodesAt(small, pub.layers.f);
  });

  it('a hidden tile gets no video, and gets it again once shown', async () => {
    await small.page.evaluate(() => {
      for (const v of document.querySelectorAll('video')) v.style.display = 'none';
    });
    let last;
    await waitFor(async () => {
      const a = await inboundVideo(small);
      await sleep(1000);
      const b = await inboundVideo(small);
      last = [a, b];
      return a && b && b.bytes === a.bytes;
    }, { timeout: 10_000, describe: () => `video kept flowing to a hidden tile: ${JSON.stringify(last)}` });
    const before = await inboundVideo(big);
    await sleep(1000);
    const after = await inboundVideo(big);
    assert.ok(after.framesDecoded > before.framesDecoded, 'the other subscriber is unaffected');
    await small.page.evaluate(() => {
      for (const v of document.querySelectorAll('video')) v.style.display = 'block';
    });
    await decodesAt(small, pub.layers.f);
  });

  it('a tile that needs the switched-off layer turns it back on', async () => {
    await small.page.evaluate(() => {
      for (const v of document.querySelectorAll('video')) Object.assign(v.style, { width: '400px', height: '300px' });
    });
    await layerSending('h', true);
    await decodesAt(small, pub.layers.h);
  });

  it('received audio carries the publisher\'s level (RFC 6464) in its header extension', async () => {
    // Chromium's getSynchronizationSources() reports audioLevel only from the extension: the
    // server must write it on the subscriber leg (with the id that leg negotiated).
    await pub.page.evaluate(async () => {
      const [track] = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks();
      await window.room.localParticipant.publish('microphone', track);
    });
    // Chromium fills getSynchronizationSources() as it plays audio out: play the received audio.
    await waitFor(() => big.page.evaluate(() => {
      const receiver = window.room.engine.subscriberPC.getReceivers().find((r) => r.track.kind === 'audio');
      if (!receiver) return false;
      const audio = Object.assign(document.createElement('audio'), { autoplay: true, muted: true });
      audio.srcObject = new MediaStream([receiver.track]);
      document.body.append(audio);
      return audio.play().then(() => true, () => true);
    }), { timeout: 15_000, describe: () => 'no audio receiver at the subscriber' });
    let seen;
    await waitFor(async () => {
      seen = await big.page.evaluate(async () => {
        const levels = window.room.engine.subscriberPC.getReceivers()
          .filter((r) => r.track.kind === 'audio')
          .flatMap((r) => r.getSynchronizationSources())
          .map((s) => s.audioLevel);
        let packets = 0;
        (await window.room.engine.subscriberPC.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived ?? 0;
        });
        return { levels, packets };
      });
      seen.levels = seen.levels.filter((l) => l !== undefined);
      return seen.levels.some((level) => typeof level === 'number' && level > 0);
    }, { timeout: 15_000, describe: () => `audio levels at the subscriber: ${JSON.stringify(seen)}` });
  });
});
