//! Limits and defaults of a conference, set by the server at start-up.

use crate::admin::RoomSettings;
use crate::events::EventSink;
use std::sync::Arc;
use std::time::Duration;

/// Limits and defaults of the conference.
#[derive(Clone)]
pub struct ConferenceOptions {
    /// Settings of rooms created by a join or without explicit values.
    pub default_room: RoomSettings,
    /// Where events go.
    pub events: EventSink,
    /// How often media statistics are sampled (bitrates, loss, quality).
    pub stats_interval: Duration,
    /// A participant whose connection is lost stays (`reconnecting`) this long for a resume;
    /// zero: it leaves at once.
    pub resume_window: Duration,
    /// Told how long each participant took from joining to connected media (for metrics).
    pub on_join_latency: Option<JoinLatencyObserver>,
}

/// Receives join latencies.
pub type JoinLatencyObserver = Arc<dyn Fn(Duration) + Send + Sync>;

impl Default for ConferenceOptions {
    fn default() -> Self {
        Self {
            default_room: RoomSettings {
                max_participants: 0,
                lobby: false,
                allow_remote_unmute: false,
                empty_timeout_s: 20,
                metadata: serde_json::Value::Null,
            },
            events: EventSink::default(),
            stats_interval: Duration::from_secs(2),
            resume_window: Duration::from_secs(20),
            on_join_latency: None,
        }
    }
}
