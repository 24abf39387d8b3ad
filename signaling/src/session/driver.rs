//! The session loop over any transport of [`Frame`]s: client text frames are size-checked,
//! rate-limited and parsed (every malformed frame gets an `error` reply, abuse closes the
//! connection) and handed to the room; the room's outbound messages are written in order; a
//! keep-alive ping goes out periodically and a client silent for too long is gone. The loop ends
//! when the transport closes, the room closes the session, or the server shuts down.

use super::rate::MessageRate;
use super::Session;
use crate::protocol::{parse_client_message, ClientMessage, ErrorCode, Outbound, ServerMessage, MAX_FRAME_BYTES};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

/// A frame of the transport, as the session sees it (WebSocket frames, without their payloads
/// where the protocol ignores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame: one JSON message.
    Text(String),
    /// A binary frame (not part of the protocol).
    Binary,
    /// A keep-alive ping (sent by us; answered by the transport) or one from the client.
    Ping,
    /// A keep-alive answer.
    Pong,
    /// A close frame with its code and reason.
    Close(Option<(u16, String)>),
}

/// The limits of one session (docs/protocol.md, "Limits").
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// A client that sends nothing (not even a pong) for this long is gone.
    pub idle_timeout: Duration,
    /// How often we ping.
    pub ping_interval: Duration,
    /// Sustained client messages per second.
    pub rate: NonZeroU32,
    /// Client messages allowed at once.
    pub burst: NonZeroU32,
    /// Refused (rate-limited) messages before the connection is closed for abuse.
    pub abuse_limit: u32,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(10),
            rate: NonZeroU32::new(50).expect("non-zero literal"),
            burst: NonZeroU32::new(100).expect("non-zero literal"),
            abuse_limit: 500,
        }
    }
}

/// Counts messages by direction (`"in"`/`"out"`) and type (for metrics).
pub trait MessageCounter: Fn(&'static str, &'static str) + Send + Sync {}
impl<F: Fn(&'static str, &'static str) + Send + Sync> MessageCounter for F {}

async fn send_json<S: Sink<Frame> + Unpin>(sink: &mut S, count: &impl MessageCounter, msg: &ServerMessage) -> bool {
    count("out", msg.kind());
    match serde_json::to_string(msg) {
        Ok(text) => sink.send(Frame::Text(text)).await.is_ok(),
        Err(_) => false,
    }
}

/// Closes cleanly: sends the close frame, then reads until the client's own close frame (or a
/// short timeout). Dropping the transport with the client's data still unread would make the
/// kernel reset the connection, and the client would lose the last messages and the close code.
async fn close<S, R, E>(sink: &mut S, stream: &mut R, code: u16, reason: &str)
where
    S: Sink<Frame> + Unpin,
    R: Stream<Item = Result<Frame, E>> + Unpin,
{
    if sink.send(Frame::Close(Some((code, reason.to_owned())))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(frame)) = stream.next().await {
            if matches!(frame, Frame::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Refuses a connection before any session exists: an `error{code, message}`, then a close with
/// `close_code`.
pub async fn refuse<S, R, E>(sink: &mut S, stream: &mut R, count: &impl MessageCounter, code: ErrorCode, message: String, close_code: u16)
where
    S: Sink<Frame> + Unpin,
    R: Stream<Item = Result<Frame, E>> + Unpin,
{
    send_json(sink, count, &ServerMessage::Error { code, message }).await;
    close(sink, stream, close_code, "refused").await;
}

/// What one client frame asks of the loop.
enum Inbound {
    /// Nothing to do (a ping, a pong).
    Nothing,
    /// Reply with this.
    Reply(ServerMessage),
    /// Hand this to the room.
    Handle(ClientMessage),
    /// Close the connection with this code and reason (after an optional last message).
    Close(Option<ServerMessage>, u16, &'static str),
    /// The client closed: on purpose (a close code of 1000, 1001 or none: it left, the tab
    /// closed), or giving up a socket it took for dead (any other code; it will resume).
    Gone { on_purpose: bool },
}

/// Judges one client frame: size, rate, parse.
fn inbound(frame: Frame, rate: &mut MessageRate, limits: &SessionLimits, count: &impl MessageCounter, sid: &str) -> Inbound {
    let text = match frame {
        Frame::Text(t) => t,
        Frame::Binary => {
            return Inbound::Reply(ServerMessage::error(
                ErrorCode::UnsupportedFrame,
                "binary frames are not part of the protocol; send JSON text",
            ))
        }
        Frame::Close(c) => return Inbound::Gone { on_purpose: c.is_none_or(|(code, _)| matches!(code, 1000 | 1001 | 1005)) },
        Frame::Ping | Frame::Pong => return Inbound::Nothing,
    };
    if text.len() > MAX_FRAME_BYTES {
        let msg = ServerMessage::error(
            ErrorCode::MessageTooLarge,
            format!("frame of {} bytes exceeds the {MAX_FRAME_BYTES}-byte limit", text.len()),
        );
        return Inbound::Close(Some(msg), 1009, "message too large");
    }
    if !rate.allow() {
        if rate.refused > limits.abuse_limit {
            return Inbound::Close(None, 4008, "rate limit");
        }
        return Inbound::Reply(ServerMessage::error(ErrorCode::RateLimited, "too many messages; slow down"));
    }
    let parsed = parse_client_message(&text);
    count("in", parsed.as_ref().map_or("invalid", |m| m.kind()));
    match parsed {
        Ok(ClientMessage::Ping { ts }) => Inbound::Reply(ServerMessage::Pong { ts }),
        Ok(msg) => Inbound::Handle(msg),
        Err(e) => {
            debug!(participant = sid, code = ?e.code, "bad client message");
            Inbound::Reply(ServerMessage::error(e.code, e.message))
        }
    }
}

/// Drives `session` over a transport (`sink` for frames to the client, `stream` for frames from
/// it) until either side ends it or `shutdown` fires; `count` sees every message.
pub async fn drive<S, R, E>(
    mut sink: S,
    mut stream: R,
    mut session: Session,
    limits: &SessionLimits,
    count: impl MessageCounter,
    shutdown: CancellationToken,
) where
    S: Sink<Frame> + Unpin,
    R: Stream<Item = Result<Frame, E>> + Unpin,
{
    let mut rate = MessageRate::new(limits.rate, limits.burst);
    let mut last_seen = Instant::now();
    let mut ping = tokio::time::interval(limits.ping_interval);
    loop {
        tokio::select! {
            out = session.outbound.recv() => match out {
                Some(Outbound::Message(msg)) => {
                    if !send_json(&mut sink, &count, &msg).await {
                        break;
                    }
                }
                Some(Outbound::Close { code, reason }) => {
                    close(&mut sink, &mut stream, code, &reason).await;
                    break;
                }
                None => break,
            },
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                last_seen = Instant::now();
                match inbound(frame, &mut rate, limits, &count, &session.sid.0) {
                    Inbound::Nothing => {}
                    Inbound::Reply(msg) => {
                        send_json(&mut sink, &count, &msg).await;
                    }
                    Inbound::Handle(msg) => session.handle(msg),
                    Inbound::Close(last, code, reason) => {
                        if let Some(msg) = last {
                            send_json(&mut sink, &count, &msg).await;
                        }
                        close(&mut sink, &mut stream, code, reason).await;
                        session.closed_on_purpose();
                        break;
                    }
                    Inbound::Gone { on_purpose } => {
                        if on_purpose {
                            session.closed_on_purpose();
                        }
                        break;
                    }
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > limits.idle_timeout {
                    info!(participant = %session.sid, "connection idle; closing");
                    break;
                }
                let _ = sink.send(Frame::Ping).await;
            }
            () = shutdown.cancelled() => {
                // The room sends `server_shutdown` closes; give the writer a moment to flush them.
                while let Ok(Some(out)) = tokio::time::timeout(Duration::from_millis(500), session.outbound.recv()).await {
                    match out {
                        Outbound::Message(msg) => {
                            send_json(&mut sink, &count, &msg).await;
                        }
                        Outbound::Close { code, reason } => {
                            close(&mut sink, &mut stream, code, &reason).await;
                            break;
                        }
                    }
                }
                break;
            }
        }
    }
    info!(participant = %session.sid, "session ended");
}
