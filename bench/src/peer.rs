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
use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Slot;
use switchboard_tests::keyframe_tap::is_keyframe_request;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
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
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder,
};

use crate::hist::Hist;
use crate::janus::JanusSession;

/// The measurement window, in microseconds since the UNIX epoch (the stamps' clock). A packet
/// belongs to the window when its stamp's send time does.
#[derive(Default)]
pub struct Window {
    start: AtomicU64,
    end: AtomicU64,
}

impl Window {
    pub fn new() -> Self {
        Window {
            start: AtomicU64::new(0),
            end: AtomicU64::new(u64::MAX),
        }
    }

    pub fn open(&self, at_micros: u64) {
        self.start.store(at_micros, Ordering::Release);
    }

    pub fn close(&self, at_micros: u64) {
        self.end.store(at_micros, Ordering::Release);
    }

    pub fn contains(&self, micros: u64) -> bool {
        let s = self.start.load(Ordering::Acquire);
        s != 0 && micros >= s && micros < self.end.load(Ordering::Acquire)
    }
}

/// How video packets are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pacing {
    /// A camera: every frame's packets leave back to back at the frame rate.
    Frames,
    /// One packet at a time, evenly spaced at the packet rate (1 ms timer, catch-up counted).
    Even,
}

/// What each publisher sends.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// An Opus track at 50 packets/s.
    pub audio: bool,
    pub audio_payload_bytes: usize,
    /// A VP8 track.
    pub video: bool,
    /// Video packets per second.
    pub video_pps: u32,
    /// Packets per video frame (frame rate = pps / packets per frame).
    pub video_packets_per_frame: u32,
    pub video_payload_bytes: usize,
    pub pacing: Pacing,
    /// A keyframe at least this often (and on every PLI/FIR).
    pub keyframe_interval_ms: u64,
}

impl Traffic {
    /// A camera: Opus 50 packets/s × 100 bytes and VP8 30 frames/s × 3 packets × 1,000 bytes,
    /// each frame's packets back to back, a keyframe every 2 s.
    pub fn camera() -> Traffic {
        Traffic {
            audio: true,
            audio_payload_bytes: 100,
            video: true,
            video_pps: 90,
            video_packets_per_frame: 3,
            video_payload_bytes: 1000,
            pacing: Pacing::Frames,
            keyframe_interval_ms: 2000,
        }
    }

    /// Published tracks per publisher.
    pub fn tracks(&self) -> usize {
        usize::from(self.audio) + usize::from(self.video)
    }

    /// Packets per second per publisher, all tracks.
    pub fn pps(&self) -> u64 {
        (if self.audio { 50 } else { 0 }) + if self.video { self.video_pps as u64 } else { 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Audio,
    Video,
}

/// One published track and its counters.
struct SendTrack {
    kind: Kind,
    ssrc: u32,
    origin: u32,
    pt: AtomicU8,
    track: Arc<TrackLocalStaticRTP>,
    sent: AtomicU64,
    sent_in_window: AtomicU64,
    write_errors: AtomicU64,
    keyframe_requested: AtomicBool,
    keyframe_requests: AtomicU64,
}

/// Per-track receive record.
struct RecvTrack {
    publisher_sid: String,
    first_at: Instant,
    seen: SeqWindow,
}

/// The last 1,024 sequence numbers of a track: which arrived, for duplicate detection.
#[derive(Default)]
struct SeqWindow {
    highest: Option<u16>,
    bits: [u64; 16],
}

impl SeqWindow {
    fn bit(&mut self, seq: u16) -> (&mut u64, u64) {
        let i = (seq % 1024) as usize;
        (&mut self.bits[i / 64], 1u64 << (i % 64))
    }

    /// Records `seq`; returns (forward jump in packets apparently missing, first arrival).
    fn observe(&mut self, seq: u16) -> (u64, bool) {
        let Some(high) = self.highest else {
            self.highest = Some(seq);
            let (w, m) = self.bit(seq);
            *w |= m;
            return (0, true);
        };
        let ahead = seq.wrapping_sub(high) as i16;
        if ahead > 0 {
            if ahead >= 1024 {
                self.bits = [0; 16];
            } else {
                for k in 1..=ahead as u16 {
                    let (w, m) = self.bit(high.wrapping_add(k));
                    *w &= !m;
                }
            }
            self.highest = Some(seq);
            let (w, m) = self.bit(seq);
            *w |= m;
            ((ahead - 1) as u64, true)
        } else if -(ahead as i32) >= 1024 {
            (0, false)
        } else {
            let (w, m) = self.bit(seq);
            let fresh = *w & m == 0;
            *w |= m;
            (0, fresh)
        }
    }
}

/// What a participant received (merged over its tracks).
#[derive(Default)]
pub struct RecvStats {
    /// RTP packets received, any time.
    pub packets: u64,
    /// Packets whose stamp is in the window.
    pub in_window: u64,
    /// Payloads without a readable stamp.
    pub bad_payloads: u64,
    /// Packets whose sequence number had already arrived (retransmissions), not counted again.
    pub duplicates: u64,
    /// Forward sequence jumps (packets apparently missing), any time.
    pub seq_gap_packets: u64,
    /// Send-to-receive delay of the packets in the window, microseconds.
    pub latency: Hist,
    /// By local track number (remote track ids need not be unique across publishers).
    tracks: HashMap<usize, RecvTrack>,
}

/// Summary of one participant for the report.
pub struct PeerSummary {
    pub join: Duration,
    pub publish: Option<Duration>,
    pub sent_in_window: u64,
    pub write_errors: u64,
    pub keyframe_requests: u64,
    pub first_media: Vec<(String, Instant)>,
    pub errors: Vec<String>,
}

struct Shared {
    window: Arc<Window>,
    recv: Mutex<RecvStats>,
    errors: Mutex<Vec<String>>,
    publisher_state: Mutex<RTCPeerConnectionState>,
    subscriber_state: Mutex<RTCPeerConnectionState>,
    publish_answers: AtomicU64,
    leaving: AtomicBool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    identity: String,
    /// Gathering complete, per PC (publisher, subscriber).
    gathered: [AtomicBool; 2],
    next_track: AtomicUsize,
    /// Janus: when the subscriber handle was attached.
    subscribe_started: Mutex<Option<Instant>>,
}

impl Shared {
    fn error(&self, e: String) {
        if self.leaving.load(Ordering::Acquire) {
            return;
        }
        tracing::warn!("{}: {e}", self.identity);
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 20 {
            errors.push(e);
        }
    }

    fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let h = tokio::spawn(fut);
        self.tasks.lock().unwrap().push(h);
    }
}

// ---------------------------------------------------------------------------------------------
// PC handlers, receive path, signalling
// ---------------------------------------------------------------------------------------------

struct Handler {
    shared: Arc<Shared>,
    publisher: bool,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let slot = if self.publisher {
            &self.shared.publisher_state
        } else {
            &self.shared.subscriber_state
        };
        *slot.lock().unwrap() = state;
        if matches!(
            state,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected
        ) {
            let which = if self.publisher {
                "publisher"
            } else {
                "subscriber"
            };
            self.shared.error(format!("{which} PC {state}"));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.shared.gathered[usize::from(!self.publisher)].store(true, Ordering::Release);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = Arc::clone(&self.shared);
        self.shared.spawn(read_track(shared, track));
    }
}

/// The stamp's send time, if the payload carries a stamp header (VP8 descriptor skipped for
/// video).
fn stamp_time(video: bool, payload: &[u8]) -> Option<u64> {
    let region = if video {
        &payload[media::parse_vp8(payload)?.data_offset..]
    } else {
        payload
    };
    if region.len() < STAMP_HEADER_LEN || region[0..4] != STAMP_MAGIC {
        return None;
    }
    Some(u64::from_be_bytes(region[12..20].try_into().ok()?))
}

async fn read_track(shared: Arc<Shared>, track: Arc<dyn TrackRemote>) {
    let track_id = shared.next_track.fetch_add(1, Ordering::Relaxed);
    let publisher_sid = track.stream_id().await;
    let video = matches!(track.kind().await, RtpCodecKind::Video);
    while let Some(evt) = track.poll().await {
        match evt {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                let now = media::now_micros();
                let sent = stamp_time(video, &pkt.payload);
                let mut r = shared.recv.lock().unwrap();
                r.packets += 1;
                let seq = pkt.header.sequence_number;
                let (gap, fresh) = match r.tracks.get_mut(&track_id) {
                    Some(t) => t.seen.observe(seq),
                    None => {
                        let mut seen = SeqWindow::default();
                        seen.observe(seq);
                        r.tracks.insert(
                            track_id,
                            RecvTrack {
                                publisher_sid: publisher_sid.clone(),
                                first_at: Instant::now(),
                                seen,
                            },
                        );
                        (0, true)
                    }
                };
                r.seq_gap_packets += gap;
                if !fresh {
                    // A retransmission of something already received (or far too old).
                    r.duplicates += 1;
                    continue;
                }
                match sent {
                    Some(sent) => {
                        if shared.window.contains(sent) {
                            r.in_window += 1;
                            r.latency.record(now.saturating_sub(sent));
                        }
                    }
                    None => r.bad_payloads += 1,
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

async fn signal_loop(
    shared: Arc<Shared>,
    mut rx: SignalReceiver,
    tx: SignalSender,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
) {
    loop {
        let Some(msg) = rx.recv_message(Duration::from_secs(3600)).await else {
            continue;
        };
        let v = match msg {
            Message::Closed { code, reason } => {
                shared.error(format!("signalling closed: {code:?} {reason}"));
                return;
            }
            Message::Json(v) => v,
            _ => continue,
        };
        match msg_type(&v) {
            Some("subscribe_offer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    continue;
                };
                if let Err(e) = answer(subscriber.as_ref(), &tx, sdp).await {
                    shared.error(format!("answering subscribe_offer: {e:#}"));
                }
            }
            Some("publish_answer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    continue;
                };
                let applied = match RTCSessionDescription::answer(sdp.to_owned()) {
                    Ok(a) => publisher.set_remote_description(a).await,
                    Err(e) => Err(e),
                };
                match applied {
                    Ok(()) => {
                        shared.publish_answers.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => shared.error(format!("applying publish_answer: {e}")),
                }
            }
            Some("error") => shared.error(format!("server error: {v}")),
            Some("removed") | Some("going_away") => shared.error(format!("server said: {v}")),
            _ => {}
        }
    }
}

async fn answer(pc: &dyn PeerConnection, tx: &SignalSender, sdp: &str) -> Result<()> {
    let offer = RTCSessionDescription::offer(sdp.to_owned()).map_err(|e| anyhow!("{e}"))?;
    pc.set_remote_description(offer)
        .await
        .map_err(|e| anyhow!("set_remote_description: {e}"))?;
    let ans = pc
        .create_answer(None)
        .await
        .map_err(|e| anyhow!("create_answer: {e}"))?;
    pc.set_local_description(ans.clone())
        .await
        .map_err(|e| anyhow!("set_local_description: {e}"))?;
    let sdp = pc.local_description().await.map_or(ans.sdp, |d| d.sdp);
    tx.send(json!({"type": "subscribe_answer", "sdp": sdp}))
        .await
}

// ---------------------------------------------------------------------------------------------
// Send path
// ---------------------------------------------------------------------------------------------

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: Vec<u8>) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        },
        payload: Bytes::from(payload),
    }
}

async fn send(t: &SendTrack, window: &Window, stamp_micros: u64, pkt: rtc::rtp::Packet) {
    match t.track.write_rtp(pkt).await {
        Ok(()) => {
            t.sent.fetch_add(1, Ordering::Relaxed);
            if window.contains(stamp_micros) {
                t.sent_in_window.fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(_) => {
            t.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn audio_pump(t: Arc<SendTrack>, window: Arc<Window>, len: usize) {
    let pt = t.pt.load(Ordering::Relaxed);
    let (mut seq, mut ts): (u16, u32) = (rand::random(), rand::random());
    let mut counter = 0u32;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = media::now_micros();
        let stamp = Stamp {
            origin: t.origin,
            counter,
            sent_micros: now,
        };
        let payload = media::audio_payload(&stamp, len);
        send(
            &t,
            &window,
            now,
            rtp(pt, seq, ts, t.ssrc, counter == 0, payload),
        )
        .await;
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(960);
        counter = counter.wrapping_add(1);
    }
}

/// Video packet numbering and frame structure shared by both pacings.
struct VideoSource {
    pt: u8,
    seq: u16,
    ts: u32,
    ts_step: u32,
    counter: u32,
    index_in_frame: u32,
    packets_per_frame: u32,
    len: usize,
    key: bool,
    last_key: Option<Instant>,
    keyframe_interval: Duration,
}

impl VideoSource {
    fn next(&mut self, t: &SendTrack) -> (u64, rtc::rtp::Packet) {
        if self.index_in_frame == 0 {
            let requested = t.keyframe_requested.swap(false, Ordering::AcqRel);
            let periodic = self
                .last_key
                .is_none_or(|at| at.elapsed() >= self.keyframe_interval);
            self.key = requested || periodic;
            if self.key {
                self.last_key = Some(Instant::now());
            }
        }
        let now = media::now_micros();
        let stamp = Stamp {
            origin: t.origin,
            counter: self.counter,
            sent_micros: now,
        };
        let first = self.index_in_frame == 0;
        let last = self.index_in_frame + 1 == self.packets_per_frame;
        let payload = media::vp8_payload(first, self.key, (320, 240), &stamp, self.len);
        let pkt = rtp(self.pt, self.seq, self.ts, t.ssrc, last, payload);
        self.seq = self.seq.wrapping_add(1);
        self.counter = self.counter.wrapping_add(1);
        self.index_in_frame += 1;
        if last {
            self.index_in_frame = 0;
            self.ts = self.ts.wrapping_add(self.ts_step);
        }
        (now, pkt)
    }
}

async fn video_pump(t: Arc<SendTrack>, window: Arc<Window>, traffic: Traffic) {
    let pps = traffic.video_pps.max(1);
    let ppf = traffic.video_packets_per_frame.clamp(1, pps);
    let fps = pps as f64 / ppf as f64;
    let mut src = VideoSource {
        pt: t.pt.load(Ordering::Relaxed),
        seq: rand::random(),
        ts: rand::random(),
        ts_step: (90_000.0 / fps).round() as u32,
        counter: 0,
        index_in_frame: 0,
        packets_per_frame: ppf,
        len: traffic.video_payload_bytes.max(40),
        key: false,
        last_key: None,
        keyframe_interval: Duration::from_millis(traffic.keyframe_interval_ms.max(1)),
    };
    match traffic.pacing {
        Pacing::Frames => {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for _ in 0..ppf {
                    let (now, pkt) = src.next(&t);
                    send(&t, &window, now, pkt).await;
                }
            }
        }
        Pacing::Even => {
            // A 1 ms timer; every tick sends what is due at `pps` since the start, so the
            // average rate holds even when ticks come late. A long stall (> 50 packets behind)
            // is forgiven rather than sent as a burst.
            let start = Instant::now();
            let mut sent: u64 = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let due = (start.elapsed().as_micros() as u64 * pps as u64) / 1_000_000;
                if due > sent + 50 {
                    sent = due - 50;
                }
                while sent < due {
                    let (now, pkt) = src.next(&t);
                    send(&t, &window, now, pkt).await;
                    sent += 1;
                }
            }
        }
    }
}

async fn rtcp_reader(t: Arc<SendTrack>) {
    while let Some(evt) = t.track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = evt {
            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                t.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                t.keyframe_requested.store(true, Ordering::Release);
            }
        }
    }
}

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
            switchboard_tests::keyframe_tap::KeyframeRequestForwarder::new(),
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

    /// Janus: creates a session, attaches a VideoRoom handle and joins `room` as a publisher.
    pub async fn join_janus(
        api: &crate::janus::JanusApi,
        room: u64,
        identity: &str,
        window: Arc<Window>,
        local_ip: &str,
    ) -> Result<BenchPeer> {
        let started = Instant::now();
        let shared = new_shared(identity, window);
        let session = JanusSession::create(api.clone(), {
            let shared = Arc::clone(&shared);
            move |e| shared.error(e)
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
        let publisher = build_pc(&shared, true, local_ip).await?;
        let subscriber = build_pc(&shared, false, local_ip).await?;
        Ok(BenchPeer {
            identity: identity.to_owned(),
            sid: feed,
            started,
            join,
            publish: None,
            published_at: None,
            signal: Signal::Janus {
                session: Arc::new(session),
                room,
                publisher_handle,
            },
            publisher,
            subscriber,
            shared,
            tracks: vec![],
        })
    }

    /// Janus: attaches a subscriber handle for `feeds` (publisher ids), answers the offer and
    /// starts. Retries "no such feed" (a publisher that is not configured yet) for a while.
    pub async fn subscribe_janus(&self, feeds: &[String]) -> Result<()> {
        let Signal::Janus { session, room, .. } = &self.signal else {
            bail!("not a Janus participant");
        };
        if feeds.is_empty() {
            return Ok(());
        }
        let streams: Vec<Value> = feeds
            .iter()
            .map(|f| json!({"feed": f.parse::<u64>().map(Value::from).unwrap_or(Value::from(f.clone()))}))
            .collect();
        *self.shared.subscribe_started.lock().unwrap() = Some(Instant::now());
        let handle = session.attach().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let offer = loop {
            match session
                .message(
                    handle,
                    json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams}),
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
        let pc = self.subscriber.as_ref();
        pc.set_remote_description(
            RTCSessionDescription::offer(sdp.to_owned()).map_err(|e| anyhow!("{e}"))?,
        )
        .await
        .map_err(|e| anyhow!("set_remote_description: {e}"))?;
        let ans = pc
            .create_answer(None)
            .await
            .map_err(|e| anyhow!("create_answer: {e}"))?;
        pc.set_local_description(ans)
            .await
            .map_err(|e| anyhow!("set_local_description: {e}"))?;
        let sdp = gathered_sdp(&self.shared, pc, false).await?;
        session
            .message(
                handle,
                json!({"request": "start"}),
                Some(json!({"type": "answer", "sdp": sdp})),
            )
            .await
            .context("subscriber start")?;
        Ok(())
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
            let (codec, codec_kind, source) = match kind {
                Kind::Audio => (
                    RTCRtpCodec {
                        mime_type: MIME_TYPE_OPUS.to_owned(),
                        clock_rate: 48_000,
                        channels: 2,
                        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                        rtcp_feedback: vec![],
                    },
                    RtpCodecKind::Audio,
                    "microphone",
                ),
                Kind::Video => (
                    RTCRtpCodec {
                        mime_type: MIME_TYPE_VP8.to_owned(),
                        clock_rate: 90_000,
                        channels: 0,
                        sdp_fmtp_line: String::new(),
                        rtcp_feedback: vec![],
                    },
                    RtpCodecKind::Video,
                    "camera",
                ),
            };
            let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                stream_id.clone(),
                track_id.clone(),
                format!("{track_id}-label"),
                codec_kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            )));
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
        let offer = self
            .publisher
            .create_offer(None)
            .await
            .map_err(|e| anyhow!("create_offer: {e}"))?;
        self.publisher
            .set_local_description(offer.clone())
            .await
            .map_err(|e| anyhow!("set_local_description: {e}"))?;
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
                self.publisher
                    .set_remote_description(
                        RTCSessionDescription::answer(answer.to_owned())
                            .map_err(|e| anyhow!("{e}"))?,
                    )
                    .await
                    .map_err(|e| anyhow!("applying the answer: {e}"))?;
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
