//! Routes what the media shard reports to the rooms it concerns: each media event to the room
//! that owns its peer (audio levels split by room), and periodic statistics samples split the
//! same way. Two background tasks of the conference, ending with its shutdown.

use crate::ids::RoomName;
use crate::room::{RoomCommand, Shared};
use std::collections::HashMap;
use switchboard_media::{AudioLevel, MediaEvent, PeerId, PeerStats};
use tokio::sync::mpsc;
use tracing::warn;

/// Groups `items` by the room owning the peer `peer_of` names, and sends each room its share.
fn by_room<T>(shared: &Shared, items: impl IntoIterator<Item = T>, peer_of: impl Fn(&T) -> PeerId, wrap: impl Fn(Vec<T>) -> RoomCommand) {
    let mut grouped: HashMap<RoomName, Vec<T>> = HashMap::new();
    for item in items {
        if let Some(room) = shared.peers.get(&peer_of(&item)).map(|r| r.value().clone()) {
            grouped.entry(room).or_default().push(item);
        }
    }
    for (room, items) in grouped {
        if let Some(tx) = shared.room(&room) {
            let _ = tx.send(wrap(items));
        }
    }
}

/// Samples media statistics periodically and hands each room its peers' samples.
pub(crate) async fn sample_stats(shared: Shared) {
    let mut tick = tokio::time::interval(shared.options.stats_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.shutdown.cancelled() => break,
        }
        let Some(samples) = shared.media.stats().await else { break };
        by_room(&shared, samples, |s: &PeerStats| s.peer, RoomCommand::Stats);
    }
}

/// Forwards each media event to the room owning its peer.
pub(crate) async fn route_media_events(shared: Shared, mut events: mpsc::UnboundedReceiver<MediaEvent>) {
    loop {
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = shared.shutdown.cancelled() => None,
        };
        let Some(ev) = ev else { break };
        let peer = match &ev {
            MediaEvent::AudioLevels { levels } => {
                let wrap = |levels| RoomCommand::Media(MediaEvent::AudioLevels { levels });
                by_room(&shared, levels.iter().copied(), |l: &AudioLevel| l.publisher, wrap);
                continue;
            }
            MediaEvent::LocalDescription { peer, .. }
            | MediaEvent::NegotiationFailed { peer, .. }
            | MediaEvent::MediaRefused { peer, .. }
            | MediaEvent::PeerConnected { peer, .. }
            | MediaEvent::PeerDisconnected { peer }
            | MediaEvent::PeerFailed { peer }
            | MediaEvent::StreamState { subscriber: peer, .. } => *peer,
            MediaEvent::SourceOpened { publisher, .. }
            | MediaEvent::SourceClosed { publisher, .. }
            | MediaEvent::LayersWanted { publisher, .. } => *publisher,
            other => {
                warn!(event = ?other, "unhandled media event");
                continue;
            }
        };
        if let Some(tx) = shared.room_of_peer(peer) {
            let _ = tx.send(RoomCommand::Media(ev));
        }
    }
}
