//! Webhook delivery: every event is POSTed as JSON to each configured URL with
//! `Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (keyed with the
//! API secret), from a bounded queue served by a few workers, retried with exponential backoff.
//! A full queue drops the delivery and counts it: the event pipeline never waits for a receiver.

use crate::config::WebhookConfig;
use crate::store::StoredEvent;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

/// The signature header.
pub(crate) const SIGNATURE_HEADER: &str = "Switchboard-Signature";

/// `t=<t>,v1=<hex HMAC-SHA256 over "<t>.<body>" keyed with secret>`.
pub(crate) fn signature(secret: &str, t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivery counts since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Deliveries a receiver accepted (2xx).
    pub delivered: u64,
    /// Deliveries abandoned after the last attempt failed.
    pub failed: u64,
    /// Deliveries dropped because the queue was full.
    pub dropped: u64,
    /// Failed attempts that were retried.
    pub retried: u64,
}

/// Told the result of every delivery: `delivered`, `failed` or `dropped` (the metrics' labels).
pub(crate) type WebhookObserver = Arc<dyn Fn(&'static str) + Send + Sync>;

#[derive(Default)]
pub(super) struct WebhookCounters {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retried: AtomicU64,
    observer: Option<WebhookObserver>,
}

impl WebhookCounters {
    /// Counts one final result (`delivered`, `failed`, `dropped`); returns the new count.
    fn record(&self, result: &'static str) -> u64 {
        let counter = match result {
            "delivered" => &self.delivered,
            "failed" => &self.failed,
            _ => &self.dropped,
        };
        if let Some(observe) = &self.observer {
            observe(result);
        }
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(super) fn stats(&self) -> WebhookStats {
        WebhookStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }
}

/// One event for one URL.
struct Delivery {
    url: Arc<str>,
    seq: u64,
    body: Bytes,
}

/// How attempts are made.
struct Policy {
    client: reqwest::Client,
    secret: String,
    max_attempts: u32,
    initial_backoff: Duration,
}

/// The pipeline's end of the queue. Dropping it lets the workers finish what is queued and stop.
pub(super) struct Webhooks {
    urls: Vec<Arc<str>>,
    queue: Option<async_channel::Sender<Delivery>>,
    counters: Arc<WebhookCounters>,
}

/// The delivery workers.
pub(super) struct Workers {
    handles: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

/// Starts the workers (none without URLs).
pub(super) fn start(config: &WebhookConfig, secret: &str, observer: Option<WebhookObserver>) -> (Webhooks, Workers) {
    let counters = Arc::new(WebhookCounters { observer, ..WebhookCounters::default() });
    let stop = CancellationToken::new();
    let idle = |counters| {
        (Webhooks { urls: Vec::new(), queue: None, counters }, Workers { handles: Vec::new(), stop: stop.clone() })
    };
    if config.urls.is_empty() {
        return idle(counters);
    }
    // A receiver that redirects does not get the signed body sent elsewhere.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(config.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "cannot create the webhook HTTP client; webhooks are disabled");
            return idle(counters);
        }
    };
    let policy = Arc::new(Policy {
        client,
        secret: secret.to_owned(),
        max_attempts: config.max_attempts.max(1),
        initial_backoff: Duration::from_millis(config.initial_backoff_ms),
    });
    let (tx, rx) = async_channel::bounded(config.queue_capacity.max(1));
    let handles = (0..config.workers.max(1))
        .map(|_| tokio::spawn(work(rx.clone(), policy.clone(), counters.clone(), stop.clone())))
        .collect();
    let urls = config.urls.iter().map(|u| Arc::from(u.as_str())).collect();
    (Webhooks { urls, queue: Some(tx), counters }, Workers { handles, stop })
}

impl Webhooks {
    pub(super) fn counters(&self) -> Arc<WebhookCounters> {
        self.counters.clone()
    }

    /// Queues `event` for every URL, dropping (and counting) what does not fit.
    pub(super) fn enqueue(&self, event: &StoredEvent) {
        let Some(queue) = &self.queue else { return };
        let body = match serde_json::to_vec(event) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                error!(error = %e, seq = event.seq, "event not serialisable for webhooks");
                return;
            }
        };
        for url in &self.urls {
            let delivery = Delivery { url: url.clone(), seq: event.seq, body: body.clone() };
            if queue.try_send(delivery).is_err() {
                let n = self.counters.record("dropped");
                if n.is_power_of_two() {
                    warn!(dropped = n, "webhook queue full; deliveries dropped");
                }
            }
        }
    }
}

impl Workers {
    /// Lets the workers finish the queue for up to `grace` (the queue's sender must be gone), then
    /// abandons what is left.
    pub(super) async fn stop(mut self, grace: Duration) {
        let drained = tokio::time::timeout(grace, futures_util::future::join_all(self.handles.iter_mut())).await;
        if drained.is_err() {
            warn!("webhook deliveries still pending at shutdown were abandoned");
            self.stop.cancel();
            futures_util::future::join_all(self.handles).await;
        }
    }
}

async fn work(
    queue: async_channel::Receiver<Delivery>,
    policy: Arc<Policy>,
    counters: Arc<WebhookCounters>,
    stop: CancellationToken,
) {
    loop {
        let delivery = tokio::select! {
            d = queue.recv() => match d {
                Ok(d) => d,
                Err(_) => return,
            },
            () = stop.cancelled() => return,
        };
        deliver(&policy, &counters, &stop, delivery).await;
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Attempts `d` until a 2xx, the last attempt, or shutdown. Each attempt is signed afresh, so that
/// receivers can refuse stale timestamps (replays).
async fn deliver(policy: &Policy, counters: &WebhookCounters, stop: &CancellationToken, d: Delivery) {
    let mut backoff = policy.initial_backoff;
    for attempt in 1..=policy.max_attempts {
        let request = policy
            .client
            .post(&*d.url)
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&policy.secret, unix_now(), &d.body))
            .body(d.body.clone())
            .send();
        let outcome = tokio::select! {
            r = request => r,
            () = stop.cancelled() => return,
        };
        let error = match outcome {
            Ok(response) if response.status().is_success() => {
                counters.record("delivered");
                return;
            }
            Ok(response) => format!("HTTP {}", response.status()),
            Err(e) => e.without_url().to_string(),
        };
        if attempt == policy.max_attempts {
            counters.record("failed");
            warn!(url = %d.url, seq = d.seq, attempts = attempt, error, "webhook delivery failed; giving up");
            return;
        }
        counters.retried.fetch_add(1, Ordering::Relaxed);
        debug!(url = %d.url, seq = d.seq, attempt, error, retry_in = ?backoff, "webhook delivery failed; retrying");
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => return,
        }
        backoff = backoff.saturating_mul(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Reference value from Python: hmac.new(b"secret", b'1700000000.{"seq":1}', sha256).hexdigest()
        assert_eq!(
            signature("secret", 1_700_000_000, br#"{"seq":1}"#),
            "t=1700000000,v1=de44acd957813f3e827d17d95cf7d690ba2085a7f13db6d432fd9d5cff6fdf22"
        );
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        // A URL nobody serves and one worker busy retrying: the queue of one fills up.
        let config = WebhookConfig {
            urls: vec!["http://127.0.0.1:9/hook".into()],
            queue_capacity: 1,
            workers: 1,
            initial_backoff_ms: 60_000,
            ..WebhookConfig::default()
        };
        let seen = Arc::new(AtomicU64::new(0));
        let observed = seen.clone();
        let observer: WebhookObserver = Arc::new(move |result| {
            assert_eq!(result, "dropped");
            observed.fetch_add(1, Ordering::Relaxed);
        });
        let (hooks, workers) = start(&config, "secret", Some(observer));
        let event = StoredEvent {
            seq: 1,
            kind: "room_started".into(),
            at: String::new(),
            at_ms: 0,
            room: "r".into(),
            room_sid: "RM_1".into(),
            participant: None,
            data: serde_json::json!({}),
        };
        for _ in 0..10 {
            hooks.enqueue(&event);
        }
        let dropped = hooks.counters().stats().dropped;
        assert!((8..=9).contains(&dropped), "dropped {dropped}");
        assert_eq!(seen.load(Ordering::Relaxed), dropped, "the metrics observer sees every drop");
        drop(hooks);
        workers.stop(Duration::from_millis(100)).await;
    }
}
