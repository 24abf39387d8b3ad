// Every event of the SDK's Room, recorded by pages that use the SDK directly (pages/sdk-recorder.html)
// in a scripted call: a moderator with a `room_admin` token and a participant, Ann, in room
// "ev"; a third page that waits in the lobby. The moderator mutes (and asks to unmute), holds and
// resumes, lowers a hand, withdraws and restores permissions, moves, admits and denies, and
// finally removes Ann with a reason; the admin API sends data and moves Ann back; the server is
// killed and restarted, then drained and restarted, and both pages reconnect by themselves.

const assert = require('node:assert/strict');
const { isDeepStrictEqual } = require('node:util');
const { after, before, describe, it } = require('node:test');
const {
  adminRequest, adminToken, devToken, launchParticipant, openRecorderPage, startServer, waitFor,
} = require('./lib/harness');

// Not the ports of the other test files, so they never collide.
const HTTP_PORT = 7940;
const UDP_PORT = 7942;
const ROOM = 'ev';
const OTHER_ROOM = 'ev-b';
// A one-second drain on SIGTERM, so a graceful restart fits the harness's stop().
const DRAIN_FAST = ['--drain-timeout-s', '1'];

describe('SDK events', { timeout: 300_000 }, () => {
  let server;
  let admin; // server-admin token for the admin API
  let mod; // the moderator's page: room_admin token
  let ann; // a participant
  let lobbyPage; // joins while the room has a lobby
  const retired = []; // events of pages reloaded meanwhile

  before(async () => {
    server = await startServer({ label: 'sdk-events', httpPort: HTTP_PORT, udpPort: UDP_PORT, args: DRAIN_FAST });
    admin = adminToken();
    [mod, ann, lobbyPage] = await Promise.all([
      launchParticipant('Mod-sdk'), launchParticipant('Ann-sdk'), launchParticipant('Lobby-sdk'),
    ]);
  });

  after(async () => {
    await Promise.all([mod, ann, lobbyPage].filter(Boolean).map((p) => p.close()));
    await server?.stop();
  });

  const api = (method, path, body) => adminRequest(server.url, admin, method, path, body);

  /** Index of `who`'s next recorded event: expectations from it on see only what came later. */
  const mark = (who) => who.page.evaluate(() => window.events.length);

  /**
   * Waits until `who` recorded `event` with every field of `match` equal (a function field is a
   * predicate on the value), after index `from`; returns it.
   */
  const expectEvent = async (who, event, match = {}, { from = 0, timeout = 10_000 } = {}) => {
    let seen = [];
    return waitFor(async () => {
      seen = await who.page.evaluate(({ event, from }) => window.events.slice(from).filter((e) => e.event === event), { event, from });
      return seen.find((e) => Object.entries(match).every(([k, v]) => (typeof v === 'function' ? v(e[k]) : isDeepStrictEqual(e[k], v))));
    }, { timeout, describe: () => `${who.label}: no ${event} like ${JSON.stringify(match)} after #${from}; saw ${JSON.stringify(seen)}` });
  };

  /** Runs room.moderation[method](...args) on the moderator's page: { result } or { error, message }. */
  const moderate = (method, ...args) => mod.page.evaluate(async ({ method, args }) => {
    try {
      return { result: await window.room.moderation[method](...args) };
    } catch (err) {
      return { error: err.code, message: err.message };
    }
  }, { method, args });

  const waitState = (who, state, timeout = 15_000) => who.page.waitForFunction((s) => window.room?.state === s, state, { timeout });

  it('a moderator and a participant connect and receive each other\'s tracks', async () => {
    const modToken = (await api('POST', '/tokens', {
      room: ROOM, identity: 'mod', name: 'Moderator', permissions: { room_admin: true },
    })).body.token;
    const annToken = await devToken(server.url, ROOM, 'Ann');
    ann.identity = annToken.identity;
    for (const p of [mod, ann, lobbyPage]) await openRecorderPage(p.page, server.url);
    const started = await mod.page.evaluate((t) => window.startRoom(t), modToken);
    assert.ok(['joining', 'connected'].includes(started.state), `connect() resolves once joined: ${JSON.stringify(started)}`);
    await waitState(mod, 'connected');
    await ann.page.evaluate((t) => window.startRoom(t), annToken.token);
    await waitState(ann, 'connected');

    await expectEvent(mod, 'stateChanged', { previous: 'idle', state: 'joining' });
    await expectEvent(mod, 'stateChanged', { previous: 'joining', state: 'connected' });
    await expectEvent(mod, 'joined', { room: ROOM, participant: 'mod', reconnected: false });
    await expectEvent(mod, 'participantJoined', { participant: ann.identity });
    for (const [source, kind] of [['microphone', 'audio'], ['camera', 'video']]) {
      await expectEvent(mod, 'trackPublished', { participant: ann.identity, source });
      await expectEvent(mod, 'trackSubscribed', { participant: ann.identity, source, kind });
      await expectEvent(ann, 'trackSubscribed', { participant: 'mod', source, kind });
      await expectEvent(ann, 'localTrackPublished', { source, trackSid: (s) => /\S/.test(s ?? '') });
      await expectEvent(ann, 'localTrackChanged', { source, hasTrack: true });
    }
    await expectEvent(ann, 'participantJoined', { participant: 'mod' });
    await expectEvent(ann, 'transportStateChanged', { publisher: 'connected' });
    const seen = await mod.page.evaluate((id) => {
      const p = window.room.getParticipantByIdentity(id);
      return { name: p.name, sources: [...p.trackPublications.values()].map((t) => t.source).sort(), subscribed: p.tracks.length };
    }, ann.identity);
    assert.deepEqual(seen, { name: 'Ann', sources: ['camera', 'microphone'], subscribed: 2 });
  });

  it('activeSpeakers and connectionQuality arrive from the server', async () => {
    await expectEvent(mod, 'activeSpeakers', { speakers: (s) => s.length > 0 }, { timeout: 20_000 });
    await expectEvent(ann, 'connectionQuality', { quality: (q) => ['excellent', 'good', 'poor', 'lost'].includes(q) }, { timeout: 20_000 });
  });

  it('dataReceived: from a participant and from the admin API', async () => {
    const from = await mark(ann);
    assert.equal(await mod.page.evaluate((id) => window.room.sendData({ hello: 'Ann' }, { to: [id] }), ann.identity), true);
    await expectEvent(ann, 'dataReceived', { from: 'mod', participant: 'mod', payload: { hello: 'Ann' } }, { from });
    await api('POST', `/rooms/${ROOM}/data`, { payload: { note: 'from the API' } });
    await expectEvent(ann, 'dataReceived', { from: null, participant: null, payload: { note: 'from the API' } }, { from });
  });

  it('pong: a ping is answered with the round-trip time', async () => {
    const from = await mark(mod);
    assert.equal(await mod.page.evaluate(() => window.room.ping()), true);
    await expectEvent(mod, 'pong', { rttMs: (ms) => ms >= 0 && ms < 5000 }, { from });
  });

  it('handRaised, and handLowered by the moderator', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    await ann.page.evaluate(() => window.room.localParticipant.setHandRaised(true));
    await expectEvent(ann, 'handRaised', { participant: ann.identity, local: true }, { from: annFrom });
    await expectEvent(mod, 'handRaised', { participant: ann.identity, local: false }, { from: modFrom });
    const lowered = await moderate('lowerHand', ann.identity);
    assert.equal(lowered.result?.hand_raised, false, JSON.stringify(lowered));
    await expectEvent(ann, 'handLowered', { participant: ann.identity, byModerator: true }, { from: annFrom });
    await expectEvent(mod, 'handLowered', { participant: ann.identity }, { from: modFrom });
  });

  it('a moderator\'s mute locks the microphone, a room mute the camera; unmute requests, accepted, lift them; self-mute is seen', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    const muted = await moderate('mute', ann.identity, { kind: 'audio' });
    assert.ok(muted.result?.tracks?.some((t) => t.kind === 'audio' && t.muted), JSON.stringify(muted));
    await expectEvent(ann, 'trackMuted', { local: true, source: 'microphone', by: 'mod' }, { from: annFrom });
    await expectEvent(mod, 'trackMuted', { participant: ann.identity, source: 'microphone', by: 'mod' }, { from: modFrom });
    const refused = await ann.page.evaluate(() => window.room.localParticipant.setMicrophoneMuted(false).then(() => 'unmuted', (e) => e.code));
    assert.equal(refused, 'muted_by_moderator');

    const asked = await moderate('unmute', ann.identity, { kind: 'audio' });
    assert.ok(!asked.error, JSON.stringify(asked));
    await expectEvent(ann, 'unmuteRequested', { source: 'microphone', by: 'mod' }, { from: annFrom });
    await ann.page.evaluate(() => {
      const local = window.room.localParticipant;
      local.answerUnmuteRequest(local.getTrackPublication('microphone'), true);
    });
    await expectEvent(ann, 'trackUnmuted', { local: true, source: 'microphone' }, { from: annFrom });
    await expectEvent(mod, 'trackUnmuted', { participant: ann.identity, source: 'microphone', by: null }, { from: modFrom });

    // The whole room's video, but the moderator's: Ann's camera is locked, then asked back on.
    assert.ok(!(await moderate('muteRoom', 'video', { except: ['mod'] })).error);
    await expectEvent(ann, 'trackMuted', { local: true, source: 'camera', by: 'mod' }, { from: annFrom });
    assert.equal(await mod.page.evaluate(() => window.room.localParticipant.getTrackPublication('camera').muted), false);
    assert.ok(!(await moderate('unmute', ann.identity, { kind: 'video' })).error);
    await expectEvent(ann, 'unmuteRequested', { source: 'camera', by: 'mod' }, { from: annFrom });
    await ann.page.evaluate(() => window.room.localParticipant.answerUnmuteRequest(window.room.localParticipant.getTrackPublication('camera'), true));
    await expectEvent(mod, 'trackUnmuted', { participant: ann.identity, source: 'camera', by: null }, { from: modFrom });

    await ann.page.evaluate(() => window.room.localParticipant.setCameraMuted(true));
    await expectEvent(mod, 'trackMuted', { participant: ann.identity, source: 'camera', by: null }, { from: modFrom });
    await ann.page.evaluate(() => window.room.localParticipant.setCameraMuted(false));
    await expectEvent(mod, 'trackUnmuted', { participant: ann.identity, source: 'camera', by: null }, { from: modFrom });
  });

  it('hold and resume: onHold, resumed and the on_hold state', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    assert.ok(!(await moderate('hold', ann.identity)).error);
    await expectEvent(ann, 'onHold', { by: 'mod' }, { from: annFrom });
    await expectEvent(ann, 'stateChanged', { state: 'on_hold', previous: 'connected' }, { from: annFrom });
    await expectEvent(mod, 'participantUpdated', { participant: ann.identity, changed: (c) => c.includes('state') }, { from: modFrom });
    assert.ok(!(await moderate('resume', ann.identity)).error);
    await expectEvent(ann, 'resumed', { by: 'mod' }, { from: annFrom });
    await expectEvent(ann, 'stateChanged', { state: 'connected', previous: 'on_hold' }, { from: annFrom });
  });

  it('moderation results: list resolves, an unknown identity rejects with not_found', async () => {
    const list = await moderate('list');
    assert.ok(JSON.stringify(list.result).includes(ann.identity), JSON.stringify(list));
    const missing = await moderate('hold', 'nobody');
    assert.equal(missing.error, 'not_found', JSON.stringify(missing));
  });

  it('withdrawn permissions unpublish the camera and refuse data (error); restored, the camera is back', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    const changed = await moderate('updatePermissions', ann.identity, { can_publish_sources: ['microphone'], can_publish_data: false });
    assert.ok(!changed.error, JSON.stringify(changed));
    await expectEvent(mod, 'trackUnsubscribed', { participant: ann.identity, source: 'camera', kind: 'video' }, { from: modFrom });
    await expectEvent(mod, 'trackUnpublished', { participant: ann.identity, source: 'camera' }, { from: modFrom });
    await expectEvent(ann, 'localTrackUnpublished', { source: 'camera' }, { from: annFrom });
    await expectEvent(ann, 'participantUpdated', { local: true, changed: (c) => c.includes('permissions') }, { from: annFrom });
    await ann.page.evaluate(() => window.room.sendData({ hello: 'anyone' }));
    await expectEvent(ann, 'error', { code: 'permission_denied' }, { from: annFrom });

    assert.ok(!(await moderate('updatePermissions', ann.identity, {})).error);
    await expectEvent(mod, 'trackPublished', { participant: ann.identity, source: 'camera' }, { from: modFrom });
    await expectEvent(mod, 'trackSubscribed', { participant: ann.identity, source: 'camera', kind: 'video' }, { from: modFrom, timeout: 15_000 });
  });

  it('moved to another room by the moderator and back by the admin API', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    assert.ok(!(await moderate('move', ann.identity, OTHER_ROOM)).error);
    await expectEvent(ann, 'moved', { room: OTHER_ROOM, previousRoom: ROOM }, { from: annFrom });
    await expectEvent(ann, 'participantLeft', { participant: 'mod', reason: 'moved' }, { from: annFrom });
    await expectEvent(mod, 'participantLeft', { participant: ann.identity, reason: 'moved' }, { from: modFrom });
    assert.equal(await ann.page.evaluate(() => window.room.name), OTHER_ROOM);

    await api('POST', `/rooms/${OTHER_ROOM}/participants/${ann.identity}/move`, { to_room: ROOM });
    await expectEvent(ann, 'moved', { room: ROOM, previousRoom: OTHER_ROOM }, { from: annFrom });
    await expectEvent(mod, 'participantJoined', { participant: ann.identity }, { from: modFrom });
    await expectEvent(mod, 'trackSubscribed', { participant: ann.identity, kind: 'video' }, { from: modFrom, timeout: 15_000 });
  });

  it('the lobby: one joiner admitted, another denied', async () => {
    await api('PATCH', `/rooms/${ROOM}`, { lobby: true });
    const lee = await devToken(server.url, ROOM, 'Lee');
    const modFrom = await mark(mod);
    assert.deepEqual(await lobbyPage.page.evaluate((t) => window.startRoom(t, { publish: false }), lee.token), { state: 'lobby' });
    assert.ok(!(await moderate('admit', lee.identity)).error);
    await expectEvent(lobbyPage, 'admitted');
    await expectEvent(lobbyPage, 'joined', { room: ROOM, participant: lee.identity });
    await expectEvent(mod, 'participantJoined', { participant: lee.identity }, { from: modFrom });
    await lobbyPage.page.evaluate(() => window.room.leave());
    await expectEvent(lobbyPage, 'stateChanged', { state: 'disconnected', reason: 'left' });
    await expectEvent(mod, 'participantLeft', { participant: lee.identity, reason: 'left' }, { from: modFrom });
    retired.push(...await lobbyPage.page.evaluate(() => window.events));

    await openRecorderPage(lobbyPage.page, server.url);
    const dee = await devToken(server.url, ROOM, 'Dee');
    assert.deepEqual(await lobbyPage.page.evaluate((t) => window.startRoom(t, { publish: false }), dee.token), { state: 'lobby' });
    assert.ok(!(await moderate('deny', dee.identity)).error);
    await expectEvent(lobbyPage, 'denied');
    await expectEvent(lobbyPage, 'stateChanged', { state: 'disconnected', reason: 'denied' });
    await api('PATCH', `/rooms/${ROOM}`, { lobby: false });
  });

  /** Both pages are back: joined again (reconnected), connected, receiving each other. */
  const bothBack = async (modFrom, annFrom) => {
    for (const [who, from] of [[mod, modFrom], [ann, annFrom]]) {
      await expectEvent(who, 'reconnected', {}, { from, timeout: 30_000 });
      await expectEvent(who, 'joined', { reconnected: true }, { from });
      await waitState(who, 'connected');
    }
    await expectEvent(mod, 'trackSubscribed', { participant: ann.identity, kind: 'video' }, { from: modFrom, timeout: 15_000 });
    await expectEvent(ann, 'trackSubscribed', { participant: 'mod', kind: 'video' }, { from: annFrom, timeout: 15_000 });
  };

  it('reconnects after the server is killed and restarted; a raised hand is raised again', async () => {
    await ann.page.evaluate(() => window.room.localParticipant.setHandRaised(true));
    await mod.page.waitForFunction((id) => window.room.getParticipantByIdentity(id)?.handRaised, ann.identity, { timeout: 5000 });
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    await server.kill();
    for (const [who, from] of [[mod, modFrom], [ann, annFrom]]) {
      // Kept for a resume at first (the participants and PCs stay) ...
      await expectEvent(who, 'reconnecting', { reason: 'connection_lost', attempt: 1, resuming: true }, { from });
      await expectEvent(who, 'stateChanged', { state: 'reconnecting' }, { from });
    }
    server = await startServer({ label: 'sdk-events-restarted', httpPort: HTTP_PORT, udpPort: UDP_PORT, args: DRAIN_FAST });
    // ... but a restarted server has no one to resume: new participants, told so.
    await expectEvent(mod, 'participantLeft', { participant: ann.identity, reason: 'reconnecting' }, { from: modFrom, timeout: 15_000 });
    for (const [who, from] of [[mod, modFrom], [ann, annFrom]]) {
      await expectEvent(who, 'reconnected', { resumed: false }, { from, timeout: 15_000 });
    }
    await bothBack(modFrom, annFrom);
    await mod.page.waitForFunction((id) => window.room.getParticipantByIdentity(id)?.handRaised, ann.identity, { timeout: 5000 });
    const lowered = await ann.page.evaluate((from) => window.events.slice(from).filter((e) => e.event === 'handLowered'), annFrom);
    assert.deepEqual(lowered, [], 'Ann\'s hand stayed up across the reconnection');
  });

  it('a graceful restart: goingAway, then a reconnection', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    const stopping = server.stop();
    for (const [who, from] of [[mod, modFrom], [ann, annFrom]]) {
      await expectEvent(who, 'goingAway', { deadlineS: 1 }, { from });
      await expectEvent(who, 'reconnecting', { reason: 'server_shutdown' }, { from });
    }
    await stopping;
    server = await startServer({ label: 'sdk-events-restarted-2', httpPort: HTTP_PORT, udpPort: UDP_PORT, args: DRAIN_FAST });
    await bothBack(modFrom, annFrom);
  });

  it('removed with a reason, then the moderator leaves', async () => {
    const [modFrom, annFrom] = [await mark(mod), await mark(ann)];
    const removed = await moderate('remove', ann.identity, { reason: 'Bye' });
    assert.ok(!removed.error, JSON.stringify(removed));
    await expectEvent(ann, 'removed', { reason: 'Bye' }, { from: annFrom });
    await expectEvent(ann, 'stateChanged', { state: 'disconnected', reason: 'removed' }, { from: annFrom });
    await expectEvent(mod, 'participantLeft', { participant: ann.identity, reason: 'removed' }, { from: modFrom });
    assert.equal(await ann.page.evaluate(() => window.room.disconnectReason), 'removed');
    await mod.page.evaluate(() => window.room.leave());
    await expectEvent(mod, 'stateChanged', { state: 'disconnected', reason: 'left' }, { from: modFrom });
  });

  it('every Room event fired on one of the pages', async () => {
    const names = await mod.page.evaluate(() => window.sdk.ROOM_EVENTS);
    const fired = new Set(retired.map((e) => e.event));
    // Needs a subscriber whose link cannot carry a video: asserted by tests/netlab (shaped link).
    fired.add('trackStreamStateChanged');
    for (const who of [mod, ann, lobbyPage]) {
      for (const e of await who.page.evaluate(() => window.events)) fired.add(e.event);
    }
    assert.deepEqual(names.filter((n) => !fired.has(n)), [], 'events that never fired');
  });
});
