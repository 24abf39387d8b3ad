//! Views of rooms, participants, tracks and their statistics, as the admin API and in-room
//! moderation show them (serialised as is). No logic: rooms build them.

use super::settings::RoomSettings;
use crate::permissions::Permissions;
use serde::Serialize;

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
    /// Received tracks of simulcast publishers: the layer forwarded (0 = quarter, 1 = half,
    /// 2 = full resolution).
    pub layer: Option<u8>,
    /// The layer the leg heads for (switched to at its next keyframe).
    pub target_layer: Option<u8>,
    /// Received videos not forwarded now, and why: `bandwidth` (the subscriber's estimate has no
    /// room even for the lowest layer) or `hidden` (the subscriber does not show it).
    pub paused: Option<&'static str>,
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
    /// Call state: `invited`, `lobby`, `joining`, `connected`, `on_hold`, `reconnecting` (connection lost, may resume), `disconnected`.
    pub state: &'static str,
    /// Set once disconnected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_reason: Option<String>,
    /// When it joined (RFC 3339 UTC); `None` for an invitee that has not joined yet.
    pub joined_at: Option<String>,
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
    /// The estimated bandwidth of its downlink in bit/s (from its transport-wide congestion
    /// feedback), once known: what the server shares across the videos it receives.
    pub estimated_bitrate_bps: Option<u64>,
    /// Its hand is raised.
    pub hand_raised: bool,
    /// When it was raised (RFC 3339 UTC, milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hand_raised_at: Option<String>,
}

