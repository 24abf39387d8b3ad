//! Helpers for integration tests: a server on ephemeral loopback ports with short timers.

use crate::auth::Claims;
use crate::config::Config;
use crate::RunningServer;
use std::time::Duration;

/// Live object counts of a running server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Open rooms.
    pub rooms: usize,
    /// Participants.
    pub participants: usize,
    /// PeerConnections on the media shard.
    pub media_peers: usize,
    /// Forwarding routes.
    pub media_routes: usize,
    /// Demultiplexer entries.
    pub demux_entries: usize,
    /// Live WebSocket sessions.
    pub session_tasks: usize,
}

/// The test configuration: 127.0.0.1 with ephemeral ports (HTTP, UDP, ICE/TCP), dev credentials, a 3 s ICE timeout,
/// a 1 s resume window (a dropped WebSocket leaves after it),
/// rooms that close as soon as they are empty, and an in-memory store.
pub fn test_config() -> Config {
    Config {
        bind: "127.0.0.1:0".parse().expect("a valid literal address"),
        udp_port: 0,
        tcp_port: 0,
        ice_timeout_s: 3,
        resume_window_s: 1,
        empty_timeout_s: 0,
        store_path: ":memory:".into(),
        ..Config::default()
    }
}

/// Starts a server with [`test_config`].
pub async fn spawn_test_server() -> anyhow::Result<RunningServer> {
    crate::spawn(test_config()).await
}

/// Starts a server with `config` (start from [`test_config`] to keep ports ephemeral).
pub async fn spawn_test_server_with(config: Config) -> anyhow::Result<RunningServer> {
    crate::spawn(config).await
}

impl RunningServer {
    /// A join token for `room` with every participant permission, valid for an hour.
    pub fn token(&self, room: &str, identity: &str) -> String {
        let c = &self.state.config;
        Claims::join(&c.api_key, room, identity, Some(identity), Duration::from_secs(3600)).sign(&c.api_secret)
    }

    /// Signs arbitrary claims with this server's secret.
    pub fn sign(&self, claims: &Claims) -> String {
        claims.sign(&self.state.config.api_secret)
    }

    /// The server's API key.
    pub fn api_key(&self) -> &str {
        &self.state.config.api_key
    }

    /// Webhook delivery counts.
    pub fn webhook_stats(&self) -> crate::events::WebhookStats {
        self.state.event_service.webhook_stats()
    }

    /// Live object counts.
    pub async fn snapshot(&self) -> Snapshot {
        let s = self.state.conference.snapshot().await;
        Snapshot {
            rooms: s.rooms,
            participants: s.participants,
            media_peers: s.media.peers,
            media_routes: s.media.routes,
            demux_entries: s.media.demux_entries,
            session_tasks: s.sessions,
        }
    }
}
