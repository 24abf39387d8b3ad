//! `GET /ws?access_token=…[&resume_token=…]`: one WebSocket per participant session (a resume
//! token from an earlier `joined` resumes that participant). This file keeps the upgrade
//! and the authentication (token → join request → session); the session loop itself (limits,
//! keep-alive, error replies) is signalling's [`session::drive`], over the socket's frames.

use crate::auth::verify;
use crate::metrics::Metrics;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use switchboard_signaling::protocol::MAX_FRAME_BYTES;
use switchboard_signaling::session::{self, Frame, SessionLimits};
use switchboard_signaling::{ErrorCode, Identity, JoinRequest, RoomName};
use tracing::info;

pub(crate) async fn upgrade(
    ws: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    // Frames above our own limit must reach us to be answered with `message_too_large`;
    // tungstenite drops the connection only far beyond it.
    ws.max_message_size(16 * MAX_FRAME_BYTES)
        .max_frame_size(16 * MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            connection(socket, query.get("access_token").cloned(), query.get("resume_token").cloned(), state)
        })
}

/// A socket frame as the session sees it (payloads of pings and binary frames are not needed).
fn frame_in(message: Message) -> Frame {
    match message {
        Message::Text(t) => Frame::Text(t.to_string()),
        Message::Binary(_) => Frame::Binary,
        Message::Ping(_) => Frame::Ping,
        Message::Pong(_) => Frame::Pong,
        Message::Close(c) => Frame::Close(c.map(|c| (c.code, c.reason.to_string()))),
    }
}

fn frame_out(frame: Frame) -> Message {
    match frame {
        Frame::Text(t) => Message::Text(t.into()),
        Frame::Binary => Message::Binary(Default::default()),
        Frame::Ping => Message::Ping(Default::default()),
        Frame::Pong => Message::Pong(Default::default()),
        Frame::Close(c) => Message::Close(c.map(|(code, reason)| CloseFrame { code, reason: Utf8Bytes::from(reason) })),
    }
}

/// The socket as a sink and a stream of frames.
fn frames(socket: WebSocket) -> (impl Sink<Frame> + Unpin, impl Stream<Item = Result<Frame, axum::Error>> + Unpin) {
    let (sink, stream) = socket.split();
    let sink = sink.with(|f: Frame| std::future::ready(Ok::<_, axum::Error>(frame_out(f))));
    (Box::pin(sink), stream.map(|m| m.map(frame_in)))
}

fn counter(metrics: &Arc<Metrics>) -> impl Fn(&'static str, &'static str) + Send + Sync + 'static {
    let metrics = metrics.clone();
    move |direction, kind| metrics.count_ws_message(direction, kind)
}

/// Why a token does not make a join request: the error code and message, close code 4001.
fn join_request(token: Option<String>, state: &AppState) -> Result<JoinRequest, (ErrorCode, String)> {
    let token = token.filter(|t| !t.is_empty()).ok_or((ErrorCode::TokenMissing, "no access_token query parameter".to_owned()))?;
    let c = &state.config;
    let claims = verify(&token, &c.api_key, &c.api_secret).map_err(|e| (e.code, e.message))?;
    let room = claims.room.filter(|r| !r.is_empty());
    let room = room.ok_or((ErrorCode::RoomMissing, "the token names no room; mint a join token".to_owned()))?;
    let room = RoomName::parse(room).map_err(|e| (ErrorCode::InvalidToken, format!("the token's room is not valid: {e}")))?;
    let identity =
        Identity::parse(claims.sub.as_str()).map_err(|e| (ErrorCode::InvalidToken, format!("the token's subject is not a valid identity: {e}")))?;
    Ok(JoinRequest {
        room,
        identity,
        name: claims.name.unwrap_or(claims.sub),
        permissions: claims.permissions,
        metadata: serde_json::Value::Null,
        token_id: claims.jti,
    })
}

async fn connection(socket: WebSocket, token: Option<String>, resume_token: Option<String>, state: Arc<AppState>) {
    let (mut sink, mut stream) = frames(socket);
    let count = counter(&state.metrics);
    let request = match join_request(token, &state) {
        Ok(r) => r,
        Err((code, message)) => return session::refuse(&mut sink, &mut stream, &count, code, message, 4001).await,
    };
    let joined = match resume_token.filter(|t| !t.is_empty()) {
        Some(resume) => state.conference.resume_or_join(request, &resume).await,
        None => state.conference.join(request).await,
    };
    let joined = match joined {
        Ok(s) => s,
        Err(e) => {
            let (code, message, close_code) = e.refusal();
            return session::refuse(&mut sink, &mut stream, &count, code, message, close_code).await;
        }
    };
    info!(room = ?joined.room(), participant = %joined.sid, "websocket session started");
    session::drive(sink, stream, joined, &SessionLimits::default(), count, state.shutdown.clone()).await;
}
