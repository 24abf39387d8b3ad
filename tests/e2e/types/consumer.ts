// A TypeScript app against the SDK's emitted declarations (scripts/check-web.sh copies it beside
// them and compiles it strictly): the event names and payloads, states and moderation calls are
// typed, and a wrong event name is an error.

import { Room, connect, type RoomEvents, type RoomState } from './index.js';

const room = new Room({ reconnectDelaysMs: [100] });
room.on('trackSubscribed', ({ participant, publication, track }) => {
  const name: string = participant.name;
  const kind: 'audio' | 'video' = publication.kind;
  track.stop();
  void name; void kind;
});
room.on('stateChanged', ({ state, reason, error }) => {
  const s: RoomState = state;
  void s; void reason; void error?.code;
});
// @ts-expect-error: not an event of the Room
room.on('trackSubscribd', () => {});
const moved: RoomEvents['moved'] = { room: 'b', previousRoom: 'a' };
void moved;
void room.moderation.remove('ann', { reason: 'bye', ban: true });
void room.localParticipant.setMuted('microphone', true);
void connect('https://sfu.example.com', 'token', { audio: true, video: 'device-id' });
