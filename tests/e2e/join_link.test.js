// Invite links: /join?token=… joins the token's room straight away, without the form, and a
// rejected token is explained on the page instead of failing silently.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { devToken, launchParticipant, startServer, waitJoined } = require('./lib/harness');

// Not the ports of three_party.test.js, so the two files never collide.
const HTTP_PORT = 7890;
const UDP_PORT = 7892;

describe('invite links', { timeout: 90_000 }, () => {
  let server;
  let dana;

  before(async () => {
    server = await startServer({ label: 'join-link', httpPort: HTTP_PORT, udpPort: UDP_PORT });
    dana = await launchParticipant('Dana');
  });

  after(async () => {
    await dana?.close();
    await server?.stop();
  });

  it('/join?token=… joins the token\'s room without the form', async () => {
    const token = await devToken(server.url, 'link-room', 'Dana');
    const { page } = dana;
    await page.goto(`${server.url}/join?token=${encodeURIComponent(token.token)}`);
    await waitJoined(page);
    const state = await page.evaluate(() => ({
      state: window.switchboard.state,
      identity: window.switchboard.identity,
      room: document.getElementById('room-name').textContent,
    }));
    assert.equal(state.state, 'joined');
    assert.equal(state.identity, token.identity, 'joined as the token\'s identity');
    assert.match(state.room, /link-room/, 'the room name is shown');
    assert.equal(await page.getByRole('button', { name: 'Join' }).isVisible(), false, 'the form is not shown');
    assert.ok(await page.locator('#grid .tile-name', { hasText: 'Dana' }).isVisible(), 'own tile carries the name');
  });

  it('a rejected token shows why on the page', async () => {
    const { page } = dana;
    await page.goto(`${server.url}/join?token=not-a-token`);
    await page.waitForFunction(() => window.switchboard?.state === 'error', null, { timeout: 10_000 });
    const lastError = await page.evaluate(() => window.switchboard.lastError);
    assert.equal(lastError.code, 'invalid_token', JSON.stringify(lastError));
    assert.match(await page.getByRole('alert').textContent(), /token rejected/);
  });
});
