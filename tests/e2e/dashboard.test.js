// The moderator dashboard (/admin.html) driving a real call: two participants in room "dash" and a
// third browser on the dashboard. The moderator sees both with live statistics, mutes one (that
// page says so, the other stops receiving its audio), holds and resumes, sees a raised hand and
// lowers it, invites a third person through a link, mutes everyone, edits permissions, moves and
// removes people, runs the lobby of a room it created, messages and ends that room, and reads the
// session history.

const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const { after, before, describe, it } = require('node:test');
const {
  adminToken, inboundStreams, joinThroughForm, launchParticipant, screenshot, startServer, waitFor, waitJoined,
} = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7910;
const UDP_PORT = 7912;
const ROOM = 'dash';
const LOBBY_ROOM = 'lobby-room';

describe('moderator dashboard', { timeout: 240_000 }, () => {
  let server;
  let alice;
  let bob;
  let dana; // joins through an invite link made in the dashboard
  let dash; // the moderator's browser
  let page; // dash.page

  before(async () => {
    server = await startServer({ label: 'dashboard', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    [alice, bob, dana, dash] = await Promise.all([
      launchParticipant('Alice-dash'), launchParticipant('Bob-dash'), launchParticipant('Dana-dash'),
      launchParticipant('Dashboard', { viewport: { width: 1280, height: 900 } }),
    ]);
    page = dash.page;
  });

  after(async () => {
    await Promise.all([alice, bob, dana, dash].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  const card = (identity) => page.locator(`.pcard[data-identity="${identity}"]`);

  /** Alice's inbound audio and video on Bob's page. */
  const aliceOnBob = async () => {
    const streams = (await inboundStreams(bob.page)).filter((s) => s.owner === alice.sid);
    return { audio: streams.find((s) => s.kind === 'audio'), video: streams.find((s) => s.kind === 'video') };
  };

  it('signs in with an admin token', async () => {
    await page.goto(`${server.url}/admin.html`);
    await page.getByLabel('Admin token').fill(adminToken());
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await page.evaluate(() => window.dashboard.signedIn), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.adminToken') !== null), true,
      'the token is kept in sessionStorage');
  });

  it('shows both participants of room "dash" with live statistics', async () => {
    await Promise.all([joinThroughForm(alice.page, server.url, ROOM, 'Alice'), joinThroughForm(bob.page, server.url, ROOM, 'Bob')]);
    for (const p of [alice, bob]) {
      p.sid = await waitJoined(p.page);
      p.identity = await p.page.evaluate(() => window.switchboard.identity);
    }
    await page.locator(`#rooms button[data-room="${ROOM}"]`).click();
    await page.getByRole('heading', { name: `Room ${ROOM}` }).waitFor({ state: 'visible', timeout: 5000 });

    // Every published track of both shows a bitrate above zero, as text and in data-bitrate.
    let last;
    await waitFor(async () => {
      last = await page.evaluate((ids) => ids.map((id) => {
        const el = document.querySelector(`.pcard[data-identity="${CSS.escape(id)}"]`);
        const rows = [...(el?.querySelectorAll('tr[data-kind]') ?? [])];
        return {
          id,
          state: el?.dataset.state,
          tracks: rows.map((r) => ({ kind: r.dataset.kind, bitrate: Number(r.dataset.bitrate), text: r.querySelector('.col-bitrate').textContent })),
        };
      }), [alice.identity, bob.identity]);
      return last.every((p) => p.state === 'connected' && p.tracks.length === 2
        && p.tracks.every((t) => t.bitrate > 0 && /[kM]b\/s/.test(t.text)));
    }, { timeout: 20_000, describe: () => `no live bitrate for both participants after 20 s: ${JSON.stringify(last)}` });

    for (const p of [alice, bob]) {
      const text = await card(p.identity).textContent();
      assert.match(text, /Quality: (excellent|good|poor|lost|unknown)/, `${p.identity}: quality shown`);
      assert.match(text, /Sends [\d.]+ [kM]b\/s/, `${p.identity}: send rate shown`);
    }
    // Each receives the other: its downlink's bandwidth estimate is shown.
    let details;
    await waitFor(async () => {
      details = await Promise.all([alice, bob].map((p) => card(p.identity).textContent()));
      return details.every((t) => /downlink estimate [\d.]+ [kM]b\/s/.test(t));
    }, { timeout: 15_000, describe: () => `no downlink estimate shown: ${JSON.stringify(details)}` });
    await waitFor(async () => {
      const latest = await page.evaluate(() => window.dashboard.chart.latest());
      return latest[alice.identity] > 0 && latest[bob.identity] > 0;
    }, { timeout: 10_000, describe: () => 'the bitrate chart has no points for both' });
  });

  it('mutes Alice: her page says so and Bob stops receiving her audio', async () => {
    const before1 = await aliceOnBob();
    await sleep(1000);
    const before2 = await aliceOnBob();
    assert.ok(before2.audio.bytesReceived > before1.audio.bytesReceived, 'Alice\'s audio flows to Bob before the mute');

    await page.getByRole('button', { name: 'Mute Alice\'s microphone' }).click();
    await alice.page.locator('#notices .notice', { hasText: /muted by moderator/i }).waitFor({ state: 'visible', timeout: 5000 });
    await card(alice.identity).locator('tr[data-kind="audio"] .col-state', { hasText: 'Muted by admin' })
      .waitFor({ state: 'visible', timeout: 5000 });

    await sleep(1500); // packets in flight
    const first = await aliceOnBob();
    await sleep(1500);
    const second = await aliceOnBob();
    assert.equal(second.audio.bytesReceived, first.audio.bytesReceived,
      `no audio from Alice reaches Bob while muted: ${JSON.stringify([first.audio, second.audio])}`);
    assert.ok(second.video.framesDecoded > first.video.framesDecoded, 'Alice\'s video still flows');

    // Asking to unmute reaches Alice as a prompt; accepting unmutes her.
    await page.getByRole('button', { name: 'Ask Alice to unmute microphone' }).click();
    await alice.page.getByRole('dialog').getByRole('button', { name: 'Accept' }).click({ timeout: 5000 });
    await card(alice.identity).locator('tr[data-kind="audio"] .col-state', { hasText: 'Live' })
      .waitFor({ state: 'visible', timeout: 5000 });
  });

  it('holds and resumes Alice', async () => {
    await page.getByRole('button', { name: 'Put Alice on hold' }).click();
    await alice.page.getByText('You are on hold').waitFor({ state: 'visible', timeout: 5000 });
    await card(alice.identity).locator('.chip', { hasText: 'On hold' }).waitFor({ state: 'visible', timeout: 5000 });
    await bob.page.locator(`#grid .tile[data-sid="${alice.sid}"] .badge-on-hold`).waitFor({ state: 'visible', timeout: 5000 });

    await page.getByRole('button', { name: 'Resume Alice' }).click();
    await alice.page.getByText('You are on hold').waitFor({ state: 'hidden', timeout: 5000 });
    await card(alice.identity).locator('.chip', { hasText: 'Connected' }).waitFor({ state: 'visible', timeout: 5000 });
    const first = await aliceOnBob();
    await sleep(1500);
    const second = await aliceOnBob();
    assert.ok(second.video.framesDecoded > first.video.framesDecoded, 'Alice\'s video flows again after resume');
  });

  it('sees Bob\'s raised hand and lowers it', async () => {
    await bob.page.getByRole('button', { name: 'Raise hand' }).click();
    await card(bob.identity).locator('.chip-hand', { hasText: 'Hand raised' }).waitFor({ state: 'visible', timeout: 5000 });
    await page.locator('#room-summary', { hasText: '✋ Bob' }).waitFor({ state: 'visible', timeout: 5000 });
    await alice.page.locator(`#grid .tile[data-sid="${bob.sid}"] .badge-hand`).waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await card(alice.identity).locator('.chip-hand').isVisible(), false, 'only Bob\'s hand is up');

    await page.getByRole('button', { name: 'Lower Bob\'s hand' }).click();
    await bob.page.locator('#notices .notice', { hasText: 'A moderator lowered your hand' }).waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await bob.page.getByRole('button', { name: 'Raise hand' }).getAttribute('aria-pressed'), 'false');
    await alice.page.locator(`#grid .tile[data-sid="${bob.sid}"] .badge-hand`).waitFor({ state: 'hidden', timeout: 5000 });
    await card(bob.identity).locator('.chip-hand').waitFor({ state: 'hidden', timeout: 5000 });
    await page.getByRole('button', { name: 'Lower Bob\'s hand' }).waitFor({ state: 'hidden', timeout: 5000 });
  });

  it('creates an invite link that joins a new page', async () => {
    await page.getByRole('button', { name: 'Invite…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Identity').fill('dana');
    await dialog.getByLabel('Display name').fill('Dana');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const link = dialog.getByLabel('Join link');
    await link.waitFor({ state: 'visible', timeout: 5000 });
    const url = await link.inputValue();
    assert.match(url, new RegExp(`^${server.url}/join\\?token=`), url);
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await dialog.getByRole('button', { name: 'Close' }).click();

    await dana.page.goto(url);
    dana.sid = await waitJoined(dana.page);
    assert.equal(await dana.page.evaluate(() => window.switchboard.identity), 'dana');
    await card('dana').locator('.chip', { hasText: 'Connected' }).waitFor({ state: 'visible', timeout: 10_000 });
  });

  it('saves a screenshot of the room view', async () => {
    // Wait for Dana's statistics so all three cards carry numbers.
    await waitFor(() => page.evaluate(() => window.dashboard.chart.latest().dana > 0),
      { timeout: 15_000, describe: () => 'no bitrate for Dana' });
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'dashboard', { docs: true });
  });

  it('mutes everyone\'s microphone at once', async () => {
    await page.getByRole('button', { name: 'Mute everyone\'s mic' }).click();
    await page.getByRole('status').filter({ hasText: 'Muted 3 microphones' }).waitFor({ state: 'visible', timeout: 5000 });
    for (const identity of [alice.identity, bob.identity, 'dana']) {
      await card(identity).locator('tr[data-kind="audio"] .col-state', { hasText: 'Muted by admin' })
        .waitFor({ state: 'visible', timeout: 5000 });
    }
    await dana.page.locator('#notices .notice', { hasText: /muted by moderator/i }).waitFor({ state: 'visible', timeout: 5000 });
  });

  it('edits Alice\'s permissions live', async () => {
    await page.getByRole('button', { name: 'Edit Alice\'s permissions' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('May send chat and data').uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await card(alice.identity).locator('.pdetails', { hasText: /may: publish, subscribe$/ }).waitFor({ state: 'visible', timeout: 5000 });
  });

  it('moves Dana to another room', async () => {
    await page.getByRole('button', { name: 'Move Dana to another room' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('To room').fill('breakout');
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();
    await dana.page.locator('#notices .notice', { hasText: 'moved you to room breakout' }).waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await dana.page.evaluate(() => window.switchboard.room), 'breakout');
    await card('dana').waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator('#rooms button[data-room="breakout"]').waitFor({ state: 'visible', timeout: 5000 });
  });

  it('removes and bans Bob with a reason, shown on his page; the ban can be lifted', async () => {
    await page.getByRole('button', { name: 'Remove Bob' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (shown to them)').fill('Thanks for coming, Bob');
    await dialog.getByLabel('Also ban this identity from the room').check();
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await bob.page.getByRole('alert').filter({ hasText: 'You were removed: Thanks for coming, Bob' })
      .waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await bob.page.evaluate(() => window.switchboard.state), 'removed');
    await card(bob.identity).waitFor({ state: 'detached', timeout: 10_000 });

    const lift = page.getByRole('button', { name: `Lift the ban on ${bob.identity}` });
    await lift.click({ timeout: 5000 });
    await lift.waitFor({ state: 'detached', timeout: 5000 });
  });

  it('creates a room with a lobby and admits a waiting participant', async () => {
    const form = page.locator('#create-room');
    await form.getByLabel('Name', { exact: true }).fill(LOBBY_ROOM);
    await form.getByLabel('Lobby (admit joiners)').check();
    await form.getByRole('button', { name: 'Create room' }).click();
    await page.getByRole('heading', { name: `Room ${LOBBY_ROOM}` }).waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await page.getByLabel('Lobby: joiners wait to be admitted').isChecked(), true);

    await joinThroughForm(bob.page, server.url, LOBBY_ROOM, 'Bob');
    await bob.page.waitForFunction(() => window.switchboard.state === 'lobby', null, { timeout: 10_000 });
    await page.getByRole('button', { name: 'Admit Bob' }).click({ timeout: 10_000 });
    await waitJoined(bob.page);
    const identity = await bob.page.evaluate(() => window.switchboard.identity);
    await card(identity).locator('.chip', { hasText: /Joining|Connected/ }).waitFor({ state: 'visible', timeout: 10_000 });
  });

  it('messages the room and ends it', async () => {
    await page.getByRole('button', { name: 'Message…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Message').fill('Wrapping up in a minute');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await bob.page.getByRole('button', { name: 'Chat 1 unread' }).waitFor({ state: 'visible', timeout: 5000 });
    const chat = await bob.page.evaluate(() => window.switchboard.chat);
    assert.deepEqual(chat.map((m) => [m.name, m.text]), [['Moderator', 'Wrapping up in a minute']]);

    await page.getByRole('button', { name: 'End room' }).click();
    await dialog.getByRole('button', { name: 'End room' }).click();
    await bob.page.getByRole('alert').filter({ hasText: 'The room was ended' }).waitFor({ state: 'visible', timeout: 5000 });
    await page.locator(`#rooms button[data-room="${LOBBY_ROOM}"]`).waitFor({ state: 'detached', timeout: 5000 });
  });

  it('lists the session history', async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#sessions-body tr.session').first().waitFor({ state: 'visible', timeout: 5000 });
    const rooms = await page.locator('#sessions-body tr.session td:first-child').allTextContents();
    assert.ok(rooms.includes(ROOM) && rooms.includes(LOBBY_ROOM), `both rooms' sessions are listed: ${rooms}`);
    const row = page.locator(`#sessions-body tr.session`, { hasText: ROOM }).first();
    await row.getByRole('button', { name: /Participants of the dash session/ }).click();
    await page.locator('.legs-table', { hasText: 'Alice' }).first().waitFor({ state: 'visible', timeout: 5000 });
  });
});
