// The SDK's pure logic in Node, without a browser: the server URL, the reconnection policy,
// subscriber-offer labels, the event emitter, the matching of moderation answers, and the roster's
// event sequences for participants and tracks.

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const sdk = (file) => import(`../../web/sdk/${file}`);

describe('SDK logic', () => {
  it('msidTracksByMid: the a=msid track id of each m-section (Firefox names them apart from the tracks)', async () => {
    const { msidTracksByMid } = await sdk('sdp.js');
    const sdp = [
      'v=0', 'o=mozilla...THIS_IS_SDPARTA-99.0 1 0 IN IP4 0.0.0.0', 's=-', 't=0 0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 109', 'a=mid:0', 'a=msid:{s1} {a1b2-audio}', 'a=sendonly',
      'm=video 9 UDP/TLS/RTP/SAVPF 120', 'a=mid:1', 'a=msid:{s1} {c3d4-video}', 'a=sendonly',
      'm=video 9 UDP/TLS/RTP/SAVPF 120', 'a=mid:2', 'a=msid:{s2} {e5f6-screen}',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:3', '',
    ].join('\r\n');
    assert.deepEqual([...msidTracksByMid(sdp)], [['0', '{a1b2-audio}'], ['1', '{c3d4-video}'], ['2', '{e5f6-screen}']]);
    assert.equal(msidTracksByMid('v=0\r\n').size, 0);
  });

  it('publish_offer sources are keyed by the offer\'s msid track ids, by mid', async () => {
    const { Publisher } = await sdk('publisher.js');
    // No RTCPeerConnection in Node: the method only reads transceivers and sources.
    const p = Object.create(Publisher.prototype);
    p.sources = { 'track-cam': 'camera', 'track-screen': 'screen', 'track-mic': 'microphone' };
    p.transceivers = { camera: { mid: '1' }, screen: { mid: '2' }, microphone: { mid: null } };
    const sdp = 'v=0\r\nm=video 9 X 96\r\na=mid:1\r\na=msid:s {ff-cam}\r\nm=video 9 X 96\r\na=mid:2\r\na=msid:s {ff-screen}\r\n';
    assert.deepEqual(p.declaredSources(sdp), { '{ff-cam}': 'camera', '{ff-screen}': 'screen', 'track-mic': 'microphone' });
  });

  it('signalUrl: http(s) becomes ws(s), /ws is appended once, the token is encoded', async () => {
    const { signalUrl } = await sdk('signal.js');
    assert.equal(signalUrl('https://sfu.example.com', 'a b'), 'wss://sfu.example.com/ws?access_token=a%20b');
    assert.equal(signalUrl('http://127.0.0.1:7880/', 't'), 'ws://127.0.0.1:7880/ws?access_token=t');
    assert.equal(signalUrl('wss://h/prefix/ws', 't'), 'wss://h/prefix/ws?access_token=t');
    assert.equal(signalUrl('https://h/prefix/', 't'), 'wss://h/prefix/ws?access_token=t');
    // Node has no `location`: a relative URL cannot be resolved and says what to pass instead.
    assert.throws(() => signalUrl('/', 't'), { code: 'invalid_url', message: /absolute/ });
    assert.throws(() => signalUrl('ftp://h', 't'), { code: 'invalid_url' });
  });

  it('reconnection: final closes are never retried, delays run out', async () => {
    const { ReconnectSchedule, closeFollowsError, shouldReconnect } = await sdk('reconnect.js');
    for (const code of [1000, 1009, 4001, 4003, 4008, 4009]) assert.equal(shouldReconnect(code, true), false, `close ${code}`);
    for (const code of [1001, 1006, 1011, 1013]) assert.equal(shouldReconnect(code, true), true, `close ${code}`);
    assert.equal(shouldReconnect(1006, false), false, 'not before the session started');
    assert.equal(closeFollowsError(4001), true);
    assert.equal(closeFollowsError(1006), false);

    const schedule = new ReconnectSchedule([5, 10]);
    const runs = [];
    assert.deepEqual(schedule.next(() => runs.push(1)), { attempt: 1, delayMs: 5 });
    assert.deepEqual(schedule.next(() => runs.push(2)), { attempt: 2, delayMs: 10 });
    assert.equal(schedule.next(() => runs.push(3)), null, 'no third attempt');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(runs, [2], 'a new schedule replaces the pending one');
    assert.equal(schedule.succeeded(), 2);
    assert.deepEqual(schedule.next(() => {}), { attempt: 1, delayMs: 5 }, 'after a success, from the first delay');
    schedule.cancel();
  });

  it('subscriber offers: each mid is named by its msid (participant sid, track sid)', async () => {
    const { learnLabels } = await sdk('subscriber.js');
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=msid:PA_1 TR_a',
      'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1', 'a=msid:PA_2 TR_b',
      'm=video 0 UDP/TLS/RTP/SAVPF 96', 'a=mid:2', 'a=inactive', ''].join('\r\n');
    const byMid = { 2: { participant: 'PA_old', track: 'TR_old' } };
    learnLabels(sdp, byMid);
    assert.deepEqual(byMid, {
      0: { participant: 'PA_1', track: 'TR_a' },
      1: { participant: 'PA_2', track: 'TR_b' },
      2: { participant: 'PA_old', track: 'TR_old' },
    });
  });

  it('emitter: on, once, off, and a throwing listener does not stop the others', async () => {
    const { Emitter } = await sdk('emitter.js');
    const e = new Emitter();
    const got = [];
    const always = (v) => got.push(`on ${v}`);
    const onlyOnce = (v) => got.push(`once ${v}`);
    e.on('x', () => { throw new Error('listener bug'); });
    e.on('x', always).once('x', onlyOnce);
    const error = console.error;
    console.error = () => {};
    try {
      e.emit('x', 1);
      e.emit('x', 2);
      e.off('x', always);
      e.emit('x', 3);
      e.once('y', onlyOnce).off('y', onlyOnce);
      e.emit('y', 4);
    } finally {
      console.error = error;
    }
    assert.deepEqual(got, ['on 1', 'once 1', 'on 2']);
  });

  it('moderation: the answer after a request\'s marker pong is its own; others are not', async () => {
    const { Moderation } = await sdk('moderation.js');
    const sent = [];
    const m = new Moderation((msg) => { sent.push(msg); return true; });
    const hold = m.request({ action: 'hold', identity: 'ann' });
    const list = m.list();
    assert.deepEqual(sent.map((x) => x.type), ['ping', 'moderate', 'ping', 'moderate']);
    const [first, second] = [sent[0].ts, sent[2].ts];
    assert.equal(m.error('not_found', 'an earlier message failed'), false, 'no marker back yet: not a moderation answer');
    assert.equal(m.pong(first), true);
    assert.equal(m.pong(Date.now()), false, 'a keep-alive pong');
    assert.equal(m.error('invalid_sdp', 'the media layer refused an offer'), false, 'not a moderation error');
    assert.equal(m.error('not_found', 'no participant "ann"'), true);
    await assert.rejects(hold, { code: 'not_found', message: /hold: no participant/ });
    m.pong(second);
    m.result('list', [{ identity: 'ann' }]);
    assert.deepEqual(await list, [{ identity: 'ann' }]);

    const pending = m.mute('ann', { kind: 'audio' });
    m.failAll('the connection dropped');
    await assert.rejects(pending, { code: 'disconnected' });
    const offline = new Moderation(() => false);
    await assert.rejects(offline.hold('ann'), { code: 'not_connected' });
  });

  it('roster: participants and tracks come and go with their events in order', async () => {
    const { Roster } = await sdk('roster.js');
    const { Participant } = await sdk('participant.js');
    const local = new Participant('PA_me');
    local.isLocal = true;
    const events = [];
    const roster = new Roster(local, (event, p) => events.push([event, p.participant?.identity ?? p.participant, p.publication?.source ?? p.reason ?? p.changed?.join() ?? '']));
    const info = (over = {}) => ({
      sid: 'PA_ann', identity: 'ann', name: 'Ann', state: 'joining', joined_at: 't', metadata: null, hand_raised: false,
      permissions: { can_publish: true, can_publish_sources: [], can_subscribe: true, can_publish_data: true, hidden: false, room_admin: false },
      tracks: [{ sid: 'TR_mic', kind: 'audio', source: 'microphone', mime_type: 'audio/opus', muted: false, muted_by: null }],
      ...over,
    });
    const track = { kind: 'audio', id: 'x' };
    roster.received('PA_ann', 'TR_mic', track); // before anything is known about it: kept
    roster.join(info());
    assert.deepEqual(events.splice(0), [['participantJoined', 'ann', ''], ['trackPublished', 'ann', 'microphone'], ['trackSubscribed', 'ann', 'microphone']]);
    roster.trackMuted('PA_ann', 'TR_mic', true, 'mod');
    roster.trackMuted('PA_ann', 'TR_mic', true, 'mod');
    assert.deepEqual(events.splice(0), [['trackMuted', 'ann', 'microphone']], 'a repeated mute is no event');
    roster.update(info({ state: 'connected', hand_raised: true, tracks: [] }));
    assert.deepEqual(events.splice(0), [
      ['trackUnsubscribed', 'ann', 'microphone'], ['trackUnpublished', 'ann', 'microphone'],
      ['participantUpdated', 'ann', 'state,hand'], ['handRaised', 'ann', ''],
    ]);
    roster.speakers([{ participant: 'PA_me', level: 0.5 }, { participant: 'PA_ann', level: 0.2 }]);
    assert.equal(local.audioLevel, 0.5);
    assert.deepEqual(events.splice(0), [['activeSpeakers', undefined, '']]);
    roster.leave('PA_ann', 'left');
    assert.deepEqual(events.splice(0), [['participantLeft', 'ann', 'left']]);
    assert.equal(roster.participants.size, 0);
  });
});
