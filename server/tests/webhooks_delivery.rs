//! Webhooks: every event is POSTed as the same JSON the event stream sends, with
//! `Content-Type: application/json` and a `Switchboard-Signature` that verifies with the API
//! secret; failed attempts are retried with growing waits until the receiver accepts, and given up
//! after the configured number of attempts.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::join;
use common::sse::{is, EventStream};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use switchboard::config::{Config, WebhookConfig};
use switchboard::testing::{spawn_test_server_with, test_config};

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
struct Hook {
    at: Instant,
    signature: String,
    content_type: String,
    body: Bytes,
}

impl Hook {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn seq(&self) -> u64 {
        self.json()["seq"].as_u64().expect("a seq")
    }
}

/// A receiver on 127.0.0.1 answering attempt `n` (from 1) of each event with `answer(n)`.
struct Receiver {
    url: String,
    hooks: Arc<Mutex<Vec<Hook>>>,
}

async fn receiver(answer: fn(usize) -> StatusCode) -> Receiver {
    type Shared = (Arc<Mutex<Vec<Hook>>>, fn(usize) -> StatusCode);
    async fn handle(State((hooks, answer)): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let hook = Hook {
            at: Instant::now(),
            signature: header("switchboard-signature"),
            content_type: header("content-type"),
            body,
        };
        let mut hooks = hooks.lock().unwrap();
        let seq = hook.seq();
        hooks.push(hook);
        answer(hooks.iter().filter(|h| h.seq() == seq).count())
    }
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route("/hook", post(handle)).with_state((hooks.clone(), answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, hooks }
}

impl Receiver {
    /// Every attempt for `seq`, once `done` holds for them (10 s at most).
    async fn attempts(&self, seq: u64, done: impl Fn(&[Hook]) -> bool) -> Vec<Hook> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let attempts: Vec<Hook> = self.hooks.lock().unwrap().iter().filter(|h| h.seq() == seq).cloned().collect();
            if done(&attempts) {
                return attempts;
            }
            assert!(Instant::now() < deadline, "attempts for seq {seq} so far: {attempts:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Checks `t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">` independently of the server.
fn assert_signed(hook: &Hook, secret: &str) {
    let (t, v1) = hook
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature format: {:?}", hook.signature));
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert!(now.abs_diff(t.parse::<u64>().unwrap()) < 60, "a current timestamp: {t}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&hook.body);
    mac.verify_slice(&hex::decode(v1).expect("hex")).expect("the signature verifies with the API secret");
    let mut wrong = Hmac::<Sha256>::new_from_slice(b"another secret").unwrap();
    wrong.update(format!("{t}.").as_bytes());
    wrong.update(&hook.body);
    assert!(wrong.verify_slice(&hex::decode(v1).unwrap()).is_err());
}

fn config(url: &str, max_attempts: u32) -> Config {
    Config {
        webhooks: WebhookConfig {
            urls: vec![url.to_owned()],
            max_attempts,
            initial_backoff_ms: 50,
            ..WebhookConfig::default()
        },
        ..test_config()
    }
}

#[tokio::test]
async fn each_event_is_posted_signed_with_the_stream_s_json() {
    let receiver = receiver(|_| StatusCode::NO_CONTENT).await;
    let server = spawn_test_server_with(config(&receiver.url, 5)).await.unwrap();
    let mut events = EventStream::open(&server, "", &[]).await;
    let _alice = join(&server, "hooked", "alice").await;
    let streamed = events.until(|e| is(e, "participant_joined", "alice")).await;
    for event in &streamed {
        let attempts = receiver.attempts(event.id, |a| !a.is_empty()).await;
        let hook = &attempts[0];
        assert_eq!(hook.json(), event.data, "the body is the event as streamed");
        assert_eq!(hook.content_type, "application/json");
        assert_signed(hook, "secret");
    }
    // Counted once the receiver's answer is back, a moment after it saw the request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.webhook_stats().delivered < streamed.len() as u64 {
        assert!(Instant::now() < deadline, "{:?}", server.webhook_stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.webhook_stats().retried, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn failed_attempts_are_retried_with_growing_waits_until_accepted() {
    let receiver =
        receiver(|attempt| if attempt < 3 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }).await;
    let server = spawn_test_server_with(config(&receiver.url, 5)).await.unwrap();
    let mut events = EventStream::open(&server, "", &[]).await;
    let _alice = join(&server, "retried", "alice").await;
    let joined = events.until(|e| is(e, "participant_joined", "alice")).await.pop().unwrap();

    let attempts = receiver.attempts(joined.id, |a| a.len() >= 3).await;
    // Accepted on the third attempt: no fourth.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let attempts_later = receiver.attempts(joined.id, |_| true).await;
    assert_eq!(attempts_later.len(), 3, "{attempts_later:?}");
    for hook in &attempts {
        assert_eq!(hook.json(), joined.data);
        assert_signed(hook, "secret");
    }
    let (first_wait, second_wait) = (attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at);
    assert!(first_wait >= Duration::from_millis(50), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(100), "backoff doubles: {second_wait:?}");
    let stats = server.webhook_stats();
    assert!(stats.retried >= 2 && stats.delivered >= 1 && stats.failed == 0, "{stats:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn deliveries_are_given_up_after_the_last_attempt() {
    let receiver = receiver(|_| StatusCode::SERVICE_UNAVAILABLE).await;
    let server = spawn_test_server_with(config(&receiver.url, 3)).await.unwrap();
    let mut events = EventStream::open(&server, "", &[]).await;
    let _alice = join(&server, "refused", "alice").await;
    let joined = events.until(|e| is(e, "participant_joined", "alice")).await.pop().unwrap();
    receiver.attempts(joined.id, |a| a.len() >= 3).await;
    // 50 + 100 ms of backoff would have brought a fourth attempt by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.attempts(joined.id, |_| true).await.len(), 3);
    let stats = server.webhook_stats();
    assert!(stats.failed >= 1 && stats.delivered == 0, "{stats:?}");
    server.shutdown().await;
}
