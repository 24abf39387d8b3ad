//! The moderation vocabulary: room settings, views of rooms and participants for the admin API,
//! the operations moderators can ask of a room, and their errors.

use crate::permissions::Permissions;
use serde::{Deserialize, Serialize};

/// Settings of a room (all optional on creation; defaults from the server config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// Most participants; 0 means no limit.
    pub max_participants: u32,
    /// Joiners wait in the lobby until a moderator admits them.
    pub lobby: bool,
    /// A moderator's unmute applies at once instead of asking the participant.
    pub allow_remote_unmute: bool,
    /// Seconds an empty room stays open.
    pub empty_timeout_s: u64,
    /// Free-form application data.
    pub metadata: serde_json::Value,
}

/// A change of room settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomPatch {
    /// See [`RoomSettings::max_participants`].
    pub max_participants: Option<u32>,
    /// See [`RoomSettings::lobby`].
    pub lobby: Option<bool>,
    /// See [`RoomSettings::allow_remote_unmute`].
    pub allow_remote_unmute: Option<bool>,
    /// See [`RoomSettings::empty_timeout_s`].
    pub empty_timeout_s: Option<u64>,
    /// See [`RoomSettings::metadata`].
    pub metadata: Option<serde_json::Value>,
}

/// A room as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomView {
    /// Unique name.
    pub name: String,
    /// This room session's id.
    pub sid: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Participants in the room (not counting the lobby).
    pub num_participants: usize,
    /// Participants waiting in the lobby.
    pub num_waiting: usize,
    /// The dominant speaker's identity.
    pub active_speaker: Option<String>,
    /// Settings.
    #[serde(flatten)]
    pub settings: RoomSettings,
}

/// Statistics of one stream over the last sampling interval (derived from RTCP and the
/// forwarder's own counters).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackStatsView {
    /// Bits per second.
    pub bitrate_bps: u64,
    /// Packets per second.
    pub packets_per_second: f64,
    /// Packets in total.
    pub packets: u64,
    /// Bytes in total.
    pub bytes: u64,
    /// Packets lost in total.
    pub packets_lost: i64,
    /// Loss over the interval (published: counted by us; subscribed: the subscriber's report).
    pub loss_percent: f64,
    /// Interarrival jitter.
    pub jitter_ms: f64,
    /// Round-trip time (subscribed tracks, from receiver reports).
    pub rtt_ms: Option<f64>,
    /// NACKs.
    pub nack_count: u32,
    /// PLIs.
    pub pli_count: u32,
    /// FIRs.
    pub fir_count: u32,
    /// From the last keyframe (VP8).
    pub frame_width: Option<u16>,
    /// From the last keyframe (VP8).
    pub frame_height: Option<u16>,
    /// Video frames per second.
    pub frames_per_second: Option<f64>,
}

/// A track this participant receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionView {
    /// Track sid.
    pub track: String,
    /// The publisher's identity.
    pub publisher: String,
    /// The leg's statistics.
    pub stats: Option<TrackStatsView>,
}

/// A track as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackView {
    /// Track sid.
    pub sid: String,
    /// `audio` or `video`.
    pub kind: &'static str,
    /// `camera`, `microphone` or `screen`.
    pub source: String,
    /// Codec mime type.
    pub codec: String,
    /// Muted (by anyone).
    pub muted: bool,
    /// Who muted it, when a moderator did.
    pub muted_by: Option<String>,
    /// As received from the publisher.
    pub stats: Option<TrackStatsView>,
}

/// A participant as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantView {
    /// Session id.
    pub sid: String,
    /// Identity.
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Call state: `invited`, `lobby`, `joining`, `connected`, `on_hold`, `disconnected`.
    pub state: &'static str,
    /// Set once disconnected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_reason: Option<String>,
    /// RFC 3339 UTC.
    pub joined_at: String,
    /// Permissions.
    pub permissions: Permissions,
    /// Free-form application data.
    pub metadata: serde_json::Value,
    /// The client's media address, once connected.
    pub remote_address: Option<String>,
    /// Published tracks.
    pub tracks: Vec<TrackView>,
    /// Tracks it receives.
    pub subscriptions: Vec<SubscriptionView>,
    /// `excellent`, `good`, `poor`, `lost`, or `unknown` before the first sample.
    pub connection_quality: &'static str,
    /// Its hand is raised.
    pub hand_raised: bool,
    /// When it was raised (RFC 3339 UTC, milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hand_raised_at: Option<String>,
}

/// A change of a participant; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantPatch {
    /// Display name.
    pub name: Option<String>,
    /// Application data.
    pub metadata: Option<serde_json::Value>,
    /// New permissions (replace the old ones, live).
    pub permissions: Option<Permissions>,
    /// `false` lowers the participant's hand; only the participant raises it.
    pub hand_raised: Option<bool>,
}

/// What to mute on one participant: one track, or every track of a kind.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// A track sid.
    pub track: Option<String>,
    /// `audio` or `video`.
    pub kind: Option<String>,
    /// Mute (true) or unmute / ask to unmute (false).
    pub muted: bool,
}

/// A moderation operation on one room. `by` names the moderator for events.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AdminOp {
    /// Room view.
    GetRoom,
    /// Change settings.
    UpdateRoom(RoomPatch),
    /// Disconnect everyone with `room_ended` and close the room.
    EndRoom,
    /// Every participant (lobby included).
    ListParticipants,
    /// One participant.
    GetParticipant(String),
    /// Change name/metadata/permissions live.
    UpdateParticipant(String, ParticipantPatch),
    /// Remove with a reason; `ban` adds the identity to the ban list.
    RemoveParticipant {
        /// Identity.
        identity: String,
        /// Told to the client in `removed{reason}`.
        reason: Option<String>,
        /// Also ban the identity.
        ban: bool,
    },
    /// The ban list.
    ListBans,
    /// Lift a ban.
    LiftBan(String),
    /// Mute/unmute tracks of one participant.
    Mute(String, MuteRequest),
    /// Mute every track of `kind` in the room, except these identities.
    MuteRoom {
        /// `audio` or `video`.
        kind: String,
        /// Identities left alone.
        except: Vec<String>,
    },
    /// Put on hold.
    Hold(String),
    /// Resume from hold.
    Resume(String),
    /// Move to another room.
    Move {
        /// Identity.
        identity: String,
        /// Destination room.
        to_room: String,
    },
    /// Lobby list.
    ListLobby,
    /// Admit from the lobby.
    Admit(String),
    /// Deny from the lobby.
    Deny(String),
    /// Record an invite (`invited` until it joins or `expires_at` passes, unix seconds).
    Invite {
        /// Identity.
        identity: String,
        /// Display name.
        name: Option<String>,
        /// Unix seconds.
        expires_at: u64,
    },
    /// Send a data payload to everyone or to these identities.
    SendData {
        /// JSON payload.
        payload: serde_json::Value,
        /// Recipients; empty means everyone.
        to: Vec<String>,
    },
}

/// What an [`AdminOp`] returns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AdminReply {
    /// A room.
    Room(RoomView),
    /// One participant.
    Participant(ParticipantView),
    /// Several participants.
    Participants(Vec<ParticipantView>),
    /// Identities (ban list).
    Identities(Vec<String>),
    /// Done, nothing to show.
    Done,
    /// Number of recipients.
    Delivered(usize),
}

impl AdminReply {
    /// The reply as JSON (for `moderate_result`).
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            AdminReply::Room(r) => serde_json::to_value(r),
            AdminReply::Participant(p) => serde_json::to_value(p),
            AdminReply::Participants(p) => serde_json::to_value(p),
            AdminReply::Identities(i) => serde_json::to_value(i),
            AdminReply::Done => Ok(serde_json::Value::Null),
            AdminReply::Delivered(n) => Ok(serde_json::json!({ "delivered": n })),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}

/// Why a moderation operation failed. Mapped to HTTP statuses by the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// 404.
    #[error("room {0:?} not found")]
    RoomNotFound(String),
    /// 404.
    #[error("participant {0:?} not found in this room")]
    ParticipantNotFound(String),
    /// 404.
    #[error("track {0:?} not found")]
    TrackNotFound(String),
    /// 409.
    #[error("room {0:?} already exists")]
    RoomExists(String),
    /// 422.
    #[error("{0}")]
    Invalid(String),
    /// 403 (in-room moderation without `room_admin`).
    #[error("{0}")]
    PermissionDenied(String),
    /// 503.
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl AdminError {
    /// The stable snake_case code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::RoomNotFound(_) => "room_not_found",
            AdminError::ParticipantNotFound(_) => "participant_not_found",
            AdminError::TrackNotFound(_) => "track_not_found",
            AdminError::RoomExists(_) => "room_exists",
            AdminError::Invalid(_) => "invalid_request",
            AdminError::PermissionDenied(_) => "permission_denied",
            AdminError::ShuttingDown => "unavailable",
        }
    }
}
