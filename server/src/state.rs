//! The state every HTTP handler shares: configuration, the conference, metrics, events, the store
//! and the drain. Built once by `app::spawn`; handlers get it as `State<Arc<AppState>>`.

use crate::config::Config;
use crate::drain::{Drain, DrainStatus};
use crate::events::EventService;
use crate::metrics::Metrics;
use crate::store::StoreHandle;
use std::sync::Arc;
use std::time::Duration;
use switchboard_signaling::{Conference, EventSink};
use tokio_util::sync::CancellationToken;

/// State shared by every HTTP handler.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) conference: Conference,
    pub(crate) metrics: Arc<Metrics>,
    /// Where rooms send their events (also read for the dropped-events metric).
    pub(crate) events: EventSink,
    /// Numbered events: live subscriptions with replay, webhook counters.
    pub(crate) event_service: EventService,
    /// Events and session records.
    pub(crate) store: StoreHandle,
    pub(crate) shutdown: CancellationToken,
    /// The drain, started by a signal or `POST /api/v1/server/drain`.
    pub(crate) drain: Drain,
}

impl AppState {
    /// Starts the drain (idempotent) with the configured deadline, or a shorter one.
    pub(crate) fn start_drain(&self, timeout: Option<Duration>, started_by: String) -> DrainStatus {
        let configured = Duration::from_secs(self.config.drain_timeout_s);
        let timeout = timeout.map_or(configured, |t| t.min(configured));
        self.drain.start(&self.conference, timeout, started_by)
    }
}

