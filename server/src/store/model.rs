//! What the store keeps and answers: numbered events, the record changes derived from them, and
//! the session records with their paging cursor. Times are unix milliseconds inside the store and
//! RFC 3339 UTC (millisecond precision) on the way out.

use serde::{Deserialize, Serialize, Serializer};
use std::time::{Duration, SystemTime};
use utoipa::ToSchema;

/// A numbered event: what the SSE stream sends, webhooks POST and the store keeps. Serialises to
/// the contract's `{"seq", "type", "at", "room", "participant"?, "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct StoredEvent {
    /// Position in the server's event log, from 1, never reused.
    pub seq: u64,
    /// `room_started`, `participant_joined`, … (signalling's `EventKind`).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened, RFC 3339 UTC as the room wrote it.
    #[schema(format = DateTime)]
    pub at: String,
    /// `at` in unix milliseconds (pruning and ordering).
    #[serde(skip)]
    pub at_ms: i64,
    /// The room's name.
    pub room: String,
    /// The room session (`RM_…`), which is also the session record's id.
    #[serde(skip)]
    pub room_sid: String,
    /// The participant's identity, when the event is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Event-specific details.
    pub data: serde_json::Value,
}

/// What a participant's departure says about its leg (the `participant_left` summary fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LegSummary {
    /// Seconds in the room.
    pub duration_s: Option<f64>,
    /// `left`, `removed`, `timeout`, …
    pub reason: Option<String>,
    /// The client's media address.
    pub remote_address: Option<String>,
    /// Codecs it published.
    pub codecs: Vec<String>,
    /// Media bytes received from it.
    pub bytes_in: u64,
    /// Media bytes sent to it.
    pub bytes_out: u64,
    /// Media packets received from it.
    pub packets_in: u64,
    /// Media packets sent to it.
    pub packets_out: u64,
}

/// A change to the session records, derived from one event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RecordChange {
    /// A room session began.
    SessionStarted {
        /// Room sid.
        id: String,
        /// Room name.
        room: String,
        /// Unix ms.
        at_ms: i64,
    },
    /// A room session ended; legs still open end with it.
    SessionEnded {
        /// Room sid.
        id: String,
        /// Room name.
        room: String,
        /// Unix ms.
        at_ms: i64,
        /// Most participants at once, as the room counted them.
        peak_participants: Option<u32>,
    },
    /// A participant entered the room (joined, admitted, moved in).
    LegOpened {
        /// Room sid.
        session: String,
        /// Room name.
        room: String,
        /// Identity.
        identity: String,
        /// Participant sid.
        sid: String,
        /// Display name.
        name: Option<String>,
        /// Unix ms.
        at_ms: i64,
    },
    /// A participant left the room.
    LegClosed {
        /// Room sid.
        session: String,
        /// Room name.
        room: String,
        /// Identity.
        identity: String,
        /// Participant sid.
        sid: String,
        /// Display name.
        name: Option<String>,
        /// Unix ms.
        at_ms: i64,
        /// What the room measured.
        summary: LegSummary,
    },
    /// A moderator acted on a participant: `{action, by, at, details}`, appended to its open leg
    /// (or, when the action ended the leg, its latest one).
    ModeratorAction {
        /// Room sid.
        session: String,
        /// Target identity.
        identity: String,
        /// The record to append.
        action: serde_json::Value,
    },
}

/// How many records [`crate::store::Store::close_abandoned`] closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Abandoned {
    /// Room sessions.
    pub sessions: u64,
    /// Participant legs.
    pub legs: u64,
}

/// Filters and paging of `GET /api/v1/sessions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionQuery {
    /// Only this room.
    pub room: Option<String>,
    /// Only sessions this identity took part in.
    pub identity: Option<String>,
    /// Only sessions still running at or after this time (unix ms).
    pub from_ms: Option<i64>,
    /// Only sessions started at or before this time (unix ms).
    pub to_ms: Option<i64>,
    /// Page size.
    pub limit: usize,
    /// Continue after this session.
    pub cursor: Option<SessionCursor>,
}

/// Where a page of sessions ends, in their newest-first order. Sent to clients as an opaque token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    /// The last session's start (unix ms).
    pub started_ms: i64,
    /// The last session's id (ties of `started_ms`).
    pub id: String,
}

impl SessionCursor {
    /// The opaque token.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}:{}", self.started_ms, self.id))
    }

    /// Reads a token made by [`SessionCursor::encode`]; `None` for anything else.
    pub fn decode(token: &str) -> Option<Self> {
        let text = String::from_utf8(hex::decode(token).ok()?).ok()?;
        let (ms, id) = text.split_once(':')?;
        Some(Self { started_ms: ms.parse().ok()?, id: id.to_owned() }).filter(|c| !c.id.is_empty())
    }
}

impl Serialize for SessionCursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

/// One room session in a list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SessionSummary {
    /// The room sid.
    pub id: String,
    /// The room name.
    pub room: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub started_at: String,
    /// RFC 3339 UTC; `null` while the room is open.
    #[schema(format = DateTime, required = true)]
    pub ended_at: Option<String>,
    /// Most participants at once.
    pub peak_participants: u32,
    /// Participant legs (a rejoin is a new leg).
    pub participants: u64,
}

/// A page of sessions: `{"sessions": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = SessionList)]
pub struct SessionPage {
    /// Newest first.
    pub sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(value_type = Option<String>, required = true)]
    pub next_cursor: Option<SessionCursor>,
}

/// One room session with its participant legs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = Session)]
pub struct SessionDetail {
    /// The room sid.
    pub id: String,
    /// The room name.
    pub room: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub started_at: String,
    /// RFC 3339 UTC; `null` while the room is open.
    #[schema(format = DateTime, required = true)]
    pub ended_at: Option<String>,
    /// Most participants at once.
    pub peak_participants: u32,
    /// Legs in the order they joined.
    pub participants: Vec<LegRecord>,
}

/// One participant's time in one room session.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ParticipantLeg)]
pub struct LegRecord {
    /// Identity.
    pub identity: String,
    /// Participant sid.
    pub sid: String,
    /// Display name.
    pub name: Option<String>,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub joined_at: String,
    /// RFC 3339 UTC; `null` while in the room.
    #[schema(format = DateTime, required = true)]
    pub left_at: Option<String>,
    /// Seconds in the room, once left.
    pub duration_s: Option<f64>,
    /// `left`, `removed`, `timeout`, `room_ended`, `server_shutdown`, `error`, …
    pub leave_reason: Option<String>,
    /// The client's media address.
    pub remote_address: Option<String>,
    /// Codecs it published.
    pub codecs: Vec<String>,
    /// Media bytes received from it.
    pub bytes_in: u64,
    /// Media bytes sent to it.
    pub bytes_out: u64,
    /// Media packets received from it.
    pub packets_in: u64,
    /// Media packets sent to it.
    pub packets_out: u64,
    /// `{action, by, at, details}` records, oldest first.
    pub moderator_actions: Vec<serde_json::Value>,
}

/// Unix milliseconds as RFC 3339 UTC with millisecond precision.
pub(crate) fn format_ms(ms: i64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

/// Now, in unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An RFC 3339 timestamp (any offset) as unix milliseconds.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = SessionCursor { started_ms: 1_700_000_000_123, id: "RM_ab:c".into() };
        assert_eq!(SessionCursor::decode(&c.encode()), Some(c));
        for bad in ["", "zz", "not-hex", &hex::encode("123"), &hex::encode("x:RM_1"), &hex::encode("5:")] {
            assert_eq!(SessionCursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_parse_with_offsets_and_format_as_utc_millis() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_rfc3339_ms("1970-01-01T02:00:00+02:00"), Some(0));
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
        assert_eq!(format_ms(1500), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn events_serialise_to_the_contract_shape() {
        let e = StoredEvent {
            seq: 7,
            kind: "room_started".into(),
            at: "2024-01-01T00:00:00.000Z".into(),
            at_ms: 1_704_067_200_000,
            room: "r".into(),
            room_sid: "RM_1".into(),
            participant: None,
            data: serde_json::json!({}),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"seq": 7, "type": "room_started", "at": "2024-01-01T00:00:00.000Z", "room": "r", "data": {}})
        );
    }
}
