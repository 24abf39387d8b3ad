//! The samples the shard sends up, assembled from the objects that keep the numbers: statistics
//! of its peers (a publisher's inbound streams from its PeerConnection plus the source's frame
//! counts, each subscriber leg from its route's counters and reception report) and the mean audio
//! level of each source. Owns the assembly only; the numbers are each object's.

use crate::api::AudioLevel;
use crate::ids::{IdMap, PeerId, RouteId, SourceId};
use crate::peer::Peer;
use crate::route::Route;
use crate::source::Source;
use crate::stats::{PeerStats, TrackStats};
use std::collections::HashMap;
use std::time::Instant;

/// One [`PeerStats`] per peer.
pub(crate) fn sample(
    now: Instant,
    peers: &mut IdMap<PeerId, Peer>,
    sources: &IdMap<SourceId, Source>,
    routes: &IdMap<RouteId, Route>,
) -> Vec<PeerStats> {
    peers.iter_mut().map(|(id, peer)| peer_stats(now, *id, peer, sources, routes)).collect()
}

fn peer_stats(
    now: Instant,
    id: PeerId,
    peer: &mut Peer,
    sources: &IdMap<SourceId, Source>,
    routes: &IdMap<RouteId, Route>,
) -> PeerStats {
    // Every layer of a simulcast source: its figures are their sums (with the top layer alone, a
    // track whose top layer dynacast had switched off showed 0 b/s).
    let by_ssrc: HashMap<u32, (SourceId, u32)> = peer
        .sources
        .values()
        .filter_map(|s| sources.get(s).map(|src| (*s, src)))
        .flat_map(|(id, src)| src.layers().map(move |l| (l.ssrc, (id, src.codec.clock_rate))))
        .collect();
    let (mut inbound, mut rtt) = peer.inbound_stats(now, &by_ssrc);
    for (source_id, t) in inbound.iter_mut() {
        if let Some(src) = sources.get(source_id) {
            let frames = src.frames();
            t.frames = frames.frames;
            t.frame_size = frames.size;
        }
    }
    let mut outbound: HashMap<SourceId, TrackStats> = HashMap::new();
    for route in peer.routes.values().filter_map(|rid| routes.get(rid)) {
        let Some(mut t) = route.outbound_stats() else { continue };
        if let Some(src) = sources.get(&route.source) {
            let (current, target) = route.layer();
            t.frame_size = current.and_then(|l| src.layer_size(l));
            if src.layers().nth(1).is_some() {
                t.layer = current.and_then(|l| src.rank_of(l));
                t.target_layer = src.rank_of(target);
            }
        }
        t.paused_bandwidth = route.is_bandwidth_paused();
        t.hidden = route.is_hidden();
        // The leg's RTT from the subscriber's receiver reports stands for the peer's.
        rtt = t.rtt_s.or(rtt);
        outbound.insert(route.source, t);
    }
    PeerStats {
        peer: id,
        remote: peer.remote,
        rtt_s: rtt,
        estimated_bitrate: peer.bwe.as_ref().and_then(|b| b.estimate()),
        inbound: inbound.into_iter().collect(),
        outbound: outbound.into_iter().collect(),
    }
}

/// The mean audio level of every source that sent some since the last call (and a fresh start).
pub(crate) fn audio_levels(sources: &mut IdMap<SourceId, Source>) -> Vec<AudioLevel> {
    sources
        .iter_mut()
        .filter_map(|(id, s)| {
            let mean = s.take_audio_level()?;
            Some(AudioLevel { source: *id, publisher: s.publisher, level: mean.level, voice: mean.voice })
        })
        .collect()
}
