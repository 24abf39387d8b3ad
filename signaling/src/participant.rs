//! A participant inside a room task: identity, permissions, call state, its two media peers,
//! its tracks, and its outbound message queue. Also the lobby's waiting entries.

use crate::admin::{ParticipantView, TrackView};
use crate::call_state::CallState;
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
    pub(crate) muted: bool,
    /// Moderator who muted it; the participant cannot unmute it by itself.
    pub(crate) muted_by: Option<String>,
    /// A moderator asked the participant to unmute; `unmute_response` is expected.
    pub(crate) unmute_requested: bool,
}

impl Track {
    pub(crate) fn info(&self) -> TrackInfo {
        TrackInfo {
            sid: self.sid.clone(),
            kind: self.kind.as_str(),
            source: self.source.clone(),
            mime_type: self.mime_type.clone(),
            muted: self.muted,
            muted_by: self.muted_by.clone(),
        }
    }

    pub(crate) fn view(&self) -> TrackView {
        TrackView {
            sid: self.sid.0.clone(),
            kind: self.kind.as_str(),
            source: self.source.clone(),
            codec: self.mime_type.clone(),
            muted: self.muted,
            muted_by: self.muted_by.clone(),
        }
    }
}

/// Who a session is, as far as every room state needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) sid: ParticipantSid,
    pub(crate) identity: Identity,
    pub(crate) name: String,
    pub(crate) permissions: Permissions,
    pub(crate) metadata: serde_json::Value,
    pub(crate) token_id: String,
    pub(crate) joined_at: String,
    pub(crate) out: mpsc::Sender<Outbound>,
}

/// The writer's queue is full or gone: the session cannot keep up.
pub(crate) struct Unreachable;

impl Member {
    /// Queues a message for the client without waiting.
    pub(crate) fn send(&self, msg: ServerMessage) -> Result<(), Unreachable> {
        self.out.try_send(Outbound::Message(msg)).map_err(|_| Unreachable)
    }

    /// Queues a close frame; the writer stops after it.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let _ = self.out.try_send(Outbound::Close { code, reason: reason.to_owned() });
    }

    pub(crate) fn view(&self, state: CallState, remote: Option<SocketAddr>, tracks: Vec<TrackView>) -> ParticipantView {
        ParticipantView {
            sid: self.sid.0.clone(),
            identity: self.identity.0.clone(),
            name: self.name.clone(),
            state: state.as_str(),
            disconnect_reason: match state {
                CallState::Disconnected(r) => Some(r.as_str().to_owned()),
                _ => None,
            },
            joined_at: self.joined_at.clone(),
            permissions: self.permissions.clone(),
            metadata: self.metadata.clone(),
            remote_address: remote.map(|a| a.to_string()),
            tracks,
        }
    }
}

/// A participant admitted to the room, with media.
pub(crate) struct Participant {
    pub(crate) member: Member,
    pub(crate) state: CallState,
    pub(crate) publisher: PeerId,
    pub(crate) subscriber: PeerId,
    pub(crate) remote: Option<SocketAddr>,
    /// Tracks in publication order.
    pub(crate) tracks: BTreeMap<TrackSid, Track>,
    /// Tracks withdrawn because `can_publish` was revoked; republished when it is granted again.
    pub(crate) withheld: Vec<Track>,
    /// Sources the client declared in its last publish offer (msid track id → source).
    pub(crate) declared_sources: HashMap<String, String>,
    /// A subscriber offer awaits this participant's answer.
    pub(crate) offer_outstanding: bool,
}

impl Participant {
    pub(crate) fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            sid: self.member.sid.clone(),
            identity: self.member.identity.0.clone(),
            name: self.member.name.clone(),
            state: self.state.as_str(),
            joined_at: self.member.joined_at.clone(),
            permissions: self.member.permissions.clone(),
            metadata: self.member.metadata.clone(),
            tracks: self.tracks.values().map(Track::info).collect(),
        }
    }

    pub(crate) fn view(&self) -> ParticipantView {
        self.member.view(self.state, self.remote, self.tracks.values().map(Track::view).collect())
    }

    pub(crate) fn send(&self, msg: ServerMessage) -> Result<(), Unreachable> {
        self.member.send(msg)
    }
}
