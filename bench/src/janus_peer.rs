//! A participant on Janus VideoRoom: the test kit's [`PeerPair`] (tracks, pumps, measure mode)
//! driven through a Janus session instead of switchboard's signalling — publisher `join` +
//! `configure` with our offer, subscriber `join` for the other feeds and `start` with our answer.
//! Only the Janus steps live here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use switchboard_tests::{ParticipantConfig, PeerPair, RTCPeerConnectionState};

use crate::janus::{JanusApi, JanusSession};

/// How long ICE gathering may take (Janus is full ICE: our candidates go in the SDP).
const GATHERING: Duration = Duration::from_secs(5);

/// Most session errors kept.
const MAX_ERRORS: usize = 20;

/// One Janus session with a VideoRoom publisher handle, and the two PCs.
pub struct JanusPeer {
    /// The publisher (feed) id.
    pub feed: String,
    /// Join began → `joined` event of the publisher handle (the PCs are built after).
    pub join: Duration,
    session: JanusSession,
    room: u64,
    publisher_handle: u64,
    pair: PeerPair,
    /// Session events that mean trouble (`hangup`, `detached`, poll failures).
    errors: Arc<Mutex<Vec<String>>>,
    /// When subscribing began (media cannot flow before).
    subscribe_started: Mutex<Option<Instant>>,
}

fn debug_sdp(what: &str, sdp: &str) {
    if std::env::var_os("BENCH_DEBUG_SDP").is_some() {
        eprintln!("--- {what} ---\n{sdp}");
    }
}

impl JanusPeer {
    /// Creates a session, attaches a VideoRoom handle, joins `room` as a publisher and builds
    /// both PCs.
    pub async fn join(
        api: &JanusApi,
        room: u64,
        identity: &str,
        config: ParticipantConfig,
    ) -> Result<JanusPeer> {
        let started = Instant::now();
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let session = JanusSession::create(api.clone(), {
            let errors = Arc::clone(&errors);
            move |e| {
                let mut errors = errors.lock().unwrap();
                if errors.len() < MAX_ERRORS {
                    errors.push(e);
                }
            }
        })
        .await?;
        let publisher_handle = session.attach().await?;
        let (joined, _) = session
            .message(
                publisher_handle,
                json!({"request": "join", "ptype": "publisher", "room": room, "display": identity}),
                None,
            )
            .await?;
        let feed = joined
            .get("id")
            .map(|v| v.to_string())
            .with_context(|| format!("join: no publisher id in {joined}"))?;
        let join = started.elapsed();
        let pair = PeerPair::new(config).await?;
        Ok(JanusPeer {
            feed,
            join,
            session,
            room,
            publisher_handle,
            pair,
            errors,
            subscribe_started: Mutex::new(None),
        })
    }

    /// Publishes the configured tracks: `configure` with our gathered offer, applies Janus'
    /// answer, waits for the publisher PC to connect and starts the pumps.
    pub async fn publish(&mut self, identity: &str) -> Result<()> {
        let (audio, video) = (self.pair.config().publish_audio, self.pair.config().publish_video);
        let timeout = self.pair.config().timeout;
        self.pair.add_tracks(identity).await?;
        switchboard_tests::local::create_offer(self.pair.publisher()).await?;
        let sdp = self.pair.gathered_local_sdp(true, GATHERING).await?;
        debug_sdp("publisher offer", &sdp);
        let (_, jsep) = self
            .session
            .message(
                self.publisher_handle,
                json!({"request": "configure", "audio": audio, "video": video}),
                Some(json!({"type": "offer", "sdp": sdp})),
            )
            .await
            .context("configure")?;
        let answer = jsep
            .as_ref()
            .and_then(|j| j.get("sdp"))
            .and_then(Value::as_str)
            .context("configure: no answer")?;
        debug_sdp("janus answer", answer);
        switchboard_tests::local::apply_answer(self.pair.publisher(), answer)
            .await
            .context("applying the answer")?;
        self.pair
            .wait_state(true, RTCPeerConnectionState::Connected, timeout)
            .await
            .context("publisher not connected")?;
        self.pair.start_media().await
    }

    /// Attaches a subscriber handle for `feeds` (publisher ids), answers the offer and starts.
    /// Retries "no such feed" (a publisher that is not configured yet) for a while.
    pub async fn subscribe(&self, feeds: &[String]) -> Result<()> {
        if feeds.is_empty() {
            return Ok(());
        }
        let streams: Vec<Value> = feeds
            .iter()
            .map(|f| json!({"feed": f.parse::<u64>().map(Value::from).unwrap_or(Value::from(f.clone()))}))
            .collect();
        *self.subscribe_started.lock().unwrap() = Some(Instant::now());
        let handle = self.session.attach().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let offer = loop {
            match self
                .session
                .message(
                    handle,
                    json!({"request": "join", "ptype": "subscriber", "room": self.room, "streams": streams}),
                    None,
                )
                .await
            {
                Ok((_, Some(jsep))) => break jsep,
                Ok((data, None)) => bail!("subscriber join: no offer in {data}"),
                Err(e) if Instant::now() < deadline && format!("{e:#}").contains("428") => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let sdp = offer
            .get("sdp")
            .and_then(Value::as_str)
            .context("offer without sdp")?;
        // Janus is full ICE: answer, then wait for our candidates to be gathered into the SDP.
        switchboard_tests::local::answer_offer(self.pair.subscriber(), sdp).await?;
        let sdp = self.pair.gathered_local_sdp(false, GATHERING).await?;
        self.session
            .message(
                handle,
                json!({"request": "start"}),
                Some(json!({"type": "answer", "sdp": sdp})),
            )
            .await
            .context("subscriber start")?;
        Ok(())
    }

    /// The two PCs and what they sent and measured.
    pub fn pair(&self) -> &PeerPair {
        &self.pair
    }

    /// When subscribing began.
    pub fn subscribe_started(&self) -> Option<Instant> {
        *self.subscribe_started.lock().unwrap()
    }

    /// What the session reported.
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }

    /// Destroys the session (bounded) and closes both PCs.
    pub async fn leave(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.session.destroy()).await;
        self.pair.close(Duration::from_secs(2)).await;
    }
}
