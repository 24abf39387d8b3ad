//! WebSocket signalling client for the Switchboard protocol (`docs/protocol.md`).
//!
//! [`SignalClient`] owns one connection. A reader task turns every incoming frame into a
//! [`Message`] on a channel, so nothing is lost while the test does something else; the write
//! half is a cloneable [`SignalSender`]. For bad-input tests it sends raw text and binary frames
//! and reports the close code the server chose ([`Message::Closed`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::Joined;

/// Default timeout of [`SignalClient::recv`] and of connecting.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One thing that arrived on the WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A text frame holding JSON.
    Json(Value),
    /// A text frame that is not JSON (the server should never send one).
    Text(String),
    /// A binary frame (the server should never send one).
    Binary(Vec<u8>),
    /// The connection ended. `code` is the close frame's code, `None` when the connection
    /// ended without a close frame (or with one carrying no code); `reason` is the close
    /// frame's reason, or the transport error.
    Closed { code: Option<u16>, reason: String },
}

impl Message {
    /// The JSON value, if this is a JSON message.
    pub fn json(&self) -> Option<&Value> {
        match self {
            Message::Json(v) => Some(v),
            _ => None,
        }
    }

    /// The `type` of a JSON message.
    pub fn msg_type(&self) -> Option<&str> {
        self.json().and_then(crate::msg_type)
    }

    /// Whether this is [`Message::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, Message::Closed { .. })
    }
}

/// The write half of a connection; cheap to clone.
#[derive(Clone)]
pub struct SignalSender {
    sink: Arc<Mutex<Option<SplitSink<WsStream, WsMessage>>>>,
}

impl SignalSender {
    async fn send_ws(&self, msg: WsMessage) -> Result<()> {
        let mut guard = self.sink.lock().await;
        let sink = guard.as_mut().context("websocket already dropped")?;
        sink.send(msg).await.context("websocket send")?;
        Ok(())
    }

    /// Sends a JSON message as one text frame.
    pub async fn send(&self, msg: Value) -> Result<()> {
        self.send_ws(WsMessage::text(msg.to_string())).await
    }

    /// Sends an arbitrary text frame (not necessarily JSON).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<()> {
        self.send_ws(WsMessage::text(text.into())).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&self, data: impl Into<Vec<u8>>) -> Result<()> {
        self.send_ws(WsMessage::binary(data.into())).await
    }

    /// Sends a close frame with `code` and `reason` (a clean close handshake).
    pub async fn close(&self, code: u16, reason: &str) -> Result<()> {
        self.send_ws(WsMessage::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        })))
        .await
    }

    /// Drops the write half. Once the read half is gone too, the TCP connection closes without
    /// a WebSocket close frame.
    pub async fn drop_sink(&self) {
        self.sink.lock().await.take();
    }
}

/// The read half of a connection: messages in arrival order, then one [`Message::Closed`]
/// (repeated on every later call).
pub struct SignalReceiver {
    rx: mpsc::UnboundedReceiver<Message>,
    closed: Option<Message>,
    reader: JoinHandle<()>,
}

impl SignalReceiver {
    /// The next message, or `None` after `timeout`. After the close, returns the
    /// [`Message::Closed`] again at once.
    pub async fn recv_message(&mut self, timeout: Duration) -> Option<Message> {
        if let Some(closed) = &self.closed {
            return Some(closed.clone());
        }
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(Some(msg)) => {
                if msg.is_closed() {
                    self.closed = Some(msg.clone());
                }
                Some(msg)
            }
            Ok(None) => {
                let msg = Message::Closed {
                    code: None,
                    reason: "reader stopped".into(),
                };
                self.closed = Some(msg.clone());
                Some(msg)
            }
            Err(_) => None,
        }
    }

    /// Stops the reader task (dropping the read half of the socket).
    pub async fn stop(&mut self) {
        self.reader.abort();
        let _ = (&mut self.reader).await;
    }

    /// Whether the connection has been seen closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }
}

impl Drop for SignalReceiver {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_loop(mut stream: SplitStream<WsStream>, tx: mpsc::UnboundedSender<Message>) {
    loop {
        let msg = match stream.next().await {
            Some(Ok(WsMessage::Text(text))) => {
                let text = text.as_str().to_owned();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v) => Message::Json(v),
                    Err(_) => Message::Text(text),
                }
            }
            Some(Ok(WsMessage::Binary(data))) => Message::Binary(data.to_vec()),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => continue,
            Some(Ok(WsMessage::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    None => (None, String::new()),
                };
                let _ = tx.send(Message::Closed { code, reason });
                return;
            }
            Some(Err(e)) => {
                let _ = tx.send(Message::Closed {
                    code: None,
                    reason: e.to_string(),
                });
                return;
            }
            None => {
                let _ = tx.send(Message::Closed {
                    code: None,
                    reason: "connection ended".into(),
                });
                return;
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// A WebSocket signalling connection.
pub struct SignalClient {
    sender: SignalSender,
    receiver: SignalReceiver,
}

impl SignalClient {
    /// Opens the WebSocket at `url` (e.g. from [`crate::ws_url`]) without reading anything.
    pub async fn connect_raw(url: &str) -> Result<SignalClient> {
        let (ws, _response) = tokio::time::timeout(
            DEFAULT_TIMEOUT,
            tokio_tungstenite::connect_async(url),
        )
        .await
        .context("websocket connect timed out")?
        .with_context(|| format!("websocket connect to {url}"))?;
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(stream, tx));
        Ok(SignalClient {
            sender: SignalSender {
                sink: Arc::new(Mutex::new(Some(sink))),
            },
            receiver: SignalReceiver {
                rx,
                closed: None,
                reader,
            },
        })
    }

    /// Opens the WebSocket and reads the first message, which must be `joined`.
    pub async fn connect(url: &str) -> Result<(SignalClient, Joined)> {
        let mut client = Self::connect_raw(url).await?;
        let first = client
            .recv_message(DEFAULT_TIMEOUT)
            .await
            .context("no first message from the server")?;
        match first {
            Message::Json(v) => {
                let joined = Joined::parse(&v)?;
                Ok((client, joined))
            }
            other => {
                // An error message is followed by a close: report both.
                let next = client.recv_message(Duration::from_millis(500)).await;
                anyhow::bail!("expected `joined`, got {other:?} then {next:?}")
            }
        }
    }

    /// A clone of the write half.
    pub fn sender(&self) -> SignalSender {
        self.sender.clone()
    }

    /// Splits into the write and read halves.
    pub fn split(self) -> (SignalSender, SignalReceiver) {
        (self.sender, self.receiver)
    }

    /// Sends a JSON message.
    pub async fn send(&self, msg: Value) -> Result<()> {
        self.sender.send(msg).await
    }

    /// Sends a raw text frame.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<()> {
        self.sender.send_text(text).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&self, data: impl Into<Vec<u8>>) -> Result<()> {
        self.sender.send_binary(data).await
    }

    /// Sends a close frame.
    pub async fn close(&self, code: u16, reason: &str) -> Result<()> {
        self.sender.close(code, reason).await
    }

    /// The next message of any kind, or `None` after `timeout`.
    pub async fn recv_message(&mut self, timeout: Duration) -> Option<Message> {
        self.receiver.recv_message(timeout).await
    }

    /// The next JSON message within [`DEFAULT_TIMEOUT`]; `None` on timeout or once closed.
    /// Non-JSON frames are skipped.
    pub async fn recv(&mut self) -> Option<Value> {
        self.recv_timeout(DEFAULT_TIMEOUT).await
    }

    /// The next JSON message within `timeout`; `None` on timeout or once closed.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Value> {
        self.recv_until(|_| true, timeout).await
    }

    /// The first JSON message satisfying `pred` within `timeout`, discarding the others;
    /// `None` on timeout or once closed.
    pub async fn recv_until(
        &mut self,
        mut pred: impl FnMut(&Value) -> bool,
        timeout: Duration,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.receiver.recv_message(left).await? {
                Message::Json(v) if pred(&v) => return Some(v),
                Message::Closed { .. } => return None,
                _ => continue,
            }
        }
    }

    /// The first JSON message of type `ty` within `timeout`.
    pub async fn recv_type(&mut self, ty: &str, timeout: Duration) -> Option<Value> {
        self.recv_until(|v| crate::msg_type(v) == Some(ty), timeout)
            .await
    }

    /// Reads (and discards) messages until the connection closes; returns the close code and
    /// reason, or `None` if it is still open after `timeout`.
    pub async fn wait_closed(&mut self, timeout: Duration) -> Option<(Option<u16>, String)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Message::Closed { code, reason } = self.receiver.recv_message(left).await? {
                return Some((code, reason));
            }
        }
    }

    /// Drops the connection without a close frame (abrupt TCP close).
    pub async fn abort(mut self) {
        self.receiver.stop().await;
        self.sender.drop_sink().await;
    }
}
