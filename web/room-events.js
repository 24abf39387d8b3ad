// What the built-in page does with each event of the SDK's Room: participants and their tracks
// drawn as tiles, our own media controls and preview, moderation notices and prompts, hold,
// moves, the lobby, reconnection, chat, speakers and connection quality — written into the
// test-visible store (window.switchboard) and the view. The texts people read are here.

// `removed{reason}` reasons the server names itself; any other reason is the moderator's text.
const REMOVED_TEXT = {
  removed: 'You were removed from the room by a moderator',
  room_ended: 'The room was ended',
  replaced: 'You joined again from another tab or device',
};
const KIND_OF_SOURCE = { microphone: 'audio', camera: 'video', screen: 'screen' };

/** Subscribes `call` (call.js) to every event of its Room. */
export function bindRoomEvents(call) {
  const { room, store: s, view } = call;
  const local = room.localParticipant;
  let removedReason = 'removed';
  let reconnectWhy = null;

  /** Draws remote `participant`: its store entry, its tile and the media received from it. */
  const render = (participant) => {
    const entry = {
      identity: participant.identity, name: participant.name, state: participant.state,
      quality: participant.quality, hand: participant.handRaised, tracks: {},
    };
    for (const p of participant.trackPublications.values()) entry.tracks[p.sid] = {
      kind: p.kind, source: p.source, muted: p.muted, paused: p.streamState === 'paused',
    };
    s.participants[participant.sid] = entry;
    view.upsertParticipant(participant.sid, entry);
    view.attachStreams(participant.sid, entry, call.streams.of(participant));
    // Adaptive stream: each video is sent at the size of the tile showing it.
    for (const p of participant.trackPublications.values()) {
      const video = p.kind === 'video' ? view.videoOf(participant.sid, p.source === 'screen') : null;
      if (video) p.observe(video);
    }
  };
  const renderRemote = ({ participant }) => {
    if (!participant.isLocal) render(participant);
  };

  room.on('stateChanged', ({ state, reason, error }) => {
    if (state === 'lobby') {
      s.state = 'lobby';
      s.room = room.name;
      call.record({ kind: 'lobby', text: 'Waiting for a moderator to let you in…' });
      view.lobby(room.name);
    } else if (state === 'disconnected') {
      ended(reason, error);
    }
  });

  /** The Room is over: the call ends with a state and a text that say why. */
  const ended = (reason, error) => {
    if (reason === 'left') return call.finish('left', null);
    if (reason === 'denied') return call.finish('denied', { kind: 'denied', text: 'A moderator declined your request' });
    if (['removed', 'room_ended', 'replaced'].includes(reason)) {
      const why = reason === 'removed' ? removedReason : reason;
      return call.finish('removed', { kind: 'removed', text: REMOVED_TEXT[why] ?? `You were removed: ${why}` });
    }
    if (reason === 'timeout') {
      s.lastError = { code: error.code, message: reconnectWhy };
      return call.finish('error', { kind: 'error', text: `Disconnected: ${reconnectWhy}, and reconnecting failed.` });
    }
    s.lastError = { code: error?.code ?? 'error', message: error?.message ?? 'the call ended' };
    return call.finish('error', { kind: 'error', text: `Disconnected: ${error?.message ?? 'the call ended'}.` });
  };

  room.on('joined', ({ room: name, participant, reconnected }) => {
    Object.assign(s, { identity: participant.identity, participantSid: participant.sid, name: participant.name, room: name });
    s.timings.wsOpen ??= room.timings.wsOpen;
    view.reconnecting(null);
    view.joined(name);
    view.ownName(participant.name);
    s.state = 'joined';
    // A reconnection that did not resume: the server had let us go, this is a new participant.
    if (reconnected) {
      call.notify({ kind: 'reconnected', text: 'Rejoined as a new participant (the call had let you go while away)', key: 'reconnect' });
    }
    if (s.timings.firstFrameDecoded === null) call.pollFirstFrame();
  });
  room.on('reconnected', ({ resumed }) => {
    view.reconnecting(null);
    if (!resumed) return;
    // Resumed: same participant, tiles and streams as before the drop.
    s.state = 'joined';
    view.status(`send ${room.engine?.publisherPC?.connectionState ?? '-'}, receive ${room.engine?.subscriberPC?.connectionState ?? '-'}`);
    call.record({ kind: 'reconnected', text: 'Back in the call' });
    call.notify({ kind: 'reconnected', text: 'Reconnected', key: 'reconnect' });
  });
  room.on('reconnecting', ({ reason, closeCode, attempt, maxAttempts, resuming }) => {
    if (reason === 'server_shutdown') view.dismissNotice('going-away');
    reconnectWhy = reason === 'server_shutdown' ? 'The server restarted' : `Lost the connection to the server (close code ${closeCode})`;
    s.state = 'reconnecting';
    s.reconnects += 1;
    if (!resuming) {
      // The next join is a new participant: nothing of this one stays.
      Object.assign(s, { participants: {}, speakers: [], onHold: false, quality: null });
      call.streams.clear();
      view.clearParticipants();
      view.hold(false);
      view.closePrompts();
      view.speaking([], false);
    }
    const text = `${reconnectWhy}. Reconnecting… (attempt ${attempt} of ${maxAttempts})`;
    call.record({ kind: 'reconnecting', text });
    view.reconnecting(text);
    view.status('Reconnecting…');
  });
  room.on('admitted', () => {
    s.state = 'joining';
    call.notify({ kind: 'admitted', text: 'A moderator let you in' });
    view.status('Joining…');
  });
  room.on('removed', ({ reason }) => { removedReason = reason; });

  // --- the others ---
  for (const event of ['participantJoined', 'participantUpdated', 'trackPublished', 'trackUnpublished',
    'trackSubscribed', 'trackUnsubscribed', 'trackStreamStateChanged']) room.on(event, renderRemote);
  room.on('participantLeft', ({ participant }) => {
    delete s.participants[participant.sid];
    call.streams.forget(participant.sid);
    view.removeParticipant(participant.sid);
  });
  room.on('connectionQuality', ({ participant, quality }) => {
    if (!participant.isLocal) return render(participant);
    s.quality = quality;
    return view.ownQuality(quality);
  });
  room.on('activeSpeakers', ({ speakers }) => {
    s.speakers = speakers.map((sp) => ({ participant: sp.participant.sid, level: sp.level }));
    const sids = speakers.filter((sp) => !sp.participant.isLocal).map((sp) => sp.participant.sid);
    view.speaking(sids, speakers.some((sp) => sp.participant.isLocal));
  });

  // --- our own media ---
  const ownMuted = ({ participant, publication, by }) => {
    if (!participant.isLocal) return render(participant);
    const kind = KIND_OF_SOURCE[publication.source];
    if (kind === 'screen') {
      if (publication.muted && by) {
        call.notify({ kind: 'moderator_muted', text: `Moderator ${by} stopped your screen share`, key: 'moderator-screen' });
      }
      return undefined;
    }
    const key = `moderator-${kind}`;
    const what = kind === 'audio' ? 'microphone' : 'camera';
    const wasLocked = s.mutedBy[kind];
    if (publication.muted && by) {
      const text = kind === 'audio' ? `Muted by moderator ${by}` : `Camera turned off by moderator ${by}`;
      call.notify({ kind: 'moderator_muted', text, key });
    } else if (!publication.muted && by) {
      // The room allows remote unmute: it applied at once.
      call.notify({ kind: 'moderator_unmuted', text: `Moderator ${by} turned your ${what} back on`, key });
    } else if (wasLocked) {
      view.dismissNotice(key);
    }
    if (!publication.muted && publication.sid) view.closePrompt(publication.sid);
    s.muted[kind] = publication.muted;
    s.mutedBy[kind] = publication.mutedBy;
    return view.ownMedia(kind, { muted: publication.muted, lockedBy: publication.mutedBy });
  };
  room.on('trackMuted', ownMuted);
  room.on('trackUnmuted', ownMuted);
  room.on('localTrackChanged', ({ publication }) => {
    if (publication.source !== 'screen') {
      const stream = call.streams.local(local);
      if (stream) view.showLocal(stream);
      return;
    }
    const track = publication.track;
    s.screenSharing = track !== null;
    view.screenSharing(track !== null, track && new MediaStream([track]), s.name);
  });
  room.on('unmuteRequested', ({ publication, by }) => {
    const text = publication.source === 'microphone'
      ? `${by} asks you to unmute your microphone`
      : `${by} asks you to turn your ${publication.source === 'camera' ? 'camera on' : 'screen share back on'}`;
    call.record({ kind: 'unmute_requested', text });
    view.unmutePrompt(publication.sid, text);
  });
  room.on('handRaised', ({ participant }) => (participant.isLocal ? ownHand(true) : undefined));
  room.on('handLowered', ({ participant, byModerator }) => {
    if (!participant.isLocal) return;
    if (byModerator) call.notify({ kind: 'hand', text: 'A moderator lowered your hand', key: 'hand' });
    ownHand(false);
  });
  const ownHand = (raised) => {
    s.handRaised = raised;
    view.handRaised(raised);
  };
  room.on('participantUpdated', ({ participant, changed }) => {
    if (!participant.isLocal || !changed.includes('name')) return;
    s.name = participant.name;
    view.ownName(participant.name);
  });

  // --- the session ---
  room.on('onHold', ({ by }) => {
    s.onHold = true;
    view.hold(true, by);
    view.dismissNotice('hold');
    call.record({ kind: 'on_hold', text: 'You are on hold' });
  });
  room.on('resumed', ({ by }) => {
    s.onHold = false;
    view.hold(false, by);
    call.notify({ kind: 'resumed', text: 'You are back in the call', key: 'hold' });
  });
  // The others of the old room left and those of the new one joined (events) before this.
  room.on('moved', ({ room: name }) => {
    s.room = name;
    view.room(name);
    call.notify({ kind: 'moved', text: `A moderator moved you to room ${name}`, key: 'moved' });
  });
  room.on('goingAway', ({ deadlineS }) => call.notify({
    kind: 'going_away',
    text: `The server is restarting: this call continues for up to ${deadlineS} s, then reconnects by itself.`,
    key: 'going-away',
  }));
  room.on('dataReceived', ({ payload, from, participant }) => {
    s.lastData = { from, payload };
    if (payload?.type !== 'chat' || typeof payload.text !== 'string') return;
    const name = from === null ? 'Moderator' : participant?.name || from;
    call.addChat({ from, name, text: payload.text, own: false });
  });
  room.on('error', (err) => {
    s.lastError = { code: err.code, message: err.message };
    call.alert(err.code === 'client_error' ? `Could not handle a message: ${err.message}` : `Server error ${err.code}: ${err.message}`);
  });
  room.on('pong', ({ rttMs }) => view.roundTrip(rttMs));
  room.on('transportStateChanged', ({ publisher, subscriber }) => view.status(`send ${publisher ?? '-'}, receive ${subscriber ?? '-'}`));
}
