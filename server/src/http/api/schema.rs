//! OpenAPI schemas of the admin API's *responses*. The views are serialised from signalling's own
//! types (`RoomView`, `ParticipantView`, …), which know nothing of OpenAPI; these structs mirror
//! their JSON field by field, and `tests/api_openapi.rs` (and the media test in
//! `tests/api_moderation.rs`) fail when the served JSON and these schemas drift apart. Request
//! bodies are described by the very structs that parse them, next to their handlers.

#![allow(dead_code)] // these types exist for their schemas; no code builds them

use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

/// One server-sent event of `GET /api/v1/events` (the `text/event-stream` framing): `id` is the
/// event's `seq`, `event` its `type`, and `data` the [`Event`](crate::store::StoredEvent) as JSON.
/// The stream also carries `:keep-alive` comment lines, which are not events.
#[derive(Serialize, ToSchema)]
pub(crate) struct SseEvent {
    /// The event's `seq`, in decimal.
    #[schema(pattern = "^[0-9]+$")]
    id: String,
    /// The event's `type` (see docs/events.md).
    event: String,
    /// The event as JSON, an `Event` (the document says so with `contentMediaType` and
    /// `contentSchema`).
    data: String,
}

/// The error body of every failed request.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable snake_case code, e.g. `room_not_found`, `invalid_json`, `unauthorized`.
    #[schema(example = "room_not_found")]
    code: String,
    /// Human-readable explanation; may change between versions.
    message: String,
}

/// `audio` or `video`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrackKind {
    Audio,
    Video,
}

/// A participant's call state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CallState {
    Invited,
    Lobby,
    Joining,
    Connected,
    OnHold,
    /// Its connection was lost; it may resume within the resume window (docs/protocol.md).
    Reconnecting,
    Disconnected,
}

/// What a participant may do (the token's `permissions` claim; unknown fields are rejected).
#[derive(Serialize, ToSchema)]
#[schema(as = Permissions)]
pub(crate) struct PermissionsSchema {
    /// May publish tracks (default true).
    can_publish: Option<bool>,
    /// Sources it may publish (`camera`, `microphone`, `screen`); empty means all.
    can_publish_sources: Option<Vec<String>>,
    /// Receives the other participants' tracks (default true).
    can_subscribe: Option<bool>,
    /// May send data messages (default true).
    can_publish_data: Option<bool>,
    /// Invisible to the other participants (default false).
    hidden: Option<bool>,
    /// May moderate its own room over the WebSocket (default false); does not open this API.
    room_admin: Option<bool>,
}

/// A room.
#[derive(Serialize, ToSchema)]
#[schema(as = Room)]
pub(crate) struct RoomSchema {
    /// Unique name, used in every route.
    name: String,
    /// This room session's id.
    sid: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// Participants in the room, not counting the lobby.
    num_participants: u64,
    /// Participants waiting in the lobby.
    num_waiting: u64,
    /// The dominant speaker's identity.
    #[schema(required = true)]
    active_speaker: Option<String>,
    /// Most participants; 0 means no limit.
    max_participants: u32,
    /// Joiners wait in the lobby until a moderator admits them.
    lobby: bool,
    /// A moderator's unmute applies at once instead of asking the participant.
    allow_remote_unmute: bool,
    /// Seconds an empty room stays open.
    empty_timeout_s: u64,
    /// Free-form application data.
    metadata: serde_json::Value,
}

/// How well a participant's media flows.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConnectionQuality {
    Excellent,
    Good,
    Poor,
    Lost,
    /// Before the first sample.
    Unknown,
}

/// Statistics of one stream over the last sampling interval (from RTCP and forwarding counters).
#[derive(Serialize, ToSchema)]
#[schema(as = TrackStats)]
pub(crate) struct TrackStatsSchema {
    /// Bits per second.
    bitrate_bps: u64,
    /// Packets per second.
    packets_per_second: f64,
    /// Packets in total.
    packets: u64,
    /// Bytes in total.
    bytes: u64,
    /// Packets lost in total.
    packets_lost: i64,
    /// Loss over the interval.
    loss_percent: f64,
    /// Interarrival jitter.
    jitter_ms: f64,
    /// Round-trip time (subscribed tracks, from receiver reports).
    #[schema(required = true)]
    rtt_ms: Option<f64>,
    /// NACKs.
    nack_count: u32,
    /// PLIs.
    pli_count: u32,
    /// FIRs.
    fir_count: u32,
    /// From the last keyframe (VP8).
    #[schema(required = true)]
    frame_width: Option<u16>,
    /// From the last keyframe (VP8).
    #[schema(required = true)]
    frame_height: Option<u16>,
    /// Video frames per second.
    #[schema(required = true)]
    frames_per_second: Option<f64>,
    /// Received tracks of simulcast publishers: the layer forwarded (0 = quarter, 1 = half,
    /// 2 = full resolution); null otherwise.
    #[schema(required = true)]
    layer: Option<u8>,
    /// The layer the leg heads for (switched to at its next keyframe).
    #[schema(required = true)]
    target_layer: Option<u8>,
    /// Received videos not forwarded now, and why: `bandwidth` (the subscriber's estimated
    /// bandwidth has no room even for the lowest layer) or `hidden` (the subscriber hides it).
    #[schema(required = true)]
    paused: Option<PausedReason>,
}

/// Why a received video is not forwarded.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PausedReason {
    Bandwidth,
    Hidden,
}

/// A track a participant receives.
#[derive(Serialize, ToSchema)]
#[schema(as = Subscription)]
pub(crate) struct SubscriptionSchema {
    /// Track sid.
    track: String,
    /// The publisher's identity.
    publisher: String,
    /// The leg's statistics, once sampled.
    #[schema(required = true)]
    stats: Option<TrackStatsSchema>,
}

/// A published track.
#[derive(Serialize, ToSchema)]
#[schema(as = Track)]
pub(crate) struct TrackSchema {
    /// Track sid.
    sid: String,
    kind: TrackKind,
    /// `camera`, `microphone` or `screen`.
    source: String,
    /// Codec mime type, e.g. `audio/opus`.
    codec: String,
    /// Muted (by anyone).
    muted: bool,
    /// Who muted it, when a moderator did.
    #[schema(required = true)]
    muted_by: Option<String>,
    /// As received from the publisher, once sampled.
    #[schema(required = true)]
    stats: Option<TrackStatsSchema>,
}

/// A participant.
#[derive(Serialize, ToSchema)]
#[schema(as = Participant)]
pub(crate) struct ParticipantSchema {
    /// Session id; a rejoin gets a new one.
    sid: String,
    /// Unique within the room.
    identity: String,
    /// Display name.
    name: String,
    state: CallState,
    /// Set once disconnected: `left`, `removed`, `room_ended`, `moved`, `denied`, `timeout`,
    /// `replaced`, `server_shutdown`, `error`.
    disconnect_reason: Option<String>,
    /// When it joined (RFC 3339 UTC); null for an invitee that has not joined yet.
    #[schema(format = DateTime, required = true)]
    joined_at: Option<String>,
    permissions: PermissionsSchema,
    /// Free-form application data.
    metadata: serde_json::Value,
    /// The client's media address, once connected.
    #[schema(required = true)]
    remote_address: Option<String>,
    /// Published tracks.
    tracks: Vec<TrackSchema>,
    /// Tracks it receives.
    subscriptions: Vec<SubscriptionSchema>,
    connection_quality: ConnectionQuality,
    /// The estimated bandwidth of its downlink in bit/s (from its transport-wide congestion
    /// feedback), once known: what the server shares across the videos it receives.
    #[schema(required = true)]
    estimated_bitrate_bps: Option<u64>,
    /// Its hand is raised (it asks to speak).
    hand_raised: bool,
    /// When the hand went up (RFC 3339 UTC); absent while lowered.
    #[schema(format = DateTime)]
    hand_raised_at: Option<String>,
}

/// `{"rooms": [...]}`
#[derive(Serialize, ToSchema)]
pub(crate) struct RoomList {
    rooms: Vec<RoomSchema>,
}

/// `{"participants": [...]}`
#[derive(Serialize, ToSchema)]
pub(crate) struct ParticipantList {
    participants: Vec<ParticipantSchema>,
}

/// `{"bans": [identity, ...]}`
#[derive(Serialize, ToSchema)]
pub(crate) struct BanList {
    /// Banned identities.
    bans: Vec<String>,
}

/// An invite: a join token and the link that carries it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Invite {
    /// Join token (HS256 JWT) for this room and identity.
    token: String,
    /// `{base}/join?token=…`, base taken from the request's Host.
    url: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// A minted join token.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenReply {
    /// HS256 JWT.
    token: String,
}

/// How many participants a data message reached.
#[derive(Serialize, ToSchema)]
pub(crate) struct Delivered {
    delivered: u64,
}

/// Errors every admin route can answer with.
#[derive(IntoResponses)]
pub(crate) enum AuthErrors {
    /// No, malformed, wrongly signed or expired token (`unauthorized`, `invalid_token`,
    /// `token_expired`, `token_not_yet_valid`); carries `WWW-Authenticate: Bearer`.
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorBody),
    /// A valid token without the server-wide `admin` grant (`forbidden`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// More than 20 requests per second (burst 40) for this caller (`rate_limited`).
    #[response(status = 429, headers(("Retry-After" = u64, description = "seconds to wait")))]
    RateLimited(ErrorBody),
}

/// Errors of routes that take a JSON body.
#[derive(IntoResponses)]
pub(crate) enum BodyErrors {
    /// Malformed JSON (`invalid_json`), wrong types, missing or unknown fields (`invalid_request`),
    /// or a bad path or query parameter (`invalid_path`, `invalid_query`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body exceeds 64 KiB (`payload_too_large`).
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// The body is not sent as `application/json` (`unsupported_media_type`).
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// A value the room does not accept (`invalid_request`), e.g. an unknown kind.
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// A path or query parameter that does not parse: not UTF-8 once decoded (`invalid_path`), a
/// wrong type or an unknown name (`invalid_query`).
#[derive(IntoResponses)]
#[response(status = 400)]
pub(crate) struct BadParams(ErrorBody);

/// The room, participant or track does not exist (`room_not_found`, `participant_not_found`,
/// `track_not_found`).
#[derive(IntoResponses)]
#[response(status = 404)]
pub(crate) struct NotFound(ErrorBody);
