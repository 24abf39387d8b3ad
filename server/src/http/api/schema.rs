//! OpenAPI schemas of the admin API's *responses*. The views are serialised from signalling's own
//! types (`RoomView`, `ParticipantView`, …), which know nothing of OpenAPI; these structs mirror
//! their JSON field by field, and the tests below fail when the two drift apart. Request bodies are
//! described by the very structs that parse them, next to their handlers.

#![allow(dead_code)] // these types exist for their schemas; no code builds them

use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

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
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    joined_at: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use switchboard_signaling::{
        ParticipantView, Permissions, RoomSettings, RoomView, SubscriptionView, TrackStatsView, TrackView,
    };
    use utoipa::PartialSchema;

    fn schema_fields<T: PartialSchema>() -> BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["properties"].as_object().expect("an object schema").keys().cloned().collect()
    }

    fn json_fields(value: impl Serialize) -> BTreeSet<String> {
        serde_json::to_value(value).unwrap().as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn mirrors_match_the_json_of_the_signalling_views() {
        let room = RoomView {
            name: "r".into(),
            sid: "RM_x".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            num_participants: 1,
            num_waiting: 0,
            settings: RoomSettings {
                max_participants: 0,
                lobby: false,
                allow_remote_unmute: false,
                empty_timeout_s: 20,
                metadata: serde_json::Value::Null,
            },
        };
        assert_eq!(json_fields(&room), schema_fields::<RoomSchema>());
        let stats = TrackStatsView {
            bitrate_bps: 32_000,
            packets_per_second: 50.0,
            packets: 500,
            bytes: 40_000,
            packets_lost: 0,
            loss_percent: 0.0,
            jitter_ms: 1.0,
            rtt_ms: None,
            nack_count: 0,
            pli_count: 0,
            fir_count: 0,
            frame_width: None,
            frame_height: None,
            frames_per_second: None,
        };
        assert_eq!(json_fields(&stats), schema_fields::<TrackStatsSchema>());
        let track = TrackView {
            sid: "TR_x".into(),
            kind: "audio",
            source: "microphone".into(),
            codec: "audio/opus".into(),
            muted: false,
            muted_by: None,
            stats: Some(stats.clone()),
        };
        assert_eq!(json_fields(&track), schema_fields::<TrackSchema>());
        let subscription = SubscriptionView { track: "TR_y".into(), publisher: "bob".into(), stats: Some(stats) };
        assert_eq!(json_fields(&subscription), schema_fields::<SubscriptionSchema>());
        let participant = ParticipantView {
            sid: "PA_x".into(),
            identity: "alice".into(),
            name: "Alice".into(),
            state: "disconnected",
            disconnect_reason: Some("left".into()),
            joined_at: "2024-01-01T00:00:00Z".into(),
            permissions: Permissions::default(),
            metadata: serde_json::Value::Null,
            remote_address: None,
            tracks: vec![track],
            subscriptions: vec![subscription],
            connection_quality: "unknown",
        };
        assert_eq!(json_fields(&participant), schema_fields::<ParticipantSchema>());
        assert_eq!(json_fields(Permissions::default()), schema_fields::<PermissionsSchema>());
    }
}
