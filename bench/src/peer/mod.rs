//! A lean synthetic participant for load: the test kit's signalling client and stamped payloads,
//! but its own webrtc-rs peer connections with
//! - publishers paced either frame by frame (bursts of packets per video frame, like a camera)
//!   or evenly (one packet at a time at a fixed rate per stream),
//! - receivers that only read each payload's stamp header (no per-byte integrity check, that is
//!   the test kit's job) and record the send-to-receive delay in a histogram,
//! - counting restricted to a measurement [`Window`] by the stamps' send times, so that expected
//!   (sent in the window × subscribers) and received (stamped in the window) counts are exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Slot;
use switchboard_media::interceptor::is_keyframe_request;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde::Serialize;
use serde_json::{json, Value};
use switchboard_tests::media::{self, Stamp, STAMP_HEADER_LEN, STAMP_MAGIC};
use switchboard_tests::{msg_type, ws_url, Message, SignalClient, SignalReceiver, SignalSender};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, Registry, SettingEngineBuilder,
};

use crate::hist::Hist;
use crate::janus::JanusSession;

mod janus_peer;
mod receive;
mod send;
mod types;

use receive::*;
use send::*;
pub use types::*;

// ---------------------------------------------------------------------------------------------
// BenchPeer
// ---------------------------------------------------------------------------------------------

async fn build_pc(
    shared: &Arc<Shared>,
    publisher: bool,
    local_ip: &str,
) -> Result<Arc<dyn PeerConnection>> {
    let mut me = MediaEngine::default();
    me.register_default_codecs()
        .map_err(|e| anyhow!("register_default_codecs: {e}"))?;
    let mut registry = register_default_interceptors(Registry::new(), &mut me)
        .map_err(|e| anyhow!("register_default_interceptors: {e}"))?;
    if publisher {
        registry = registry.with(
            Slot::from(14_000),
            switchboard_media::interceptor::RtcpTap::keyframe_requests_only(),
        );
    }
    let settings = SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(vec![])
                .build(),
        )
        .with_media_engine(me)
        .with_setting_engine(settings.build())
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Handler {
            shared: Arc::clone(shared),
            publisher,
        }))
        .with_udp_addrs(vec![format!("{local_ip}:0")])
        .build()
        .await
        .map_err(|e| anyhow!("building peer connection: {e}"))?;
    Ok(Arc::new(pc))
}

/// How a participant talks to its server.
enum Signal {
    /// Switchboard's WebSocket protocol.
    Switchboard(SignalSender),
    /// A Janus session (HTTP API) with a VideoRoom publisher handle; the subscriber handle is
    /// attached by [`BenchPeer::subscribe_janus`].
    Janus {
        session: Arc<JanusSession>,
        room: u64,
        publisher_handle: u64,
    },
}

pub struct BenchPeer {
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
    signal: Signal,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    tracks: Vec<Arc<SendTrack>>,
}

fn new_shared(identity: &str, window: Arc<Window>) -> Arc<Shared> {
    Arc::new(Shared {
        window,
        recv: Mutex::new(RecvStats::default()),
        errors: Mutex::new(vec![]),
        publisher_state: Mutex::new(RTCPeerConnectionState::New),
        subscriber_state: Mutex::new(RTCPeerConnectionState::New),
        publish_answers: AtomicU64::new(0),
        leaving: AtomicBool::new(false),
        tasks: Mutex::new(vec![]),
        identity: identity.to_owned(),
        gathered: [AtomicBool::new(false), AtomicBool::new(false)],
        next_track: AtomicUsize::new(0),
        subscribe_started: Mutex::new(None),
    })
}

/// The local description once ICE gathering completed (Janus needs our candidates in the SDP).
async fn gathered_sdp(shared: &Shared, pc: &dyn PeerConnection, publisher: bool) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !shared.gathered[usize::from(!publisher)].load(Ordering::Acquire) {
        if Instant::now() >= deadline {
            bail!("ICE gathering did not complete");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pc.local_description()
        .await
        .map(|d| d.sdp)
        .context("no local description")
}

impl BenchPeer {
    /// Switchboard: connects, reads `joined`, builds both PCs and starts answering subscriber
    /// offers.
    pub async fn join(
        http_base: &str,
        token: &str,
        identity: &str,
        window: Arc<Window>,
        local_ip: &str,
    ) -> Result<BenchPeer> {
        let started = Instant::now();
        let (client, joined) = SignalClient::connect(&ws_url(http_base, token)).await?;
        let join = started.elapsed();
        let shared = new_shared(identity, window);
        let (sender, receiver) = client.split();
        let publisher = build_pc(&shared, true, local_ip).await?;
        let subscriber = build_pc(&shared, false, local_ip).await?;
        shared.spawn(signal_loop(
            Arc::clone(&shared),
            receiver,
            sender.clone(),
            Arc::clone(&publisher),
            Arc::clone(&subscriber),
        ));
        Ok(BenchPeer {
            identity: identity.to_owned(),
            sid: joined.participant.sid.clone(),
            started,
            join,
            publish: None,
            published_at: None,
            signal: Signal::Switchboard(sender),
            publisher,
            subscriber,
            shared,
            tracks: vec![],
        })
    }

    /// Publishes the tracks of `traffic` and starts the pumps once the publisher PC connects.
    pub async fn publish(&mut self, traffic: &Traffic, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        let stream_id = format!("{}-stream", self.identity);
        let mut sources = serde_json::Map::new();
        let mut kinds = vec![];
        let mut senders = vec![];
        if traffic.audio {
            kinds.push(Kind::Audio);
        }
        if traffic.video {
            kinds.push(Kind::Video);
        }
        for kind in kinds {
            let track_id = format!(
                "{}-{}",
                self.identity,
                if kind == Kind::Audio { "a" } else { "v" }
            );
            let ssrc = rand::random::<u32>() | 1;
            let source = if kind == Kind::Audio { "microphone" } else { "camera" };
            let label = format!("{track_id}-label");
            let track = switchboard_tests::local::static_track(kind == Kind::Audio, &stream_id, &track_id, &label, ssrc);
            let sender = self
                .publisher
                .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
                .await
                .map_err(|e| anyhow!("add_track: {e}"))?;
            senders.push(sender);
            sources.insert(track_id.clone(), Value::from(source));
            self.tracks.push(Arc::new(SendTrack {
                kind,
                ssrc,
                origin: media::origin_tag(&track_id),
                pt: AtomicU8::new(0),
                track,
                sent: AtomicU64::new(0),
                sent_in_window: AtomicU64::new(0),
                write_errors: AtomicU64::new(0),
                keyframe_requested: AtomicBool::new(false),
                keyframe_requests: AtomicU64::new(0),
            }));
        }
        let offer = switchboard_tests::local::create_offer(self.publisher.as_ref()).await?;
        match &self.signal {
            Signal::Switchboard(sender) => {
                sender
                    .send(json!({"type": "publish_offer", "sdp": offer.sdp, "sources": sources}))
                    .await?;
            }
            Signal::Janus {
                session,
                publisher_handle,
                ..
            } => {
                let sdp = gathered_sdp(&self.shared, self.publisher.as_ref(), true).await?;
                if std::env::var_os("BENCH_DEBUG_SDP").is_some() {
                    eprintln!("--- publisher offer ---\n{sdp}");
                }
                let (_, jsep) = session
                    .message(
                        *publisher_handle,
                        json!({"request": "configure", "audio": traffic.audio, "video": traffic.video}),
                        Some(json!({"type": "offer", "sdp": sdp})),
                    )
                    .await
                    .context("configure")?;
                let answer = jsep
                    .as_ref()
                    .and_then(|j| j.get("sdp"))
                    .and_then(Value::as_str)
                    .context("configure: no answer")?;
                if std::env::var_os("BENCH_DEBUG_SDP").is_some() {
                    eprintln!("--- janus answer ---\n{answer}");
                }
                switchboard_tests::local::apply_answer(self.publisher.as_ref(), answer)
                    .await
                    .context("applying the answer")?;
                self.shared.publish_answers.fetch_add(1, Ordering::AcqRel);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let answered = self.shared.publish_answers.load(Ordering::Acquire) > 0;
            let state = *self.shared.publisher_state.lock().unwrap();
            if answered && state == RTCPeerConnectionState::Connected {
                break;
            }
            if state == RTCPeerConnectionState::Failed {
                bail!("publisher PC failed");
            }
            if Instant::now() >= deadline {
                bail!(
                    "publisher not connected within {timeout:?} (answer applied: {answered}, state {state}); errors: {:?}",
                    self.shared.errors.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mime_of = |kind: Kind| {
            if kind == Kind::Audio {
                MIME_TYPE_OPUS
            } else {
                MIME_TYPE_VP8
            }
        };
        for (t, sender) in self.tracks.iter().zip(senders) {
            let params = sender
                .get_parameters()
                .await
                .map_err(|e| anyhow!("get_parameters: {e}"))?;
            let pt = params
                .rtp_parameters
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime_of(t.kind)))
                .map(|c| c.payload_type)
                .context("codec not negotiated")?;
            t.pt.store(pt, Ordering::Relaxed);
        }
        for t in &self.tracks {
            let window = Arc::clone(&self.shared.window);
            self.shared.spawn(rtcp_reader(Arc::clone(t)));
            match t.kind {
                Kind::Audio => self.shared.spawn(audio_pump(
                    Arc::clone(t),
                    window,
                    traffic.audio_payload_bytes,
                )),
                Kind::Video => {
                    self.shared
                        .spawn(video_pump(Arc::clone(t), window, traffic.clone()))
                }
            }
        }
        self.publish = Some(started.elapsed());
        self.published_at = Some(Instant::now());
        Ok(())
    }

    /// Janus: when subscribing began (media cannot flow before).
    pub fn subscribe_started(&self) -> Option<Instant> {
        *self.shared.subscribe_started.lock().unwrap()
    }

    /// Remote tracks that have delivered at least one packet.
    pub fn tracks_receiving(&self) -> usize {
        self.shared.recv.lock().unwrap().tracks.len()
    }

    /// Runs `f` on the receive statistics.
    pub fn with_recv<R>(&self, f: impl FnOnce(&RecvStats) -> R) -> R {
        f(&self.shared.recv.lock().unwrap())
    }

    pub fn summary(&self) -> PeerSummary {
        let recv = self.shared.recv.lock().unwrap();
        PeerSummary {
            join: self.join,
            publish: self.publish,
            sent_in_window: self
                .tracks
                .iter()
                .map(|t| t.sent_in_window.load(Ordering::Relaxed))
                .sum(),
            write_errors: self
                .tracks
                .iter()
                .map(|t| t.write_errors.load(Ordering::Relaxed))
                .sum(),
            keyframe_requests: self
                .tracks
                .iter()
                .map(|t| t.keyframe_requests.load(Ordering::Relaxed))
                .sum(),
            first_media: recv
                .tracks
                .values()
                .map(|t| (t.publisher_sid.clone(), t.first_at))
                .collect(),
            errors: self.shared.errors.lock().unwrap().clone(),
        }
    }

    /// Adds an error from the orchestration (e.g. media never arrived).
    pub fn add_error(&self, e: String) {
        self.shared.error(e);
    }

    /// Leaves (switchboard: `leave`; Janus: destroys the session), stops every task and closes
    /// both PCs.
    pub async fn leave(self) {
        self.shared.leaving.store(true, Ordering::Release);
        match &self.signal {
            Signal::Switchboard(sender) => {
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    sender.send(json!({"type": "leave"})),
                )
                .await;
                sender.drop_sink().await;
            }
            Signal::Janus { session, .. } => {
                let _ = tokio::time::timeout(Duration::from_secs(2), session.destroy()).await;
            }
        }
        for t in self.shared.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.publisher.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.subscriber.close()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::SeqWindow;

    #[test]
    fn seq_window_finds_duplicates_and_gaps() {
        let mut w = SeqWindow::default();
        assert_eq!(w.observe(65534), (0, true));
        assert_eq!(w.observe(65535), (0, true));
        assert_eq!(w.observe(2), (2, true)); // 0 and 1 missing (wraps)
        assert_eq!(w.observe(0), (0, true)); // retransmission fills the gap
        assert_eq!(w.observe(0), (0, false)); // duplicate
        assert_eq!(w.observe(2), (0, false));
        assert_eq!(w.observe(1), (0, true));
        assert_eq!(w.observe(2000), (1997, true));
        assert_eq!(w.observe(3), (0, false)); // too old to tell: not counted
        assert_eq!(w.observe(1990), (0, true));
    }
}
