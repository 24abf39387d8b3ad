//! The WebSocket wire protocol (version 1, documented in `docs/protocol.md`): message types,
//! error codes, and the parser that turns any frame into a message or a precise error.

use crate::ids::{ParticipantSid, TrackSid};
use crate::permissions::Permissions;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Protocol version carried in `joined`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest accepted text frame.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Offer of the publisher PC.
    PublishOffer {
        /// SDP offer.
        sdp: String,
        /// msid track id → source (`camera`, `microphone`, `screen`).
        #[serde(default)]
        sources: HashMap<String, String>,
    },
    /// Answer to the last subscriber offer.
    SubscribeAnswer {
        /// SDP answer.
        sdp: String,
    },
    /// Asks for a subscriber offer that restarts ICE (after `restartIce()` on the subscriber PC,
    /// e.g. when the client's network changed); the publisher PC restarts with its own offer.
    IceRestart,
    /// A trickled ICE candidate.
    IceCandidate {
        /// `publisher` or `subscriber`.
        target: IceTarget,
        /// RTCIceCandidateInit.
        candidate: IceCandidateInit,
    },
    /// Mute or unmute one of the participant's own tracks.
    SetTrackMuted {
        /// Track sid.
        track: String,
        /// Mute (true) or unmute.
        muted: bool,
    },
    /// Answer to `unmute_requested`.
    UnmuteResponse {
        /// Track sid.
        track: String,
        /// Unmute (true) or stay muted.
        accept: bool,
    },
    /// Send a data payload to the room or to some identities.
    SendData {
        /// Any JSON value.
        payload: serde_json::Value,
        /// Recipients' identities; empty means everyone.
        #[serde(default)]
        to: Vec<String>,
    },
    /// Raise or lower the participant's hand (seen by everyone and by moderators).
    SetHandRaised {
        /// Raised (true) or lowered.
        raised: bool,
    },
    /// How the client shows a video it receives (adaptive stream): the server sends no layer
    /// larger than the size shown, and nothing while hidden.
    UpdateSubscription {
        /// Track sid (a video track the participant receives).
        track: String,
        /// Shown at all; a hidden tile gets nothing.
        #[serde(default = "shown")]
        visible: bool,
        /// Width shown, in CSS pixels × devicePixelRatio (1–16384).
        #[serde(default)]
        width: Option<u32>,
        /// Height shown (1–16384).
        #[serde(default)]
        height: Option<u32>,
        /// The highest simulcast layer wanted: 0 (quarter), 1 (half), 2 (full).
        #[serde(default)]
        max_layer: Option<u8>,
    },
    /// A moderation action on the participant's own room (needs `room_admin`).
    Moderate(ModerateRequest),
    /// Leave the room.
    Leave,
    /// Keepalive.
    Ping {
        /// Echoed in `pong`.
        #[serde(default)]
        ts: Option<f64>,
    },
}

impl ClientMessage {
    /// The `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::PublishOffer { .. } => "publish_offer",
            ClientMessage::SubscribeAnswer { .. } => "subscribe_answer",
            ClientMessage::IceRestart => "ice_restart",
            ClientMessage::IceCandidate { .. } => "ice_candidate",
            ClientMessage::SetTrackMuted { .. } => "set_track_muted",
            ClientMessage::UnmuteResponse { .. } => "unmute_response",
            ClientMessage::SendData { .. } => "send_data",
            ClientMessage::SetHandRaised { .. } => "set_hand_raised",
            ClientMessage::UpdateSubscription { .. } => "update_subscription",
            ClientMessage::Moderate(_) => "moderate",
            ClientMessage::Leave => "leave",
            ClientMessage::Ping { .. } => "ping",
        }
    }
}

fn shown() -> bool {
    true
}

/// Which PeerConnection a candidate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IceTarget {
    /// The client's sending PC.
    Publisher,
    /// The client's receiving PC.
    Subscriber,
}

/// The browser's RTCIceCandidateInit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IceCandidateInit {
    /// The candidate line.
    pub candidate: String,
    /// The m-line id.
    #[serde(default, rename = "sdpMid")]
    pub sdp_mid: Option<String>,
}

/// A `moderate` message: the action and its arguments (see the protocol document).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerateRequest {
    /// `mute`, `unmute`, `mute_room`, `hold`, `resume`, `remove`, `move`, `admit`, `deny`,
    /// `update_permissions`, `lower_hand`, `list`.
    pub action: String,
    /// The participant acted on.
    #[serde(default)]
    pub identity: Option<String>,
    /// A track sid (`mute`, `unmute`).
    #[serde(default)]
    pub track: Option<String>,
    /// `audio` or `video` (`mute`, `unmute`, `mute_room`).
    #[serde(default)]
    pub kind: Option<String>,
    /// Destination (`move`).
    #[serde(default)]
    pub to_room: Option<String>,
    /// Told to the removed participant (`remove`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Also ban (`remove`).
    #[serde(default)]
    pub ban: bool,
    /// Identities left alone (`mute_room`).
    #[serde(default)]
    pub except: Vec<String>,
    /// New permissions (`update_permissions`).
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

const CLIENT_TYPES: &[&str] = &[
    "publish_offer",
    "subscribe_answer",
    "ice_restart",
    "ice_candidate",
    "set_track_muted",
    "unmute_response",
    "send_data",
    "set_hand_raised",
    "update_subscription",
    "moderate",
    "leave",
    "ping",
];

/// Error codes of `error{code,message}` (see the protocol document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not JSON, or not an object with a string `type`.
    InvalidJson,
    /// `type` is not part of the protocol.
    UnknownType,
    /// Known type, wrong fields.
    InvalidMessage,
    /// Binary frame.
    UnsupportedFrame,
    /// Frame over the size limit.
    MessageTooLarge,
    /// Too many messages.
    RateLimited,
    /// Message not valid in the current state.
    OutOfOrder,
    /// SDP that cannot be parsed or applied.
    InvalidSdp,
    /// A published media section offers no codec the server forwards (its track goes nowhere).
    UnsupportedCodec,
    /// Not allowed by the participant's permissions.
    PermissionDenied,
    /// The named track or participant does not exist.
    NotFound,
    /// The identity is banned from the room.
    Banned,
    /// The token belonged to a removed participant.
    TokenRevoked,
    /// No token given.
    TokenMissing,
    /// Token malformed, forged or signed with another secret.
    InvalidToken,
    /// Token past `exp`.
    TokenExpired,
    /// Token before `nbf`.
    TokenNotYetValid,
    /// Token names no room.
    RoomMissing,
    /// Room at `max_participants`.
    RoomFull,
    /// The server is draining; join another server.
    ServerDraining,
    /// The server failed; see its log.
    Internal,
}

/// Whether a video is forwarded to a subscriber ([`ServerMessage::StreamState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStateKind {
    /// Paused by the server.
    Paused,
    /// Forwarded again.
    Active,
}

/// A message to the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// First message of a session.
    Joined {
        /// Protocol version.
        protocol: u32,
        /// The room.
        room: RoomInfo,
        /// The participant itself.
        participant: ParticipantInfo,
        /// Everyone else (not hidden).
        participants: Vec<ParticipantInfo>,
        /// ICE servers for the client's PCs (empty by default).
        ice_servers: Vec<serde_json::Value>,
        /// Secret that lets this participant resume after its connection drops: reconnect with
        /// `/ws?access_token=…&resume_token=…` within `resume_window_s` (docs/protocol.md).
        resume_token: String,
        /// How long the participant stays (`reconnecting`) after its connection is lost;
        /// 0: no resume, a lost connection leaves.
        resume_window_s: u64,
        /// This `joined` answers a resume: same sid, call state, tracks, subscriptions and
        /// media connections as before the drop (the client keeps its PeerConnections).
        resumed: bool,
    },
    /// Answer to `publish_offer`.
    PublishAnswer {
        /// SDP.
        sdp: String,
    },
    /// A subscriber offer to answer.
    SubscribeOffer {
        /// SDP.
        sdp: String,
    },
    /// Someone joined.
    ParticipantJoined {
        /// Who.
        participant: ParticipantInfo,
    },
    /// Someone left.
    ParticipantLeft {
        /// Their sid.
        participant: ParticipantSid,
        /// Their identity.
        identity: String,
        /// Why (`left`, `timeout`, `replaced`, …).
        reason: String,
    },
    /// A track was published.
    TrackPublished {
        /// Publisher sid.
        participant: ParticipantSid,
        /// The track.
        track: TrackInfo,
    },
    /// Dynacast (to a publisher): the simulcast layers of its `track` someone receives; the
    /// others may be switched off (`RTCRtpSender.setParameters`, `active: false`) until named again.
    LayersWanted {
        /// Track sid.
        track: TrackSid,
        /// Rids to keep sending, lowest first.
        rids: Vec<String>,
    },
    /// (To a subscriber) a video it receives was paused because its downlink's estimated
    /// bandwidth has no room even for the lowest layer (`state: "paused"`), or resumed
    /// (`state: "active"`); audio is never paused. `reason` is `"bandwidth"`.
    StreamState {
        /// Track sid.
        track: TrackSid,
        /// `paused` or `active`.
        state: StreamStateKind,
        /// Why: `bandwidth`.
        reason: &'static str,
    },
    /// A track is gone.
    TrackUnpublished {
        /// Publisher sid.
        participant: ParticipantSid,
        /// Track sid.
        track: TrackSid,
    },
    /// A participant's state, name, metadata or permissions changed (also sent to itself).
    ParticipantUpdated {
        /// The participant.
        participant: ParticipantInfo,
    },
    /// A track was muted or unmuted; `by` names the moderator, absent when the publisher did it.
    TrackMuted {
        /// Publisher sid.
        participant: ParticipantSid,
        /// Track sid.
        track: TrackSid,
        /// Muted now.
        muted: bool,
        /// Moderator identity.
        by: Option<String>,
    },
    /// A moderator asks this participant to unmute a track; answer with `unmute_response`.
    UnmuteRequested {
        /// Track sid.
        track: TrackSid,
        /// Moderator identity.
        by: String,
    },
    /// You are on hold: nothing you send is forwarded and you receive nothing.
    OnHold {
        /// Moderator identity.
        by: String,
    },
    /// Hold ended.
    Resumed {
        /// Moderator identity.
        by: String,
    },
    /// You were moved to another room; your PeerConnections stay up.
    Moved {
        /// The new room.
        room: RoomInfo,
        /// Its participants.
        participants: Vec<ParticipantInfo>,
    },
    /// A data payload.
    Data {
        /// Sender identity; absent when sent through the admin API.
        from: Option<String>,
        /// The payload.
        payload: serde_json::Value,
    },
    /// First message when the room has a lobby: wait for a moderator.
    LobbyWaiting {
        /// Protocol version.
        protocol: u32,
        /// The room.
        room: RoomInfo,
    },
    /// Admitted from the lobby; `joined` follows.
    Admitted,
    /// Denied from the lobby; the socket closes.
    Denied,
    /// Removed by a moderator (or the room ended); the socket closes.
    Removed {
        /// Why (`removed`, `room_ended`, or the moderator's text).
        reason: String,
    },
    /// Result of a `moderate` message.
    ModerateResult {
        /// The action.
        action: String,
        /// What it returned (participant, participants, …).
        result: serde_json::Value,
    },
    /// Who is speaking, loudest first (sent when the list or its order changes).
    Speakers {
        /// Speaking participants.
        speakers: Vec<SpeakerInfo>,
    },
    /// Connection quality changes.
    ConnectionQuality {
        /// One entry per participant whose quality changed.
        updates: Vec<QualityUpdate>,
    },
    /// The server is draining: the call continues until `deadline_s` seconds from now at most,
    /// then everyone is disconnected with `server_shutdown`; reconnect elsewhere.
    GoingAway {
        /// Seconds until the forced disconnect.
        deadline_s: u64,
    },
    /// Reply to `ping`.
    Pong {
        /// The client's `ts`.
        ts: Option<f64>,
    },
    /// Something went wrong.
    Error {
        /// Machine-readable code.
        code: ErrorCode,
        /// What happened and what to do.
        message: String,
    },
}

impl ServerMessage {
    /// The `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerMessage::Joined { .. } => "joined",
            ServerMessage::PublishAnswer { .. } => "publish_answer",
            ServerMessage::SubscribeOffer { .. } => "subscribe_offer",
            ServerMessage::ParticipantJoined { .. } => "participant_joined",
            ServerMessage::ParticipantLeft { .. } => "participant_left",
            ServerMessage::TrackPublished { .. } => "track_published",
            ServerMessage::TrackUnpublished { .. } => "track_unpublished",
            ServerMessage::LayersWanted { .. } => "layers_wanted",
            ServerMessage::StreamState { .. } => "stream_state",
            ServerMessage::ParticipantUpdated { .. } => "participant_updated",
            ServerMessage::TrackMuted { .. } => "track_muted",
            ServerMessage::UnmuteRequested { .. } => "unmute_requested",
            ServerMessage::OnHold { .. } => "on_hold",
            ServerMessage::Resumed { .. } => "resumed",
            ServerMessage::Moved { .. } => "moved",
            ServerMessage::Data { .. } => "data",
            ServerMessage::LobbyWaiting { .. } => "lobby_waiting",
            ServerMessage::Admitted => "admitted",
            ServerMessage::Denied => "denied",
            ServerMessage::Removed { .. } => "removed",
            ServerMessage::ModerateResult { .. } => "moderate_result",
            ServerMessage::Speakers { .. } => "speakers",
            ServerMessage::ConnectionQuality { .. } => "connection_quality",
            ServerMessage::GoingAway { .. } => "going_away",
            ServerMessage::Pong { .. } => "pong",
            ServerMessage::Error { .. } => "error",
        }
    }

    /// An `error` message.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error { code, message: message.into() }
    }
}

/// What a session's writer sends: a message, or a close frame after which it stops.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// A JSON message.
    Message(ServerMessage),
    /// Close the WebSocket with this code and reason.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason (short).
        reason: String,
    },
}

/// A speaking participant and its smoothed audio level (0–1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeakerInfo {
    /// Participant sid.
    pub participant: ParticipantSid,
    /// Linear level.
    pub level: f32,
}

/// A participant's new connection quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityUpdate {
    /// Participant sid.
    pub participant: ParticipantSid,
    /// `excellent`, `good`, `poor` or `lost`.
    pub quality: crate::quality::Quality,
}

/// The room as seen by clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomInfo {
    /// Room name.
    pub name: String,
    /// This room session's id.
    pub sid: String,
}

/// A participant as seen by clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantInfo {
    /// Session id.
    pub sid: ParticipantSid,
    /// Identity.
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Call state.
    pub state: &'static str,
    /// RFC 3339 UTC.
    pub joined_at: String,
    /// Permissions.
    pub permissions: Permissions,
    /// Application data.
    pub metadata: serde_json::Value,
    /// Its hand is raised.
    pub hand_raised: bool,
    /// When it was raised (RFC 3339 UTC, milliseconds), to answer hands in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hand_raised_at: Option<String>,
    /// Published tracks.
    pub tracks: Vec<TrackInfo>,
}

/// A track as seen by clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackInfo {
    /// Track sid.
    pub sid: TrackSid,
    /// `audio` or `video`.
    pub kind: &'static str,
    /// `camera`, `microphone` or `screen`.
    pub source: String,
    /// Codec.
    pub mime_type: String,
    /// Muted.
    pub muted: bool,
    /// Who muted it, when a moderator did.
    pub muted_by: Option<String>,
}

/// Why a text frame could not be turned into a [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The protocol error code.
    pub code: ErrorCode,
    /// A message for the client.
    pub message: String,
}

/// Parses one text frame, telling bad JSON, unknown types and bad fields apart.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, ParseError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(ParseError {
            code: ErrorCode::MessageTooLarge,
            message: format!("frame of {} bytes exceeds the {MAX_FRAME_BYTES}-byte limit", text.len()),
        });
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
        code: ErrorCode::InvalidJson,
        message: format!("not valid JSON: {e}"),
    })?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(ParseError {
            code: ErrorCode::InvalidJson,
            message: "expected a JSON object with a string field \"type\"".into(),
        });
    };
    if !CLIENT_TYPES.contains(&kind) {
        return Err(ParseError {
            code: ErrorCode::UnknownType,
            message: format!("unknown message type {kind:?}; see docs/protocol.md (version {PROTOCOL_VERSION})"),
        });
    }
    let kind = kind.to_owned();
    serde_json::from_value(value).map_err(|e| ParseError {
        code: ErrorCode::InvalidMessage,
        message: format!("invalid {kind} message: {e}"),
    })
}

#[cfg(test)]
mod tests;
