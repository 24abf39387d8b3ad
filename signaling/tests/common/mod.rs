//! In-memory sessions for signalling's behaviour tests: a conference over a real media shard (on
//! 127.0.0.1, port 0; nothing is sent unless a peer connects), and clients that talk to
//! `session::drive` through channels of frames instead of a socket.
#![allow(dead_code)] // each test file uses part of it

use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use switchboard_media::{MediaConfig, MediaRuntime};
use switchboard_signaling::session::{self, Frame, SessionLimits};
use switchboard_signaling::{Conference, ConferenceOptions, Identity, JoinRequest, Permissions, RoomName};
use tokio_util::sync::CancellationToken;

/// A conference and what keeps it running.
pub struct Harness {
    pub conference: Conference,
    pub shutdown: CancellationToken,
    _media: MediaRuntime,
}

impl Harness {
    pub fn start() -> Self {
        let config = MediaConfig { udp_bind: "127.0.0.1:0".parse().unwrap(), ..MediaConfig::default() };
        let (media, handle, events) = MediaRuntime::start(config).expect("a UDP socket on 127.0.0.1");
        let shutdown = CancellationToken::new();
        let conference = Conference::start(handle, events, ConferenceOptions::default(), shutdown.clone());
        Self { conference, shutdown, _media: media }
    }

    /// Joins `room` as `identity` and drives the session with `limits`.
    pub async fn connect_with(&self, room: &str, identity: &str, permissions: Permissions, limits: SessionLimits) -> Client {
        let request = JoinRequest {
            room: RoomName::parse(room).unwrap(),
            identity: Identity::parse(identity).unwrap(),
            name: identity.to_owned(),
            permissions,
            metadata: Value::Null,
            token_id: format!("jti-{identity}-{}", rand_suffix()),
        };
        let joined = self.conference.join(request).await.expect("join accepted");
        let (to_client, from_server) = mpsc::channel::<Frame>(256);
        let (to_server, from_client) = mpsc::channel::<Frame>(256);
        let shutdown = self.shutdown.clone();
        let task = tokio::spawn(async move {
            let stream = from_client.map(Ok::<_, std::convert::Infallible>);
            session::drive(to_client, stream, joined, &limits, |_, _| {}, shutdown).await;
        });
        Client { tx: to_server, rx: from_server, task }
    }

    pub async fn connect(&self, room: &str, identity: &str) -> Client {
        self.connect_with(room, identity, Permissions::default(), SessionLimits::default()).await
    }
}

fn rand_suffix() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The client end of an in-memory session.
pub struct Client {
    pub tx: mpsc::Sender<Frame>,
    pub rx: mpsc::Receiver<Frame>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Client {
    pub async fn send(&mut self, frame: Frame) {
        self.tx.send(frame).await.expect("the session reads");
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send(Frame::Text(v.to_string())).await;
    }

    /// The next frame, skipping keep-alive pings; `None` when the session ended.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.rx.next()).await.expect("a frame within 5 s")? {
                Frame::Ping => continue,
                f => return Some(f),
            }
        }
    }

    /// The next JSON message (panics on a close or a non-text frame).
    pub async fn next_json(&mut self) -> Value {
        match self.next_frame().await {
            Some(Frame::Text(t)) => serde_json::from_str(&t).expect("the server sends JSON"),
            other => panic!("expected a JSON message, got {other:?}"),
        }
    }

    /// The next message of `kind`, skipping others.
    pub async fn next_of_type(&mut self, kind: &str) -> Value {
        loop {
            let m = self.next_json().await;
            if m["type"] == kind {
                return m;
            }
        }
    }

    /// The close frame that ends the session (skipping messages before it).
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        loop {
            match self.next_frame().await {
                Some(Frame::Close(c)) => return c,
                Some(_) => continue,
                None => return None,
            }
        }
    }
}
