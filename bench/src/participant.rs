//! One participant of a load run: the test kit's [`TestParticipant`] on switchboard, or a
//! [`JanusPeer`] on Janus, both in the kit's measure mode, with the timings and the summary the
//! report needs. The media and signalling logic is the kit's; this file only picks the server
//! and gathers numbers and errors.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use switchboard_tests::{
    msg_type, ws_url, Measured, ParticipantConfig, PeerPair, RTCPeerConnectionState, SignalClient,
    TestParticipant,
};

use crate::janus::JanusApi;
use crate::janus_peer::JanusPeer;

/// Most errors reported per participant.
const MAX_ERRORS: usize = 20;

/// Which server the participant talks to.
enum Server {
    Switchboard(TestParticipant),
    Janus(JanusPeer),
}

/// A participant of a load run.
pub struct LoadPeer {
    pub identity: String,
    /// Switchboard participant sid, or Janus publisher (feed) id.
    pub sid: String,
    /// When the join began.
    pub started: Instant,
    /// Join began → joined (`joined` message; Janus: `joined` event of the publisher handle).
    pub join: Duration,
    /// Publish began → publisher PC connected (publishers only).
    pub publish: Option<Duration>,
    /// When publishing completed (publishers only).
    pub published_at: Option<Instant>,
    server: Server,
    /// Errors the orchestration added (e.g. media never arrived).
    noted: Mutex<Vec<String>>,
}

/// Summary of one participant for the report.
pub struct PeerSummary {
    pub join: Duration,
    pub publish: Option<Duration>,
    pub sent_in_window: u64,
    pub write_errors: u64,
    pub keyframe_requests: u64,
    /// Per received track: its publisher (msid stream id) and when its first packet arrived.
    pub first_media: Vec<(String, Instant)>,
    pub errors: Vec<String>,
}

impl LoadPeer {
    /// Switchboard: connects, reads `joined`, builds both PCs and starts answering subscriber
    /// offers.
    pub async fn join(
        http_base: &str,
        token: &str,
        identity: &str,
        config: ParticipantConfig,
    ) -> Result<LoadPeer> {
        let started = Instant::now();
        let (client, joined) = SignalClient::connect(&ws_url(http_base, token)).await?;
        let join = started.elapsed();
        let sid = joined.participant.sid.clone();
        let participant = TestParticipant::from_joined(client, joined, config).await?;
        Ok(LoadPeer::new(identity, sid, started, join, Server::Switchboard(participant)))
    }

    /// Janus: creates a session, attaches a VideoRoom handle and joins `room` as a publisher.
    pub async fn join_janus(
        api: &JanusApi,
        room: u64,
        identity: &str,
        config: ParticipantConfig,
    ) -> Result<LoadPeer> {
        let started = Instant::now();
        let peer = JanusPeer::join(api, room, identity, config).await?;
        let (sid, join) = (peer.feed.clone(), peer.join);
        Ok(LoadPeer::new(identity, sid, started, join, Server::Janus(peer)))
    }

    fn new(identity: &str, sid: String, started: Instant, join: Duration, server: Server) -> Self {
        LoadPeer {
            identity: identity.to_owned(),
            sid,
            started,
            join,
            publish: None,
            published_at: None,
            server,
            noted: Mutex::new(vec![]),
        }
    }

    fn pair(&self) -> &PeerPair {
        match &self.server {
            Server::Switchboard(p) => p.pair(),
            Server::Janus(p) => p.pair(),
        }
    }

    /// Publishes the configured tracks and starts the pumps once the publisher PC connects.
    pub async fn publish(&mut self) -> Result<()> {
        let started = Instant::now();
        match &mut self.server {
            Server::Switchboard(p) => p.publish().await?,
            Server::Janus(p) => p.publish(&self.identity).await?,
        }
        self.publish = Some(started.elapsed());
        self.published_at = Some(Instant::now());
        Ok(())
    }

    /// Janus: subscribes to `feeds`; on switchboard the server subscribes by itself.
    pub async fn subscribe_janus(&self, feeds: &[String]) -> Result<()> {
        match &self.server {
            Server::Janus(p) => p.subscribe(feeds).await,
            Server::Switchboard(_) => anyhow::bail!("not a Janus participant"),
        }
    }

    /// Janus: when subscribing began (media cannot flow before).
    pub fn subscribe_started(&self) -> Option<Instant> {
        match &self.server {
            Server::Janus(p) => p.subscribe_started(),
            Server::Switchboard(_) => None,
        }
    }

    /// Remote tracks that have delivered at least one packet.
    pub fn tracks_receiving(&self) -> usize {
        self.with_measured(|m| m.tracks.len())
    }

    /// Runs `f` on what this participant received.
    pub fn with_measured<R>(&self, f: impl FnOnce(&Measured) -> R) -> R {
        self.pair()
            .with_measured(f)
            .expect("every load participant is built in measure mode (Traffic::participant_config)")
    }

    /// Adds an error from the orchestration (e.g. media never arrived).
    pub fn add_error(&self, e: String) {
        tracing::warn!("{}: {e}", self.identity);
        self.noted.lock().unwrap().push(e);
    }

    /// What went wrong so far: local failures, PCs that failed or disconnected, what the
    /// server said (error messages, removal, closing the socket) and what the run noted.
    fn errors(&self) -> Vec<String> {
        let pair = self.pair();
        let mut errors = pair.errors();
        let states = pair.connection_states();
        for (which, history) in [
            ("publisher", &states.publisher_history),
            ("subscriber", &states.subscriber_history),
        ] {
            for state in history {
                if matches!(
                    state,
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected
                ) {
                    errors.push(format!("{which} PC {state}"));
                }
            }
        }
        match &self.server {
            Server::Switchboard(p) => {
                for m in p.messages() {
                    match msg_type(&m) {
                        Some("error") => errors.push(format!("server error: {m}")),
                        Some("removed") | Some("going_away") => {
                            errors.push(format!("server said: {m}"))
                        }
                        _ => {}
                    }
                }
                if let Some((code, reason)) = p.close_info() {
                    errors.push(format!("signalling closed: {code:?} {reason}"));
                }
            }
            Server::Janus(p) => errors.extend(p.errors()),
        }
        errors.extend(self.noted.lock().unwrap().iter().cloned());
        errors.truncate(MAX_ERRORS);
        errors
    }

    /// `stream_state` messages the server sent (switchboard only): how many said `paused`, how
    /// many `active`.
    pub fn stream_states(&self) -> (u64, u64) {
        let Server::Switchboard(p) = &self.server else {
            return (0, 0);
        };
        let mut counts = (0, 0);
        for m in p.messages().iter().filter(|m| msg_type(m) == Some("stream_state")) {
            match m["state"].as_str() {
                Some("paused") => counts.0 += 1,
                Some("active") => counts.1 += 1,
                _ => {}
            }
        }
        counts
    }

    pub fn summary(&self) -> PeerSummary {
        let published = self.pair().published();
        PeerSummary {
            join: self.join,
            publish: self.publish,
            sent_in_window: published.iter().map(|t| t.packets_sent_in_window).sum(),
            write_errors: published.iter().map(|t| t.write_errors).sum(),
            keyframe_requests: published.iter().map(|t| t.keyframe_requests).sum(),
            first_media: self.with_measured(|m| {
                m.tracks
                    .iter()
                    .map(|t| (t.stream_id.clone(), t.first_at))
                    .collect()
            }),
            errors: self.errors(),
        }
    }

    /// Leaves (switchboard: `leave`; Janus: destroys the session), stops every task and closes
    /// both PCs, each step bounded.
    pub async fn leave(self) {
        match self.server {
            Server::Switchboard(p) => p.leave_now().await,
            Server::Janus(p) => p.leave().await,
        }
    }
}
