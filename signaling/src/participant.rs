//! A participant inside a room task: identity, permissions, its two media peers and its tracks.

use crate::ids::{Identity, ParticipantSid, TrackSid};
use crate::permissions::Permissions;
use crate::protocol::{Outbound, ParticipantInfo, ServerMessage, TrackInfo};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use switchboard_media::{MediaKind, PeerId, SourceId};
use tokio::sync::mpsc;

/// A published track.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub(crate) sid: TrackSid,
    pub(crate) source_id: SourceId,
    pub(crate) kind: MediaKind,
    pub(crate) source: String,
    pub(crate) mime_type: String,
}

impl Track {
    pub(crate) fn info(&self) -> TrackInfo {
        TrackInfo {
            sid: self.sid.clone(),
            kind: self.kind.as_str(),
            source: self.source.clone(),
            mime_type: self.mime_type.clone(),
            muted: false,
        }
    }
}

/// One participant session.
pub(crate) struct Participant {
    pub(crate) sid: ParticipantSid,
    pub(crate) identity: Identity,
    pub(crate) name: String,
    pub(crate) permissions: Permissions,
    pub(crate) joined_at: String,
    pub(crate) publisher: PeerId,
    pub(crate) subscriber: PeerId,
    pub(crate) remote: Option<SocketAddr>,
    /// Tracks in publication order.
    pub(crate) tracks: BTreeMap<TrackSid, Track>,
    /// Sources the client declared in its last publish offer (msid track id → source).
    pub(crate) declared_sources: HashMap<String, String>,
    /// A subscriber offer awaits this participant's answer.
    pub(crate) offer_outstanding: bool,
    pub(crate) out: mpsc::Sender<Outbound>,
}

/// The writer's queue is full or gone: the session cannot keep up.
pub(crate) struct Unreachable;

impl Participant {
    pub(crate) fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            sid: self.sid.clone(),
            identity: self.identity.0.clone(),
            name: self.name.clone(),
            state: "connected",
            joined_at: self.joined_at.clone(),
            permissions: self.permissions.clone(),
            tracks: self.tracks.values().map(Track::info).collect(),
        }
    }

    /// Queues a message for the client without waiting.
    pub(crate) fn send(&self, msg: ServerMessage) -> Result<(), Unreachable> {
        self.out.try_send(Outbound::Message(msg)).map_err(|_| Unreachable)
    }

    /// Queues a close frame; the writer stops after it.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let _ = self.out.try_send(Outbound::Close { code, reason: reason.to_owned() });
    }
}
