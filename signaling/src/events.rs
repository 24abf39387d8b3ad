//! Conference events: every state change of rooms, participants and tracks, with who caused it.
//! They feed the admin event stream, webhooks and session records (all in the server crate)
//! through a bounded queue: when it is full, events are dropped and counted rather than ever
//! slowing a room down.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;
use tracing::warn;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A room opened.
    RoomStarted,
    /// A room closed (empty timeout, ended by a moderator, shutdown).
    RoomEnded,
    /// Someone entered the room (joined, admitted, moved in).
    ParticipantJoined,
    /// A participant's call state changed (`lobby`, `connected`, `on_hold`, …).
    ParticipantStateChanged,
    /// Someone left, with the reason.
    ParticipantLeft,
    /// Name, metadata or permissions changed.
    ParticipantUpdated,
    /// A track started to be forwarded.
    TrackPublished,
    /// A track is gone.
    TrackUnpublished,
    /// A track was muted.
    TrackMuted,
    /// A track was unmuted.
    TrackUnmuted,
    /// A moderator acted (mute, hold, move, remove, admit, deny, …).
    ModeratorAction,
    /// A participant's connection quality changed.
    ConnectionQualityChanged,
    /// The dominant speaker changed.
    ActiveSpeakerChanged,
    /// A video to a subscriber was paused for lack of bandwidth, or resumed.
    StreamStateChanged,
}

/// One event, before the server numbers and stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConferenceEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When (RFC 3339 UTC, millisecond precision).
    pub at: String,
    /// The room.
    pub room: String,
    /// The room session (`RM_…`).
    pub room_sid: String,
    /// The participant's identity, when the event is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Event-specific details.
    pub data: serde_json::Value,
}

/// Where rooms send their events. Cheap to clone; a sink without a queue discards everything.
#[derive(Clone, Debug, Default)]
pub struct EventSink {
    tx: Option<mpsc::Sender<ConferenceEvent>>,
    dropped: Arc<AtomicU64>,
}

impl EventSink {
    /// A sink feeding `tx`.
    pub fn new(tx: mpsc::Sender<ConferenceEvent>) -> Self {
        Self { tx: Some(tx), dropped: Arc::default() }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, kind: EventKind, room: &str, room_sid: &str, participant: Option<&str>, data: serde_json::Value) {
        let Some(tx) = &self.tx else { return };
        let event = ConferenceEvent {
            kind,
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            room: room.to_owned(),
            room_sid: room_sid.to_owned(),
            participant: participant.map(str::to_owned),
            data,
        };
        if tx.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                warn!(dropped = n, "event queue full; events dropped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_and_counts_instead_of_blocking() {
        let (tx, mut rx) = mpsc::channel(1);
        let sink = EventSink::new(tx);
        sink.emit(EventKind::RoomStarted, "r", "RM_1", None, serde_json::json!({}));
        sink.emit(EventKind::RoomEnded, "r", "RM_1", None, serde_json::json!({}));
        assert_eq!(sink.dropped(), 1);
        let ev = rx.try_recv().unwrap();
        assert_eq!(serde_json::to_value(&ev).unwrap()["type"], "room_started");
        assert!(ev.at.ends_with('Z'));
    }
}
