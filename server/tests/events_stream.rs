//! `GET /api/v1/events` streams the conference's events as SSE: a join and a leave arrive in order
//! with increasing `seq`, each frame's `id:`/`event:` match its JSON, which has the contract's
//! shape; browsers' EventSource may pass the admin token as `?access_token=` (on this route only).

mod common;

use common::sse::{admin_token, is, request, EventStream};
use common::{assert_matches_schema, join, Api};
use futures_util::SinkExt;
use std::collections::BTreeSet;
use switchboard::testing::spawn_test_server;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_join_and_a_leave_arrive_in_order_with_increasing_seq() {
    let server = spawn_test_server().await.unwrap();
    let mut events = EventStream::open(&server, "", &[]).await;
    let mut alice = join(&server, "stream", "alice").await;
    alice.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    let seen = events.until(|e| is(e, "participant_left", "alice")).await;

    let types: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    let position = |ty: &str| types.iter().position(|t| *t == ty).unwrap_or_else(|| panic!("{ty} in {types:?}"));
    assert!(position("room_started") < position("participant_joined"), "{types:?}");
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id), "seq increases: {seen:?}");
    let contract: BTreeSet<&str> = ["seq", "type", "at", "room", "participant", "data"].into();
    for e in &seen {
        assert_eq!(e.data["seq"], e.id, "id: is the seq");
        assert_eq!(e.data["type"], e.event.as_str(), "event: is the type");
        assert_eq!(e.data["room"], "stream");
        assert!(e.data["at"].as_str().is_some_and(|at| at.ends_with('Z')), "RFC 3339 UTC: {}", e.data);
        let fields = e.data.as_object().unwrap().keys().map(String::as_str).collect::<BTreeSet<_>>();
        assert!(fields.is_subset(&contract), "{fields:?}");
    }
    let joined = seen.iter().find(|e| is(e, "participant_joined", "alice")).expect("alice's join");
    assert!(joined.data["data"]["sid"].as_str().is_some_and(|s| s.starts_with("PA_")), "{}", joined.data);
    let left = seen.last().unwrap();
    assert_eq!(left.data["data"]["reason"], "left");
    assert_eq!(left.data["data"]["sid"], joined.data["data"]["sid"]);

    // What is served is what the OpenAPI document describes.
    let doc = Api::with_token(&server, None).get("/api/v1/openapi.json").await.expect(200);
    for e in &seen {
        assert_matches_schema(&doc, "Event", &e.data);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn event_source_may_pass_the_admin_token_in_the_query() {
    let server = spawn_test_server().await.unwrap();
    let base = format!("http://{}", server.http_addr());
    let url = format!("{base}/api/v1/events?access_token={}", admin_token(&server));
    let mut events = EventStream::from_response(reqwest::get(url).await.unwrap());
    let _bob = join(&server, "query-token", "bob").await;
    events.until(|e| is(e, "participant_joined", "bob")).await;

    // Without a token, with a participant's token, or on another route: refused.
    let status = |url: String| async move { reqwest::get(url).await.unwrap().status().as_u16() };
    assert_eq!(status(format!("{base}/api/v1/events")).await, 401);
    assert_eq!(status(format!("{base}/api/v1/events?access_token={}", server.token("r", "eve"))).await, 403);
    assert_eq!(status(format!("{base}/api/v1/events?access_token=not-a-jwt")).await, 401);
    assert_eq!(status(format!("{base}/api/v1/rooms?access_token={}", admin_token(&server))).await, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_stream_parameters_are_400() {
    let server = spawn_test_server().await.unwrap();
    for (query, headers, code) in [
        ("?room=", &[][..], "invalid_query"),
        ("?colour=red", &[], "invalid_query"),
        ("?last_event_id=minus-one", &[], "invalid_query"),
        ("", &[("last-event-id", "abc")], "invalid_last_event_id"),
    ] {
        let reply = request(&server, query, headers).await;
        assert_eq!(reply.status(), 400, "{query} {headers:?}");
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{query} {headers:?}");
    }
    server.shutdown().await;
}
