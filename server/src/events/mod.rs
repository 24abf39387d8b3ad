//! The event service: one task ([`pipeline`]) takes the conference's events off signalling's
//! bounded queue, numbers them, persists them with the session records derived from them
//! ([`records`]), then fans them out to live subscribers ([`Subscription`], the SSE stream) and to
//! webhooks ([`webhooks`]). Rooms never wait for any of this: their queue drops when full.
//! HTTP lives elsewhere (`http/api/events.rs`, `http/api/sessions.rs`).

mod pipeline;
mod records;
mod subscription;
mod webhooks;

pub use subscription::Subscription;
pub(crate) use webhooks::WebhookObserver;
pub use webhooks::WebhookStats;

use crate::config::WebhookConfig;
use crate::store::{StoreError, StoreHandle, StoredEvent};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchboard_signaling::EventSink;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Events signalling may queue before it starts dropping them.
const EVENT_QUEUE: usize = 4096;
/// Live events a subscriber may fall behind by before it is resynchronised from the store.
const LIVE_BUFFER: usize = 1024;
/// How long queued webhook deliveries may still run once the server stops.
const WEBHOOK_GRACE: Duration = Duration::from_secs(3);

/// What the event service needs.
pub(crate) struct EventServiceOptions {
    /// Where events and session records go.
    pub(crate) store: StoreHandle,
    /// How long events are kept.
    pub(crate) retention: Duration,
    /// Webhook endpoints and retry policy.
    pub(crate) webhooks: WebhookConfig,
    /// Signs webhook bodies.
    pub(crate) api_secret: String,
    /// Told each webhook delivery's result (metrics).
    pub(crate) on_webhook: Option<WebhookObserver>,
}

/// A handle on the running event service: subscriptions and counters. Cheap to clone.
#[derive(Clone)]
pub struct EventService {
    shared: Arc<Shared>,
}

struct Shared {
    store: StoreHandle,
    live: broadcast::Sender<Arc<StoredEvent>>,
    /// The last number given out (and persisted, unless the store failed).
    last_seq: AtomicU64,
    webhooks: Arc<webhooks::WebhookCounters>,
}

/// The event service's tasks; [`EventTasks::stop`] once the conference has closed, so that the
/// rooms' last events are persisted and sent.
pub(crate) struct EventTasks {
    pipeline: JoinHandle<()>,
    stop: CancellationToken,
    workers: webhooks::Workers,
}

/// Closes what a crash left open, then starts numbering after the store's last event. Returns the
/// service, the sink to give the conference, and the tasks to stop at shutdown.
pub(crate) async fn start(options: EventServiceOptions) -> Result<(EventService, EventSink, EventTasks), StoreError> {
    let store = options.store;
    let abandoned = store.close_abandoned().await?;
    if abandoned.sessions + abandoned.legs > 0 {
        warn!(
            sessions = abandoned.sessions,
            legs = abandoned.legs,
            "closed session records left open by an unclean stop (reason `error`)"
        );
    }
    let last_seq = store.last_seq().await?;
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let sink = EventSink::new(tx);
    let (live, _) = broadcast::channel(LIVE_BUFFER);
    let (hooks, workers) = webhooks::start(&options.webhooks, &options.api_secret, options.on_webhook);
    let shared = Arc::new(Shared {
        store: store.clone(),
        live,
        last_seq: AtomicU64::new(last_seq),
        webhooks: hooks.counters(),
    });
    let stop = CancellationToken::new();
    let pipeline = pipeline::Pipeline::new(rx, shared.clone(), options.retention, hooks, stop.clone());
    let pipeline = tokio::spawn(pipeline.run());
    Ok((EventService { shared }, sink, EventTasks { pipeline, stop, workers }))
}

impl EventService {
    /// Live events of one room or all, after replaying the stored ones that follow `after` (a
    /// client's `Last-Event-ID`); no gap, no duplicate.
    pub fn subscribe(&self, room: Option<String>, after: Option<u64>) -> Subscription {
        // Subscribe before reading the backlog: whatever is persisted after this point is also
        // received live, and the subscription skips what it has already sent.
        let live = self.shared.live.subscribe();
        let last = self.shared.last_seq.load(Ordering::Acquire);
        Subscription::new(self.shared.store.clone(), live, room, after, last)
    }

    /// Webhook delivery counts.
    pub fn webhook_stats(&self) -> WebhookStats {
        self.shared.webhooks.stats()
    }
}

impl EventTasks {
    /// Numbers, persists and fans out what is still queued, lets webhook deliveries finish for a
    /// moment, then stops.
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        if let Err(e) = self.pipeline.await {
            warn!(error = %e, "the event pipeline ended abnormally");
        }
        self.workers.stop(WEBHOOK_GRACE).await;
    }
}
