//! Which layer each route heads for, and which keyframes routes wait for: decisions over the
//! shard's route and source tables that need no PeerConnection. The shard sends the PLIs these
//! return (throttled per layer by each [`Source`]).

use crate::api::MediaEvent;
use crate::ids::{PeerId, RouteId, SourceId};
use crate::peer::Peer;
use crate::route::Route;
use crate::source::Source;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tracing::debug;

/// How long no route must take a layer before the publisher may switch it off (so that layers
/// do not flap while subscribers move between them).
pub(crate) const DYNACAST_GRACE: Duration = Duration::from_secs(2);

/// A keyframe wanted: of which source, on which layer (SSRC).
pub(crate) type KeyframeWanted = (SourceId, u32);

/// Points every route of a simulcast source at the layer it should forward now (what its
/// subscriber wants, among the layers sending); returns the new targets, to ask for keyframes.
pub(crate) fn retarget(now: Instant, routes: &mut HashMap<RouteId, Route>, sources: &HashMap<SourceId, Source>) -> Vec<KeyframeWanted> {
    let mut wanted = Vec::new();
    for route in routes.values_mut() {
        let Some(source) = sources.get(&route.source).filter(|s| s.layers().nth(1).is_some()) else { continue };
        // A forwarding route may head for a layer dynacast switched off (asking wakes it; the
        // route keeps its layer meanwhile); one waiting to start or restart takes one that sends.
        let wake = route.layer().0.is_some();
        let Some(layer) = source.pick_layer(now, route.want, wake) else { continue };
        if route.set_target_layer(layer) {
            debug!(source = %route.source, subscriber = %route.subscriber, rid = ?source.rid_of(layer), "layer target");
            wanted.push((route.source, layer));
        }
    }
    wanted
}

/// The keyframes routes of connected, unpaused subscribers still wait for (to start, or to
/// switch layer) that were not asked for in the last `retry`.
pub(crate) fn keyframes_due(
    now: Instant,
    retry: Duration,
    routes: &HashMap<RouteId, Route>,
    peers: &HashMap<PeerId, Peer>,
    sources: &HashMap<SourceId, Source>,
) -> Vec<KeyframeWanted> {
    let mut due: Vec<KeyframeWanted> = routes
        .values()
        .filter(|r| peers.get(&r.subscriber).is_some_and(|p| p.connected && !p.paused))
        .filter_map(|r| r.awaited_keyframe().map(|layer| (r.source, layer)))
        .filter(|(source, layer)| sources.get(source).is_some_and(|s| s.keyframe_retry_due(now, *layer, retry)))
        .collect();
    due.sort_unstable_by_key(|(s, l)| (s.0, *l));
    due.dedup();
    due
}

/// Dynacast: a [`MediaEvent::LayersWanted`] for each simulcast source whose set of wanted layers
/// changed (a layer is wanted while a route forwards it or heads for it).
pub(crate) fn dynacast(now: Instant, routes: &HashMap<RouteId, Route>, sources: &mut HashMap<SourceId, Source>) -> Vec<MediaEvent> {
    let mut taken: HashMap<SourceId, Vec<u32>> = HashMap::new();
    for route in routes.values() {
        let (current, target) = route.layer();
        let layers = taken.entry(route.source).or_default();
        layers.extend(current);
        layers.push(target);
    }
    let mut changed = Vec::new();
    for (id, source) in sources.iter_mut() {
        let taken = taken.get(id).map(Vec::as_slice).unwrap_or_default();
        if let Some(rids) = source.update_wanted(now, taken, DYNACAST_GRACE) {
            debug!(source = %id, ?rids, "layers wanted");
            changed.push(MediaEvent::LayersWanted { source: *id, publisher: source.publisher, rids });
        }
    }
    changed
}

/// Restarts each of `ids` that still has its source (after a pause or mute: numbering goes on,
/// video waits for a keyframe); returns the keyframes they need.
pub(crate) fn restart<'a>(
    now: Instant,
    ids: impl IntoIterator<Item = &'a RouteId>,
    routes: &mut HashMap<RouteId, Route>,
    sources: &HashMap<SourceId, Source>,
) -> Vec<KeyframeWanted> {
    let mut wanted = Vec::new();
    for id in ids {
        let Some(route) = routes.get_mut(id).filter(|r| sources.contains_key(&r.source)) else { continue };
        route.restart(now);
        wanted.push((route.source, route.shown_layer()));
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MediaKind;
    use crate::ids::PeerId;
    use crate::route::RouteOptions;
    use crate::source::{Layer, SourceOptions};
    use bytes::Bytes;
    use rtc::rtp::Packet;
    use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
    use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};

    const SOURCE: SourceId = SourceId(1);

    /// A VP8 source with layers h (2000) and f (3000), each having sent a keyframe at `t`.
    fn source(t: Instant) -> Source {
        let codec = RTCRtpCodec { mime_type: "video/VP8".into(), clock_rate: 90_000, ..Default::default() };
        let layer = Layer { rid: Some("h".into()), ssrc: 2000 };
        let options =
            SourceOptions { publisher: PeerId(1), receiver: RTCRtpReceiverId::default(), layer, kind: MediaKind::Video, codec, audio_level_ext: None };
        let mut s = Source::new(options);
        s.add_layer(Layer { rid: Some("f".into()), ssrc: 3000 });
        for ssrc in [2000, 3000] {
            send(&mut s, t, ssrc);
        }
        s
    }

    fn send(s: &mut Source, t: Instant, ssrc: u32) {
        let mut p = Packet { payload: Bytes::from_static(&[0x10, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]), ..Default::default() };
        p.header.ssrc = ssrc;
        s.ingest(t, &mut p);
    }

    fn route(target: u32) -> Route {
        Route::new(RouteOptions {
            source: SOURCE,
            subscriber: PeerId(2),
            sender: RTCRtpSenderId::default(),
            local_track_id: "TR_v".into(),
            out_ssrc: 9,
            kind: MediaKind::Video,
            clock_rate: 90_000,
            layer: target,
            vp8: true,
        })
    }

    #[test]
    fn a_waiting_route_heads_for_a_layer_that_sends_and_dynacast_follows_the_routes() {
        let t0 = Instant::now();
        let mut sources = HashMap::from([(SOURCE, source(t0))]);
        let mut routes = HashMap::from([(RouteId(1), route(3000))]);
        assert!(retarget(t0, &mut routes, &sources).is_empty(), "already on the best layer");
        // nothing takes h, the lowest: it stays on; f is taken
        assert!(dynacast(t0, &routes, &mut sources).is_empty());
        assert!(dynacast(t0 + DYNACAST_GRACE * 2, &routes, &mut sources).is_empty(), "nothing to switch off");
        // f goes quiet (the publisher dropped it): a route waiting to start takes h instead
        let later = t0 + Duration::from_secs(3);
        send(sources.get_mut(&SOURCE).unwrap(), later, 2000);
        assert_eq!(retarget(later, &mut routes, &sources), vec![(SOURCE, 2000)]);
        assert_eq!(routes[&RouteId(1)].layer(), (None, 2000));
        // with no route on f for the grace, the publisher may switch it off
        assert!(dynacast(later, &routes, &mut sources).is_empty(), "grace starts");
        let events = dynacast(later + DYNACAST_GRACE, &routes, &mut sources);
        assert!(matches!(&events[..], [MediaEvent::LayersWanted { rids, .. }] if rids == &["h".to_string()]), "{events:?}");
    }
}
