//! Malformed input over a whole session in memory: every bad frame gets an `error` naming the
//! problem and the session goes on; an oversized frame and abuse of the rate limit close it with
//! their codes.

mod common;

use common::Harness;
use serde_json::json;
use std::num::NonZeroU32;
use switchboard_signaling::protocol::MAX_FRAME_BYTES;
use switchboard_signaling::session::{Frame, SessionLimits};
use switchboard_signaling::Permissions;

#[tokio::test]
async fn bad_frames_get_errors_and_the_session_goes_on() {
    let h = Harness::start();
    let mut c = h.connect("errors", "alice").await;
    assert_eq!(c.next_json().await["type"], "joined");
    let cases = [
        (Frame::Text("{".into()), "invalid_json"),
        (Frame::Text("[1,2]".into()), "invalid_json"),
        (Frame::Text(r#"{"type":"teleport"}"#.into()), "unknown_type"),
        (Frame::Text(r#"{"type":"subscribe_answer"}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"subscribe_answer","sdp":"v=0"}"#.into()), "out_of_order"),
        (Frame::Text(r#"{"type":"set_track_muted","track":"TR_x","muted":true}"#.into()), "not_found"),
        (Frame::Text(r#"{"type":"moderate","action":"list"}"#.into()), "permission_denied"),
        (Frame::Text(r#"{"type":"update_subscription"}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","height":-1}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","max_layer":300}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","max_layer":3}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","width":0,"height":9}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","width":20000,"height":9}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","width":9}"#.into()), "invalid_message"),
        (Frame::Text(r#"{"type":"update_subscription","track":"TR_x","width":320,"height":180}"#.into()), "not_found"),
        (Frame::Binary, "unsupported_frame"),
    ];
    for (frame, code) in cases {
        c.send(frame.clone()).await;
        let m = c.next_of_type("error").await;
        assert_eq!(m["code"], code, "{frame:?}: {m}");
        assert!(!m["message"].as_str().unwrap().is_empty());
    }
    c.send_json(json!({"type": "ping", "ts": 7})).await;
    assert_eq!(c.next_of_type("pong").await["ts"], 7.0, "still answering after every error");
    h.shutdown.cancel();
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009_after_an_error() {
    let h = Harness::start();
    let mut c = h.connect("errors", "bob").await;
    c.next_of_type("joined").await;
    c.send(Frame::Text(format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES)))).await;
    assert_eq!(c.next_of_type("error").await["code"], "message_too_large");
    let (code, _) = c.closed().await.expect("a close frame");
    assert_eq!(code, 1009);
    h.shutdown.cancel();
}

#[tokio::test]
async fn flooding_is_rate_limited_then_closed_for_abuse() {
    let h = Harness::start();
    let n = |v| NonZeroU32::new(v).unwrap();
    let limits = SessionLimits { rate: n(1), burst: n(2), abuse_limit: 3, ..SessionLimits::default() };
    let mut c = h.connect_with("errors", "carol", Permissions::default(), limits).await;
    c.next_of_type("joined").await;
    for _ in 0..2 {
        c.send_json(json!({"type": "ping"})).await;
        c.next_of_type("pong").await;
    }
    c.send_json(json!({"type": "ping"})).await;
    assert_eq!(c.next_of_type("error").await["code"], "rate_limited");
    for _ in 0..4 {
        c.send_json(json!({"type": "ping"})).await;
    }
    let (code, reason) = c.closed().await.expect("a close frame");
    assert_eq!((code, reason.as_str()), (4008, "rate limit"));
    h.shutdown.cancel();
}
