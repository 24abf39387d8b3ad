//! The server's drain: started once, by a signal or an admin call; ends when every room is empty
//! or the deadline passes, whichever comes first. The process then shuts down.

use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use switchboard_signaling::Conference;
use tokio_util::sync::CancellationToken;
use tracing::info;
use utoipa::ToSchema;

/// Where a drain stands, as the admin API reports it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub(crate) struct DrainStatus {
    /// When the drain started (RFC 3339).
    pub(crate) started_at: String,
    /// When everyone still connected is disconnected with `server_shutdown` (RFC 3339).
    pub(crate) deadline_at: String,
    /// Seconds from the start to the deadline.
    pub(crate) timeout_s: u64,
    /// What started it: `signal` or `admin:<caller>`.
    pub(crate) started_by: String,
}

/// One drain per process.
#[derive(Default)]
pub(crate) struct Drain {
    status: Mutex<Option<DrainStatus>>,
    /// Cancelled when the drain is over: rooms empty or deadline reached.
    done: CancellationToken,
}

impl Drain {
    /// Starts the drain unless one runs already; returns the drain in progress either way.
    /// Joins are refused at once and every participant is told `going_away`.
    pub(crate) fn start(&self, conference: &Conference, timeout: Duration, started_by: String) -> DrainStatus {
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(running) = status.as_ref() {
            return running.clone();
        }
        let now = SystemTime::now();
        let started = DrainStatus {
            started_at: humantime::format_rfc3339_seconds(now).to_string(),
            // `drain_timeout_s` is at most a day (Config::validate), so this neither overflows
            // nor leaves humantime's range.
            deadline_at: humantime::format_rfc3339_seconds(now.checked_add(timeout).unwrap_or(now)).to_string(),
            timeout_s: timeout.as_secs(),
            started_by,
        };
        info!(
            deadline_s = timeout.as_secs(),
            started_by = %started.started_by,
            "draining: no new joins; calls continue until they end or the deadline"
        );
        conference.start_drain(timeout);
        let conference = conference.clone();
        let done = self.done.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = conference.emptied() => info!("drain complete: every room is empty"),
                () = tokio::time::sleep(timeout) => info!("drain deadline reached"),
                () = done.cancelled() => {}
            }
            done.cancel();
        });
        *status = Some(started.clone());
        started
    }

    /// The drain in progress, if any.
    pub(crate) fn status(&self) -> Option<DrainStatus> {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Resolves when a started drain is over.
    pub(crate) async fn finished(&self) {
        self.done.cancelled().await;
    }
}
