// The participant page's own features, two browsers in room "client": the pre-join preview with
// device pickers, chat with an unread badge, raised hands, screen sharing, switching the camera
// mid-call, keyboard use and phone width, and automatic reconnection after a server crash and
// after a graceful restart.

const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const {
  inboundStreams, launchParticipant, screenshot, startServer, waitFor, waitJoined,
} = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7920;
const UDP_PORT = 7922;
const ROOM = 'client';
// A one-second drain on SIGTERM, so a graceful restart fits the harness's stop().
const DRAIN_FAST = ['--drain-timeout-s', '1'];

describe('participant page', { timeout: 240_000 }, () => {
  let server;
  let alice;
  let bob;

  before(async () => {
    server = await startServer({ label: 'client', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    [alice, bob] = await Promise.all([launchParticipant('Alice-client'), launchParticipant('Bob-client')]);
  });

  after(async () => {
    await Promise.all([alice, bob].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  /** Inbound streams on `viewer`'s page playing in the tile with data-sid `owner`. */
  const from = async (viewer, owner) => (await inboundStreams(viewer.page)).filter((s) => s.owner === owner);

  /** Resolves when `viewer` decodes more frames from the tile `owner` than a moment ago. */
  const videoFlows = async (viewer, owner, what) => {
    let last;
    await waitFor(async () => {
      const first = (await from(viewer, owner)).find((s) => s.kind === 'video');
      await sleep(700);
      const second = (await from(viewer, owner)).find((s) => s.kind === 'video');
      last = [first, second];
      return first && second && second.framesDecoded > first.framesDecoded;
    }, { timeout: 20_000, describe: () => `${what}: no video frames decoded: ${JSON.stringify(last)}` });
  };

  it('pre-join shows a live camera preview and device pickers that switch it', async () => {
    const { page } = alice;
    await page.goto(`${server.url}/`);
    const form = page.locator('#join-form');
    await page.waitForFunction(() => document.getElementById('preview').videoWidth > 0, null, { timeout: 10_000 });
    const camera = form.getByLabel('Camera', { exact: true });
    const mic = form.getByLabel('Microphone', { exact: true });
    await waitFor(async () => (await camera.locator('option').count()) === 3,
      { timeout: 5000, describe: () => 'the camera picker does not list the three fake cameras' });
    assert.ok(await mic.locator('option').count() >= 2, 'the microphone picker lists the microphones');

    await page.getByLabel('Room').fill(ROOM);
    await page.getByLabel('Your name').pressSequentially('Alice'); // a key press lets the level meter start
    await page.waitForFunction(() => document.getElementById('mic-level').value > 0, null, { timeout: 5000 });
    await screenshot(page, 'prejoin', { docs: true });

    // fake_device_1 sends depth (Y16) frames that cannot be encoded: pick fake_device_2.
    const second = await camera.locator('option', { hasText: 'fake_device_2' }).getAttribute('value');
    await camera.selectOption(second);
    await page.waitForFunction((id) => document.getElementById('preview').srcObject?.getVideoTracks()[0]?.getSettings().deviceId === id,
      second, { timeout: 5000 });

    await page.getByRole('button', { name: 'Join' }).click();
    alice.sid = await waitJoined(page);
    const sending = await page.evaluate(() => window.switchboard.publisher.getSenders()
      .find((s) => s.track?.kind === 'video')?.track.getSettings().deviceId);
    assert.equal(sending, second, 'the call sends the camera picked before joining');
  });

  it('Bob joins and both receive each other', async () => {
    await bob.page.goto(`${server.url}/`);
    await bob.page.getByLabel('Room').fill(ROOM);
    await bob.page.getByLabel('Your name').fill('Bob');
    await bob.page.getByRole('button', { name: 'Join' }).click();
    bob.sid = await waitJoined(bob.page);
    await Promise.all([videoFlows(alice, bob.sid, 'Alice from Bob'), videoFlows(bob, alice.sid, 'Bob from Alice')]);
  });

  it('chat: a message reaches the other page, with an unread count until the panel opens', async () => {
    await alice.page.getByRole('button', { name: 'Chat' }).click();
    await alice.page.getByLabel('Message', { exact: true }).fill('Hello Bob');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await alice.page.locator('#chat-list', { hasText: 'Hello Bob' }).waitFor({ state: 'visible', timeout: 2000 });

    const bobChat = bob.page.getByRole('button', { name: /^Chat/ });
    await bob.page.getByRole('button', { name: 'Chat 1 unread' }).waitFor({ state: 'visible', timeout: 5000 });
    await bobChat.click();
    const message = bob.page.locator('#chat-list li', { hasText: 'Hello Bob' });
    await message.waitFor({ state: 'visible', timeout: 2000 });
    assert.match(await message.textContent(), /Alice/, 'the message names its sender');
    assert.equal(await bob.page.locator('#chat-unread').isVisible(), false, 'no unread count once open');

    // Bob answers with the keyboard only.
    await bob.page.keyboard.type('Hi Alice');
    await bob.page.keyboard.press('Enter');
    await alice.page.locator('#chat-list li', { hasText: 'Hi Alice' }).waitFor({ state: 'visible', timeout: 5000 });
    await bobChat.click(); // close again
  });

  it('raise hand: the hand shows on that participant\'s tile for everyone', async () => {
    const hand = bob.page.getByRole('button', { name: 'Raise hand' });
    await hand.focus();
    await bob.page.keyboard.press('Space');
    assert.equal(await hand.getAttribute('aria-pressed'), 'true');
    await alice.page.locator(`#grid .tile[data-sid="${bob.sid}"] .badge-hand`).waitFor({ state: 'visible', timeout: 5000 });
    assert.ok(await bob.page.locator('#grid .tile.local:not(.screen) .badge-hand').isVisible(), 'Bob sees his own hand');

    await hand.click();
    await alice.page.locator(`#grid .tile[data-sid="${bob.sid}"] .badge-hand`).waitFor({ state: 'hidden', timeout: 5000 });
  });

  it('screen share: a second tile on the other page plays it; stopping removes it', async () => {
    const share = alice.page.getByRole('button', { name: 'Share screen' });
    await share.click();
    await alice.page.waitForFunction(() => window.switchboard.screenSharing, null, { timeout: 5000 });
    const tile = bob.page.locator(`#grid .tile[data-sid="${alice.sid}:screen"]`);
    await tile.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await tile.locator('.tile-name').textContent(), /Alice: screen/);
    await videoFlows(bob, `${alice.sid}:screen`, 'Alice\'s screen on Bob\'s page');
    const size = await tile.locator('video').evaluate((v) => [v.videoWidth, v.videoHeight]);
    assert.ok(size[0] > 0 && size[1] > 0, `the screen share plays: ${size}`);
    const sources = await bob.page.evaluate((sid) => Object.values(window.switchboard.participants[sid].tracks).map((t) => t.source).sort(), alice.sid);
    assert.deepEqual(sources, ['camera', 'microphone', 'screen']);
    try {
      await videoFlows(bob, alice.sid, 'Alice\'s camera while sharing');
    } catch (e) {
      const diag = await alice.page.evaluate(async () => {
        const out = [];
        (await window.switchboardRoom.engine.publisherPC.getStats()).forEach((s) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video') out.push({ rid: s.rid, mid: s.mid, active: s.active, bytes: s.bytesSent, h: s.frameHeight, q: s.qualityLimitationReason, enc: s.encoderImplementation, fps: s.framesPerSecond });
        });
        const params = window.switchboardRoom.engine.publisherPC.getSenders().map((x) => x.getParameters().encodings.map((e) => ({ rid: e.rid, active: e.active, scale: e.scaleResolutionDownBy })));
        return { out, params };
      });
      throw new Error(`${e.message} DIAG ${JSON.stringify(diag)}`);
    }

    await share.click();
    await tile.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await alice.page.evaluate(() => window.switchboard.screenSharing), false);

    // Sharing again works the same (the same transceiver carries the new capture).
    await share.click();
    await tile.waitFor({ state: 'visible', timeout: 10_000 });
    await videoFlows(bob, `${alice.sid}:screen`, 'Alice\'s second screen share on Bob\'s page');
    await share.click();
    await tile.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('switching the camera mid-call keeps the video flowing without renegotiating', async () => {
    const { page } = alice;
    const before = await page.evaluate(() => window.switchboard.publisher.getSenders().find((s) => s.track?.kind === 'video').track.getSettings().deviceId);
    await page.getByRole('button', { name: 'Devices' }).click();
    const dialog = page.getByRole('dialog', { name: 'Devices' });
    const camera = dialog.getByLabel('Camera', { exact: true });
    const other = await camera.locator('option', { hasText: 'fake_device_0' }).getAttribute('value');
    assert.notEqual(other, before);
    await camera.selectOption(other);
    await page.waitForFunction((id) => window.switchboard.publisher.getSenders().find((s) => s.track?.kind === 'video')?.track.getSettings().deviceId === id,
      other, { timeout: 5000 });
    await dialog.getByRole('button', { name: 'Done' }).click();
    await videoFlows(bob, alice.sid, 'Bob from Alice after the switch');
  });

  it('fits a phone screen: one row of labelled controls, no sideways scrolling', async () => {
    const { page } = bob;
    await page.setViewportSize({ width: 375, height: 720 });
    await sleep(300);
    const layout = await page.evaluate(() => {
      const controls = [...document.querySelectorAll('.controls button')].filter((b) => !b.hidden);
      return {
        scrollWidth: document.documentElement.scrollWidth,
        rows: new Set(controls.map((b) => Math.round(b.getBoundingClientRect().top))).size,
        unlabelled: controls.filter((b) => !b.textContent.trim() && !b.getAttribute('aria-label')).length,
      };
    });
    assert.ok(layout.scrollWidth <= 375, `no horizontal scrolling: ${JSON.stringify(layout)}`);
    assert.equal(layout.rows, 1, `controls in one row: ${JSON.stringify(layout)}`);
    assert.equal(layout.unlabelled, 0);
    for (const name of ['Mute mic', 'Stop camera', 'Raise hand', 'Chat', 'Devices']) {
      assert.ok(await page.getByRole('button', { name, exact: true }).isVisible(), `${name} is reachable by its name`);
    }
    await screenshot(page, 'client-phone');
    await page.setViewportSize({ width: 960, height: 600 });
  });

  it('reconnects both pages by itself after a server crash and restart', async () => {
    // Bob's raised hand must survive: a rejoin is a new session, and the client raises it again.
    await bob.page.getByRole('button', { name: 'Raise hand' }).click();
    await server.kill();
    for (const p of [alice, bob]) {
      await p.page.waitForFunction(() => window.switchboard.state === 'reconnecting', null, { timeout: 10_000 });
      await p.page.locator('#reconnecting', { hasText: 'Reconnecting' }).waitFor({ state: 'visible', timeout: 2000 });
    }
    await screenshot(alice.page, 'client-reconnecting');
    server = await startServer({ label: 'client-restarted', httpPort: HTTP_PORT, udpPort: UDP_PORT, args: DRAIN_FAST });
    for (const p of [alice, bob]) {
      p.sid = await waitJoined(p.page, 30_000);
      await p.page.locator('#reconnecting').waitFor({ state: 'hidden', timeout: 2000 });
    }
    await Promise.all([videoFlows(alice, bob.sid, 'Alice from Bob after reconnecting'), videoFlows(bob, alice.sid, 'Bob from Alice after reconnecting')]);
    assert.equal(await alice.page.locator('#chat-list li', { hasText: 'Hi Alice' }).count(), 1, 'the chat history survives');
    await alice.page.locator(`#grid .tile[data-sid="${bob.sid}"] .badge-hand`).waitFor({ state: 'visible', timeout: 5000 });
  });

  it('reconnects after a graceful server restart (drain) too', async () => {
    // SIGTERM: going_away{deadline_s: 1}, a second later removed{server_shutdown}, then exit.
    const stopping = server.stop();
    for (const p of [alice, bob]) {
      await p.page.locator('#notices .notice', { hasText: 'The server is restarting' }).waitFor({ state: 'visible', timeout: 5000 });
    }
    for (const p of [alice, bob]) {
      await p.page.waitForFunction(() => window.switchboard.notices.some((n) => n.text.startsWith('The server restarted')),
        null, { timeout: 10_000 });
      await p.page.locator('#reconnecting').waitFor({ state: 'visible', timeout: 2000 });
    }
    await stopping;
    server = await startServer({ label: 'client-restarted-2', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    for (const p of [alice, bob]) p.sid = await waitJoined(p.page, 30_000);
    await videoFlows(bob, alice.sid, 'Bob from Alice after the restart');
    assert.ok(await alice.page.evaluate(() => window.switchboard.reconnects) >= 2);
  });
});
