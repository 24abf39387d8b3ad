// The SDK event recorder: a module the e2e tests inject into a page of the server's origin
// (harness.openRecorderPage). It loads the SDK from /sdk/index.js and records every Room event as a
// JSON-safe summary in window.events, for the tests to assert on.

import * as sdk from '/sdk/index.js';

/** An event payload as plain data: participants by identity, publications by source and sid. */
function summarize(event, payload) {
  const out = { event, at: Date.now() };
  for (const [key, value] of Object.entries(payload ?? {})) {
    if (value instanceof sdk.Participant) {
      out[key] = value.identity;
      if (key === 'participant') out.local = value.isLocal;
    } else if (value instanceof sdk.RemoteTrackPublication || value instanceof sdk.LocalTrackPublication) {
      Object.assign(out, { source: value.source, trackSid: value.sid, muted: value.muted, hasTrack: value.track !== null });
    } else if (value instanceof MediaStreamTrack) {
      out.kind = value.kind;
    } else if (value instanceof Error) {
      out[key] = value.code ?? value.message;
    } else if (key === 'speakers') {
      out.speakers = value.map((s) => s.participant.identity);
    } else {
      out[key] = value;
    }
  }
  if (payload instanceof Error) Object.assign(out, { code: payload.code, message: payload.message });
  return out;
}

window.sdk = sdk;
window.events = [];
/**
 * Creates window.room, records its events, publishes camera and microphone unless told not to,
 * connects. `show` ({width, height} in CSS pixels): every received video is attached to a <video>
 * of that size (id `video-<track sid>`), so adaptive stream sees it shown. `simulcast`: the
 * Room's option. `url`: the server to connect to (default: the page's).
 */
window.startRoom = async (token, { publish = true, show = null, simulcast = false, url = undefined } = {}) => {
  const room = new sdk.Room({ simulcast });
  window.room = room;
  for (const event of sdk.ROOM_EVENTS) room.on(event, (payload) => window.events.push(summarize(event, payload)));
  if (show) {
    room.on('trackSubscribed', ({ publication, track }) => {
      if (track.kind !== 'video') return;
      const video = Object.assign(document.createElement('video'), { id: `video-${publication.sid}`, muted: true, autoplay: true });
      Object.assign(video.style, { width: `${show.width}px`, height: `${show.height}px`, display: 'block' });
      document.body.append(video);
      publication.attach(video);
    });
  }
  if (publish) await room.localParticipant.publishCameraAndMicrophone();
  try {
    await room.connect(url, token);
  } catch (err) {
    return { error: err.code };
  }
  return { state: room.state };
};
/**
 * Joins publishing camera and microphone and showing what it receives (320×240 videos, audio
 * played muted so its jitter buffer runs), as a participant of a call does; records in
 * window.firstFrameAt when the first remote video frame was shown (window.joinStartedAt: the
 * start). `url`: the server, as for startRoom.
 */
window.startCall = async (token, { url = undefined } = {}) => {
  window.joinStartedAt = performance.now();
  window.firstFrameAt = null;
  const started = window.startRoom(token, { publish: true, show: { width: 320, height: 240 }, simulcast: false, url });
  window.room.on('trackSubscribed', ({ publication, track }) => {
    if (track.kind === 'audio') {
      const audio = Object.assign(document.createElement('audio'), { autoplay: true, muted: true });
      document.body.append(audio);
      publication.attach(audio);
      return;
    }
    const video = document.getElementById(`video-${publication.sid}`);
    const first = () => { window.firstFrameAt ??= performance.now(); };
    if (video?.requestVideoFrameCallback) video.requestVideoFrameCallback(first);
    else video?.addEventListener('loadeddata', first, { once: true });
  });
  const joined = await started;
  return joined.error ? joined : { state: window.room.state, sid: window.room.localParticipant.sid };
};
window.recorderReady = true;
