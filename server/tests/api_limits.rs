//! Limits of the admin API: bodies over 64 KiB are a JSON 413, more than 20 requests/s (burst 40)
//! from one caller a JSON 429 with `Retry-After` that does not affect other callers, and CORS is
//! same-origin unless origins are configured.

mod common;

use common::{join, Api};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use common::spawn_test_server;
use switchboard::Config;

#[tokio::test]
async fn bodies_over_64_kib_are_a_json_413() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("big", Value::Null).await;
    let _alice = join(&server, "big", "alice").await;
    let huge = json!({"payload": "x".repeat(70 * 1024)});
    api.post("/api/v1/rooms/big/data", huge).await.expect_error(413, "payload_too_large");
    let huge_room = json!({"name": "bigger", "metadata": {"blob": "y".repeat(100 * 1024)}});
    api.post("/api/v1/rooms", huge_room).await.expect_error(413, "payload_too_large");
    // Just under the limit is fine.
    let fits = json!({"payload": "z".repeat(60 * 1024)});
    assert_eq!(api.post("/api/v1/rooms/big/data", fits).await.expect(200), json!({"delivered": 1}));
    server.shutdown().await;
}

#[tokio::test]
async fn a_flooding_caller_gets_429_with_retry_after_and_others_do_not() {
    let server = spawn_test_server().await.unwrap();
    let flooder = Api::as_caller(&server, "flooder");
    let mut refused = None;
    let mut allowed = 0;
    for _ in 0..200 {
        let reply = flooder.get("/api/v1/rooms").await;
        if reply.status == 429 {
            refused = Some(reply);
            break;
        }
        allowed += 1;
    }
    let refused = refused.expect("a flood is refused").expect_error(429, "rate_limited");
    assert!(allowed >= 40, "the burst of 40 is allowed, got {allowed}");
    let retry_after: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");

    // Someone else is not affected.
    Api::as_caller(&server, "calm").get("/api/v1/rooms").await.expect(200);
    // Nor are health checks.
    assert_eq!(Api::with_token(&server, None).get("/healthz").await.status, 200);
    // After waiting as told, the flooder may call again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    flooder.get("/api/v1/rooms").await.expect(200);
    server.shutdown().await;
}

#[tokio::test]
async fn no_cors_headers_unless_origins_are_configured() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    let origin = [("origin", "https://dash.example.com")];
    let reply = api.raw(Method::GET, "/api/v1/rooms", None, &origin).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    let preflight = [
        ("origin", "https://dash.example.com"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "authorization,content-type"),
    ];
    let reply = api.raw(Method::OPTIONS, "/api/v1/rooms", None, &preflight).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    server.shutdown().await;
}

#[tokio::test]
async fn configured_origins_may_call_cross_origin() {
    let config = Config { cors_origins: vec!["https://dash.example.com".into()], ..switchboard::testing::test_config() };
    let server = switchboard::testing::spawn_test_server_with(config).await.unwrap();
    let api = Api::new(&server);
    let preflight = |origin: &'static str| {
        [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization,content-type"),
        ]
    };
    // The preflight carries no token and must not be refused for that.
    let reply = Api::with_token(&server, None)
        .raw(Method::OPTIONS, "/api/v1/rooms", None, &preflight("https://dash.example.com"))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.headers["access-control-allow-origin"], "https://dash.example.com");
    let methods = reply.headers["access-control-allow-methods"].to_str().unwrap().to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("DELETE") && methods.contains("PATCH"), "{methods}");
    let headers = reply.headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");

    let reply = api.raw(Method::GET, "/api/v1/rooms", None, &[("origin", "https://dash.example.com")]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["access-control-allow-origin"], "https://dash.example.com");

    let reply = api.raw(Method::GET, "/api/v1/rooms", None, &[("origin", "https://evil.example.com")]).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    server.shutdown().await;
}
