//! Bad input over the WebSocket gets a precise `error{code}` (or a documented close) and never
//! breaks the session, the room or the server.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::auth::Claims;
use switchboard::testing::spawn_test_server;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &switchboard::RunningServer, token: &str) -> Ws {
    let url = format!("ws://{}/ws?access_token={token}", server.http_addr());
    tokio_tungstenite::connect_async(url).await.expect("websocket connects").0
}

/// Next JSON message, or `Err(close code)` when the server closes.
async fn next(ws: &mut Ws) -> Result<Value, u16> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("server answers in time");
        match frame {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).expect("server sends JSON")),
            Some(Ok(Message::Close(f))) => return Err(f.map(|f| u16::from(f.code)).unwrap_or(1005)),
            Some(Ok(_)) => continue,
            _ => return Err(1006),
        }
    }
}

async fn joined(server: &switchboard::RunningServer, room: &str, identity: &str) -> Ws {
    let mut ws = connect(server, &server.token(room, identity)).await;
    let first = next(&mut ws).await.unwrap();
    assert_eq!(first["type"], "joined");
    assert_eq!(first["protocol"], 1);
    ws
}

async fn expect_error(ws: &mut Ws, code: &str) {
    let msg = next(ws).await.unwrap();
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["code"], code, "{msg}");
    assert!(msg["message"].as_str().is_some_and(|m| !m.is_empty()));
}

async fn still_alive(ws: &mut Ws) {
    ws.send(Message::text(json!({"type": "ping", "ts": 42}).to_string())).await.unwrap();
    let pong = next(ws).await.unwrap();
    assert_eq!(pong, json!({"type": "pong", "ts": 42.0}));
}

#[tokio::test]
async fn malformed_messages_get_errors_and_the_session_survives() {
    let server = spawn_test_server().await.unwrap();
    let mut ws = joined(&server, "bad", "alice").await;
    let cases = [
        ("{not json", "invalid_json"),
        ("[1,2,3]", "invalid_json"),
        (r#"{"type": 5}"#, "invalid_json"),
        (r#"{"type": "teleport"}"#, "unknown_type"),
        (r#"{"type": "publish_offer"}"#, "invalid_message"),
        (r#"{"type": "subscribe_answer", "sdp": "v=0"}"#, "out_of_order"),
        (r#"{"type": "publish_offer", "sdp": "this is not SDP"}"#, "invalid_sdp"),
    ];
    for (frame, code) in cases {
        ws.send(Message::text(frame)).await.unwrap();
        expect_error(&mut ws, code).await;
        still_alive(&mut ws).await;
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    expect_error(&mut ws, "unsupported_frame").await;
    still_alive(&mut ws).await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_frame_closes_only_that_session() {
    let server = spawn_test_server().await.unwrap();
    let mut bystander = joined(&server, "big", "bob").await;
    let mut ws = joined(&server, "big", "alice").await;
    let _ = next(&mut bystander).await; // participant_joined
    let huge = json!({"type": "ping", "pad": "x".repeat(70 * 1024)}).to_string();
    ws.send(Message::text(huge)).await.unwrap();
    expect_error(&mut ws, "message_too_large").await;
    assert_eq!(next(&mut ws).await, Err(u16::from(CloseCode::Size)));
    let left = next(&mut bystander).await.unwrap();
    assert_eq!((left["type"].as_str(), left["identity"].as_str()), (Some("participant_left"), Some("alice")));
    still_alive(&mut bystander).await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_tokens_are_refused_with_a_code_and_close_4001() {
    let server = spawn_test_server().await.unwrap();
    let key = server.api_key().to_owned();
    let valid = Claims::join(&key, "t", "eve", None, Duration::from_secs(60));
    let now = valid.nbf;
    let cases = [
        (String::new(), "token_missing"),
        ("not-a-jwt".to_owned(), "invalid_token"),
        (valid.sign("another-secret"), "invalid_token"),
        (Claims { iss: "other-key".into(), ..valid.clone() }.sign("secret"), "invalid_token"),
        (server.sign(&Claims { exp: now - 5, nbf: now - 60, ..valid.clone() }), "token_expired"),
        (server.sign(&Claims { nbf: now + 600, ..valid.clone() }), "token_not_yet_valid"),
        (server.sign(&Claims::admin(&key, "root", Duration::from_secs(60))), "room_missing"),
    ];
    for (token, code) in cases {
        let mut ws = connect(&server, &token).await;
        expect_error(&mut ws, code).await;
        assert_eq!(next(&mut ws).await, Err(4001), "{code}");
    }
    // the server still admits a good token
    let mut ws = joined(&server, "t", "eve").await;
    still_alive(&mut ws).await;
    server.shutdown().await;
}

#[tokio::test]
async fn flooding_is_rate_limited() {
    let server = spawn_test_server().await.unwrap();
    let mut ws = joined(&server, "flood", "mallory").await;
    // 400 messages at once exceed the burst of 100 plus 50/s unless the server needed > 6 s.
    for _ in 0..400 {
        ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    }
    let mut limited = 0;
    for _ in 0..400 {
        let msg = next(&mut ws).await.unwrap();
        if msg["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited > 0, "a flood is answered with rate_limited errors");
    still_alive(&mut ws).await;
    server.shutdown().await;
}

#[tokio::test]
async fn leave_closes_normally_and_the_room_goes_away() {
    let server = spawn_test_server().await.unwrap();
    let mut ws = joined(&server, "bye", "alice").await;
    ws.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    assert_eq!(next(&mut ws).await, Err(1000));
    let mut snap = server.snapshot().await;
    for _ in 0..50 {
        if snap.rooms == 0 && snap.session_tasks == 0 && snap.media_peers == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        snap = server.snapshot().await;
    }
    assert_eq!((snap.rooms, snap.participants, snap.session_tasks, snap.media_peers, snap.demux_entries), (0, 0, 0, 0, 0));
    server.shutdown().await;
}
