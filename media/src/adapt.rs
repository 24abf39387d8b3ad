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
