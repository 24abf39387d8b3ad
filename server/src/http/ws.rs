//! `GET /ws?access_token=…`: one WebSocket per participant session.
//!
//! The handler authenticates the token, joins the room, then pumps frames both ways: client text
//! frames are parsed (every malformed frame gets an `error` reply) and handed to the room; the
//! room's outbound messages are written in order. The socket closing, or going silent for
//! [`IDLE_TIMEOUT`], ends the session; dropping the [`Session`] tells the room.

use crate::app::AppState;
use crate::auth::verify;
use crate::metrics::Metrics;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use switchboard_signaling::protocol::{parse_client_message, MAX_FRAME_BYTES};
use switchboard_signaling::{
    ClientMessage, ErrorCode, Identity, JoinError, JoinRequest, Outbound, RoomName, ServerMessage, Session,
};
use tokio::time::Instant;
use tracing::{debug, info};

/// A client that sends nothing (not even a pong to our pings) for this long is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// Sustained messages per second, and burst.
const RATE: f64 = 50.0;
const BURST: f64 = 100.0;
/// Refused messages before the socket is closed for abuse.
const ABUSE_LIMIT: u32 = 500;

pub(crate) async fn upgrade(
    ws: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    // Frames above our own limit must reach us to be answered with `message_too_large`;
    // tungstenite drops the connection only far beyond it.
    ws.max_message_size(16 * MAX_FRAME_BYTES)
        .max_frame_size(16 * MAX_FRAME_BYTES)
        .on_upgrade(move |socket| session(socket, query.get("access_token").cloned(), state))
}

async fn send_json(socket: &mut WebSocket, metrics: &Metrics, msg: &ServerMessage) -> bool {
    metrics.count_ws_message("out", msg.kind());
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Closes cleanly: sends the close frame, then reads until the client's own close frame (or a
/// short timeout). Dropping the socket with the client's data still unread would make the
/// kernel reset the connection, and the client would lose the last messages and the close code.
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason.to_owned()) };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(frame)) = socket.recv().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn refuse(mut socket: WebSocket, metrics: &Metrics, code: ErrorCode, message: String, close_code: u16) {
    send_json(&mut socket, metrics, &ServerMessage::Error { code, message }).await;
    close(&mut socket, close_code, "refused").await;
}

async fn session(socket: WebSocket, token: Option<String>, state: Arc<AppState>) {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return refuse(socket, &state.metrics, ErrorCode::TokenMissing, "no access_token query parameter".into(), 4001).await;
    };
    let c = &state.config;
    let claims = match verify(&token, &c.api_key, &c.api_secret) {
        Ok(claims) => claims,
        Err(e) => return refuse(socket, &state.metrics, e.code, e.message, 4001).await,
    };
    let Some(room) = claims.room.filter(|r| !r.is_empty()) else {
        return refuse(socket, &state.metrics, ErrorCode::RoomMissing, "the token names no room; mint a join token".into(), 4001).await;
    };
    let request = JoinRequest {
        room: RoomName(room),
        identity: Identity(claims.sub.clone()),
        name: claims.name.unwrap_or(claims.sub),
        permissions: claims.permissions,
        metadata: serde_json::Value::Null,
        token_id: claims.jti,
    };
    let session = match state.conference.join(request).await {
        Ok(s) => s,
        Err(JoinError::RoomFull) => {
            return refuse(socket, &state.metrics, ErrorCode::RoomFull, "the room is full; try again later".into(), 4003).await
        }
        Err(JoinError::Banned) => {
            return refuse(socket, &state.metrics, ErrorCode::Banned, "this identity is banned from the room".into(), 4003).await
        }
        Err(JoinError::TokenRevoked) => {
            let msg = "this token was revoked when its participant was removed; ask for a new invite".into();
            return refuse(socket, &state.metrics, ErrorCode::TokenRevoked, msg, 4003).await;
        }
        Err(JoinError::Draining) => {
            return refuse(socket, &state.metrics, ErrorCode::ServerDraining, JoinError::Draining.to_string(), 1013).await
        }
        Err(e) => return refuse(socket, &state.metrics, ErrorCode::Internal, e.to_string(), 1001).await,
    };
    info!(room = ?session.room(), participant = %session.sid, "websocket session started");
    pump(socket, session, &state).await;
}

/// Token bucket for the per-connection message rate.
struct RateLimit {
    tokens: f64,
    last: Instant,
    refused: u32,
}

impl RateLimit {
    fn new() -> Self {
        Self { tokens: BURST, last: Instant::now(), refused: 0 }
    }

    fn allow(&mut self, now: Instant) -> bool {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * RATE).min(BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.refused += 1;
            false
        }
    }
}

async fn pump(mut socket: WebSocket, mut session: Session, state: &AppState) {
    let metrics = &state.metrics;
    let mut limit = RateLimit::new();
    let mut last_seen = Instant::now();
    let mut ping = tokio::time::interval(PING_INTERVAL);
    loop {
        tokio::select! {
            out = session.outbound.recv() => match out {
                Some(Outbound::Message(msg)) => {
                    if !send_json(&mut socket, metrics, &msg).await {
                        break;
                    }
                }
                Some(Outbound::Close { code, reason }) => {
                    close(&mut socket, code, &reason).await;
                    break;
                }
                None => break,
            },
            frame = socket.recv() => {
                let Some(Ok(frame)) = frame else { break };
                let now = Instant::now();
                last_seen = now;
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Binary(_) => {
                        let msg = ServerMessage::error(ErrorCode::UnsupportedFrame, "binary frames are not part of the protocol; send JSON text");
                        send_json(&mut socket, metrics, &msg).await;
                        continue;
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                if text.len() > MAX_FRAME_BYTES {
                    let msg = ServerMessage::error(
                        ErrorCode::MessageTooLarge,
                        format!("frame of {} bytes exceeds the {MAX_FRAME_BYTES}-byte limit", text.len()),
                    );
                    send_json(&mut socket, metrics, &msg).await;
                    close(&mut socket, 1009, "message too large").await;
                    break;
                }
                if !limit.allow(now) {
                    if limit.refused > ABUSE_LIMIT {
                        close(&mut socket, 4008, "rate limit").await;
                        break;
                    }
                    send_json(&mut socket, metrics, &ServerMessage::error(ErrorCode::RateLimited, "too many messages; slow down")).await;
                    continue;
                }
                let parsed = parse_client_message(&text);
                metrics.count_ws_message("in", parsed.as_ref().map_or("invalid", |m| m.kind()));
                match parsed {
                    Ok(ClientMessage::Ping { ts }) => {
                        send_json(&mut socket, metrics, &ServerMessage::Pong { ts }).await;
                    }
                    Ok(msg) => session.handle(msg),
                    Err(e) => {
                        debug!(participant = %session.sid, code = ?e.code, "bad client message");
                        send_json(&mut socket, metrics, &ServerMessage::error(e.code, e.message)).await;
                    }
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > IDLE_TIMEOUT {
                    info!(participant = %session.sid, "websocket idle; closing");
                    break;
                }
                let _ = socket.send(Message::Ping(Default::default())).await;
            }
            () = state.shutdown.cancelled() => {
                // The room sends `server_shutdown` closes; give the writer a moment to flush them.
                while let Ok(Some(out)) = tokio::time::timeout(Duration::from_millis(500), session.outbound.recv()).await {
                    match out {
                        Outbound::Message(msg) => {
                            send_json(&mut socket, metrics, &msg).await;
                        }
                        Outbound::Close { code, reason } => {
                            close(&mut socket, code, &reason).await;
                            break;
                        }
                    }
                }
                break;
            }
        }
    }
    info!(participant = %session.sid, "websocket session ended");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_a_burst_then_the_sustained_rate() {
        let mut l = RateLimit::new();
        let t0 = l.last;
        assert_eq!((0..150).filter(|_| l.allow(t0)).count(), 100);
        assert_eq!(l.refused, 50);
        // one second later, 50 more tokens
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..80).filter(|_| l.allow(t1)).count(), 50);
    }
}
