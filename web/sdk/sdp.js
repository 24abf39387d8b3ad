// What the SDK reads of its own SDP: the `a=msid` track id of each m-section by its mid. The
// server names published tracks by that id (`publish_offer.sources`); Chromium makes it the
// MediaStreamTrack's id, Firefox a UUID of its own, so the SDK reads it from the offer.

/**
 * The msid track id of every m-section that has a mid and an `a=msid` line.
 * @param {string} sdp
 * @returns {Map<string, string>} mid -> msid track id
 */
export function msidTracksByMid(sdp) {
  const out = new Map();
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const lines = section.split(/\r?\n/);
    const mid = lines.find((l) => l.startsWith('a=mid:'))?.slice('a=mid:'.length).trim();
    // a=msid:<stream id> <track id>
    const msid = lines.find((l) => l.startsWith('a=msid:'))?.slice('a=msid:'.length).trim().split(/\s+/);
    if (mid && msid && msid.length >= 2) out.set(mid, msid[1]);
  }
  return out;
}
