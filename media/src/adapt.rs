//! Which layer each route heads for (what its subscriber shows, within its bandwidth estimate),
//! which videos pause for bandwidth, and which keyframes routes wait for: decisions over the
//! shard's route and source tables that need no PeerConnection. The shard sends the PLIs these
//! return (throttled per layer by each [`Source`]).

use crate::allocate::{allocate, Demand};
use crate::api::{MediaEvent, MediaKind, SourcePriority};
use crate::ids::{IdMap, PeerId, RouteId, SourceId};
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

/// What a [`retarget`] pass decided: keyframes to ask for (new targets, resumed videos), and
/// the subscribers to tell that a video paused or resumed for bandwidth.
#[derive(Debug, Default)]
pub(crate) struct Retargeted {
    pub(crate) keyframes: Vec<KeyframeWanted>,
    pub(crate) events: Vec<MediaEvent>,
    /// Videos newly paused for bandwidth.
    pub(crate) pauses: u64,
}

/// Points every video route at the layer it should forward now: what its subscriber wants
/// (shown size, highest layer) among the layers sending, within the subscriber's bandwidth
/// estimate shared by [`allocate`] (a video with no room even for its lowest layer is paused).
pub(crate) fn retarget(
    now: Instant,
    routes: &mut IdMap<RouteId, Route>,
    sources: &IdMap<SourceId, Source>,
    peers: &IdMap<PeerId, Peer>,
) -> Retargeted {
    let mut out = Retargeted::default();
    // What each shown video route would take with bandwidth to spare, by subscriber.
    let mut wanted: HashMap<PeerId, Vec<(RouteId, u32)>> = HashMap::new();
    let mut audio: HashMap<PeerId, f64> = HashMap::new();
    for (id, route) in routes.iter() {
        let Some(source) = sources.get(&route.source) else { continue };
        if source.kind == MediaKind::Audio {
            *audio.entry(route.subscriber).or_default() += source.bitrate();
            continue;
        }
        if route.is_hidden() || !route.is_answered() {
            continue;
        }
        // A forwarding route may head for a layer dynacast switched off (asking wakes it; the
        // route keeps its layer meanwhile); one waiting to start or restart takes one that sends.
        let wake = route.layer().0.is_some();
        let simulcast = source.layers().nth(1).is_some();
        let top = if simulcast { source.pick_layer(now, route.want, wake) } else { Some(source.media_ssrc()) };
        if let Some(top) = top {
            wanted.entry(route.subscriber).or_default().push((*id, top));
        }
    }
    for (subscriber, legs) in wanted {
        let budget = peers.get(&subscriber).and_then(|p| p.bwe.as_ref()).and_then(|b| b.estimate());
        let choices: Vec<Option<u32>> = match budget {
            None => legs.iter().map(|(_, top)| Some(*top)).collect(),
            Some(budget) => share(now, budget, audio.get(&subscriber).copied().unwrap_or(0.0), &legs, routes, sources),
        };
        for ((id, top), choice) in legs.iter().zip(choices) {
            let Some(route) = routes.get_mut(id) else { continue };
            if route.set_bandwidth_paused(now, choice.is_none()) {
                let paused = choice.is_none();
                debug!(source = %route.source, %subscriber, paused, ?budget, "bandwidth");
                out.pauses += u64::from(paused);
                out.events.push(MediaEvent::StreamState { subscriber, source: route.source, paused });
                if !paused {
                    out.keyframes.push((route.source, route.shown_layer()));
                }
            }
            let Some(layer) = choice else { continue };
            // Held below what it wants and below what it forwards: the link is short, so the
            // current layer stops now rather than at the lower layer's keyframe.
            let source = sources.get(&route.source);
            let rank = |ssrc| source.and_then(|s| s.rank_of(ssrc));
            let short = layer != *top && route.layer().0.is_some_and(|current| rank(layer) < rank(current));
            let changed = if short { route.cut_to_layer(layer) } else { route.set_target_layer(layer) };
            if changed {
                let rid = sources.get(&route.source).and_then(|s| s.rid_of(layer));
                debug!(source = %route.source, %subscriber, ?rid, ?budget, "layer target");
                out.keyframes.push((route.source, layer));
            }
        }
    }
    out
}

/// The layer (or pause) each of one subscriber's `legs` (route, best layer wanted) gets within
/// `budget` bit/s, `audio` of which its audio takes.
fn share(
    now: Instant,
    budget: f64,
    audio: f64,
    legs: &[(RouteId, u32)],
    routes: &IdMap<RouteId, Route>,
    sources: &IdMap<SourceId, Source>,
) -> Vec<Option<u32>> {
    let candidates: Vec<Vec<(u32, f64)>> = legs
        .iter()
        .map(|(id, top)| routes.get(id).and_then(|r| sources.get(&r.source)).map(|s| s.candidates(now, *top)).unwrap_or_default())
        .collect();
    let demands: Vec<Demand> = legs
        .iter()
        .zip(&candidates)
        .map(|((id, _), layers)| {
            let route = routes.get(id);
            // What it has now: the layer it forwards, else the one it heads for; none if paused.
            let has = route.filter(|r| !r.is_bandwidth_paused()).map(|r| r.layer().0.unwrap_or(r.layer().1));
            Demand {
                priority: rank(route.and_then(|r| sources.get(&r.source)).map(|s| s.priority).unwrap_or_default(), route.and_then(|r| r.want.size)),
                // No layer at all for a paused video whose last resume failed just now.
                costs: if route.is_some_and(|r| r.resume_blocked(now)) {
                    Vec::new()
                } else {
                    layers.iter().map(|(_, cost)| *cost).collect()
                },
                current: has.and_then(|l| layers.iter().position(|(ssrc, _)| *ssrc == l)),
            }
        })
        .collect();
    let given = allocate(budget, audio, &demands);
    tracing::trace!(budget, audio, ?demands, ?given, "allocation");
    given
        .into_iter()
        .zip(&candidates)
        .map(|(given, layers)| given.and_then(|i| layers.get(i)).map(|(ssrc, _)| *ssrc))
        .collect()
}

/// A video's place in its subscriber's allocation, larger first: its source's [`SourcePriority`],
/// then the area the subscriber shows it at.
fn rank(priority: SourcePriority, size: Option<(u16, u16)>) -> u64 {
    let class = match priority {
        SourcePriority::Normal => 0,
        SourcePriority::Speaker => 1,
        SourcePriority::Screen => 2,
    };
    (class << 32) | size.map_or(0, |(w, h)| u64::from(w) * u64::from(h))
}

/// The keyframes routes of connected, unpaused subscribers still wait for (to start, or to
/// switch layer) that were not asked for in the last `retry`.
pub(crate) fn keyframes_due(
    now: Instant,
    retry: Duration,
    routes: &IdMap<RouteId, Route>,
    peers: &IdMap<PeerId, Peer>,
    sources: &IdMap<SourceId, Source>,
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
pub(crate) fn dynacast(now: Instant, routes: &IdMap<RouteId, Route>, sources: &mut IdMap<SourceId, Source>) -> Vec<MediaEvent> {
    let mut taken: HashMap<SourceId, Vec<u32>> = HashMap::new();
    for route in routes.values().filter(|r| !r.is_hidden() && !r.is_bandwidth_paused()) {
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
    routes: &mut IdMap<RouteId, Route>,
    sources: &IdMap<SourceId, Source>,
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
        let mut r = Route::new(RouteOptions {
            source: SOURCE,
            subscriber: PeerId(2),
            sender: RTCRtpSenderId::default(),
            local_track_id: "TR_v".into(),
            out_ssrc: 9,
            kind: MediaKind::Video,
            clock_rate: 90_000,
            layer: target,
            vp8: true,
        });
        r.mark_offered();
        assert!(r.on_answer(|| Some(96)));
        r
    }

    #[test]
    fn screen_share_ranks_before_the_speaker_before_larger_tiles() {
        let big = Some((1920, 1080));
        let small = Some((160, 90));
        assert!(rank(SourcePriority::Screen, small) > rank(SourcePriority::Speaker, big));
        assert!(rank(SourcePriority::Speaker, None) > rank(SourcePriority::Normal, big));
        assert!(rank(SourcePriority::Normal, big) > rank(SourcePriority::Normal, small));
        assert!(rank(SourcePriority::Normal, small) > rank(SourcePriority::Normal, None));
    }

    #[test]
    fn a_waiting_route_heads_for_a_layer_that_sends_and_dynacast_follows_the_routes() {
        let t0 = Instant::now();
        let mut sources: IdMap<_, _> = [(SOURCE, source(t0))].into_iter().collect();
        let mut routes: IdMap<_, _> = [(RouteId(1), route(3000))].into_iter().collect();
        let peers = IdMap::default();
        assert!(retarget(t0, &mut routes, &sources, &peers).keyframes.is_empty(), "already on the best layer");
        // nothing takes h, the lowest: it stays on; f is taken
        assert!(dynacast(t0, &routes, &mut sources).is_empty());
        assert!(dynacast(t0 + DYNACAST_GRACE * 2, &routes, &mut sources).is_empty(), "nothing to switch off");
        // f goes quiet (the publisher dropped it): a route waiting to start takes h instead
        let later = t0 + Duration::from_secs(3);
        send(sources.get_mut(&SOURCE).unwrap(), later, 2000);
        assert_eq!(retarget(later, &mut routes, &sources, &peers).keyframes, vec![(SOURCE, 2000)]);
        assert_eq!(routes[&RouteId(1)].layer(), (None, 2000));
        // with no route on f for the grace, the publisher may switch it off
        assert!(dynacast(later, &routes, &mut sources).is_empty(), "grace starts");
        let events = dynacast(later + DYNACAST_GRACE, &routes, &mut sources);
        assert!(matches!(&events[..], [MediaEvent::LayersWanted { rids, .. }] if rids == &["h".to_string()]), "{events:?}");
    }
}
