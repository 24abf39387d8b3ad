//! [`TestParticipant`]: a signalling client plus a publisher and a subscriber peer connection
//! (async `webrtc` 0.21.1), publishing synthetic Opus + VP8 and recording what it receives.
//!
//! Setup follows the protocol's two-PC model: the publisher PC offers (`publish_offer` with a
//! `sources` map), the subscriber PC answers every `subscribe_offer` right after
//! `set_local_description` (the server is ICE-lite, so nobody waits for gathering). Both PCs bind
//! UDP on `127.0.0.1:0`, have mDNS disabled and no ICE servers.
//!
//! Every task the participant starts (signalling loop, media pumps, RTCP readers, track readers)
//! is kept in one list and aborted by [`TestParticipant::leave`],
//! [`TestParticipant::drop_abruptly`] or `Drop`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Slot;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability,
    RtpCodecKind,
};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCPeerConnectionState,
    RTCSessionDescription, Registry, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::media::{self, Stamp};
use crate::sdp::parse_media_sections;
use crate::signal::{Message, SignalClient, SignalReceiver, SignalSender};
use crate::{msg_type, ws_url, Joined};

/// Polling period of the `wait_*` helpers.
const POLL: Duration = Duration::from_millis(20);

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    fn from_codec_kind(kind: RtpCodecKind) -> Option<MediaKind> {
        match kind {
            RtpCodecKind::Audio => Some(MediaKind::Audio),
            RtpCodecKind::Video => Some(MediaKind::Video),
            _ => None,
        }
    }

    /// `"audio"` or `"video"`, as in the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Knobs of a [`TestParticipant`].
#[derive(Debug, Clone)]
pub struct ParticipantConfig {
    /// Publish an Opus microphone track (source `microphone`).
    pub publish_audio: bool,
    /// Publish a VP8 camera track (source `camera`).
    pub publish_video: bool,
    /// Send a keyframe at least this often. `None`: only the first frame and frames after a
    /// PLI/FIR are keyframes.
    pub keyframe_interval: Option<Duration>,
    /// Video frames per second (RTP timestamp step = 90000 / fps).
    pub video_fps: u32,
    /// Width and height written in keyframe headers.
    pub video_size: (u16, u16),
    /// Bytes per audio payload (50 packets/s).
    pub audio_payload_len: usize,
    /// Timeout for each signalling round trip and for connecting a PC.
    pub timeout: Duration,
    /// ICE `(disconnected, failed, keepalive)` timeouts of both PCs; `None` keeps the crate's
    /// defaults (5 s, 25 s, 2 s).
    pub ice_timeouts: Option<(Duration, Duration, Duration)>,
    /// Opt-in constant video traffic: every frame (keyframes included) is
    /// [`FixedVideoPackets::packets_per_frame`] packets of exactly
    /// [`FixedVideoPackets::payload_len`] payload bytes, so the payload bitrate is
    /// `video_fps × packets_per_frame × payload_len × 8`. `None` (default): keyframes are 3 ×
    /// 1000 bytes, delta frames alternate 1 and 2 × 500 bytes.
    pub fixed_video_packets: Option<FixedVideoPackets>,
    /// Opt-in simulated uplink loss: every n-th packet of every published track (counting from
    /// 1 per track) is numbered as usual and then *not sent*, leaving a real gap in the sequence
    /// number space (a share of 1/n). Those packets never reach the PC, so its NACK responder
    /// cannot retransmit them. `None` (default): nothing is dropped.
    pub drop_every_nth: Option<u32>,
    /// Opt-in RFC 6464 audio levels: negotiate `urn:ietf:params:rtp-hdrext:ssrc-audio-level`
    /// on the publisher PC and put this level (0 = loudest … 127 = silence, in -dBov, with the
    /// voice-activity flag set when below 127) on every audio packet; change it later with
    /// [`TestParticipant::set_audio_level`]. [`TestParticipant::publish`] fails if the server
    /// does not negotiate the extension. `None` (default): the extension is not offered.
    pub audio_level: Option<u8>,
}

/// Shape of opt-in constant video traffic (see [`ParticipantConfig::fixed_video_packets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedVideoPackets {
    /// RTP packets per video frame (at least 1).
    pub packets_per_frame: u32,
    /// Payload bytes of every video packet (at least 40, so the VP8 header and stamp fit).
    pub payload_len: usize,
}

/// URI of the RFC 6464 client-to-mixer audio level header extension.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

impl Default for ParticipantConfig {
    fn default() -> Self {
        ParticipantConfig {
            publish_audio: true,
            publish_video: true,
            keyframe_interval: None,
            video_fps: 30,
            video_size: (320, 240),
            audio_payload_len: 60,
            timeout: Duration::from_secs(10),
            ice_timeouts: None,
            fixed_video_packets: None,
            drop_every_nth: None,
            audio_level: None,
        }
    }
}

/// Inter-arrival silences at least this long are recorded in [`ReceivedTrack::gaps`].
pub const ARRIVAL_GAP_THRESHOLD: Duration = Duration::from_millis(250);

/// Most [`ArrivalGap`]s kept per track (the first ones).
const MAX_ARRIVAL_GAPS: usize = 64;

/// A silence of at least [`ARRIVAL_GAP_THRESHOLD`] in a received track (e.g. a mute, hold or
/// pause), described by the first packet after it.
#[derive(Debug, Clone)]
pub struct ArrivalGap {
    /// Time between the last packet before the silence and the first one after it.
    pub silence: Duration,
    /// Arrival of the first packet after the silence.
    pub at: Instant,
    /// That packet's sequence number was the previous one + 1 (mod 2^16).
    pub seq_continuous: bool,
    /// Its RTP timestamp minus the previous packet's (wrapping, as a signed difference).
    pub ts_delta: i64,
    /// Video: that packet starts a VP8 keyframe. Audio: always false.
    pub keyframe_start: bool,
}

/// Receive statistics of one remote track (a snapshot; see [`TestParticipant::received`]).
#[derive(Debug, Clone)]
pub struct ReceivedTrack {
    /// msid stream id: the publishing participant's sid.
    pub stream_id: String,
    /// msid track id: the server's track sid.
    pub track_id: String,
    pub kind: MediaKind,
    /// Codec mime type the receiver negotiated, if known.
    pub mime_type: Option<String>,
    /// `a=mid` of the m-section of this track in the last subscriber offer.
    pub mid: Option<String>,
    /// SSRCs the crate's `TrackRemote::ssrcs()` reported when the track opened.
    pub reported_ssrcs: Vec<u32>,
    /// Media SSRCs the subscriber offer declared (`a=ssrc`) for this track's m-section.
    pub declared_ssrcs: Vec<u32>,
    /// Payload type the offer gives this track's codec (opus / VP8).
    pub declared_payload_type: Option<u8>,
    /// SSRCs seen in RTP headers.
    pub ssrcs_seen: Vec<u32>,
    /// Payload types seen in RTP headers.
    pub payload_types_seen: Vec<u8>,
    pub packets: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Packets whose sequence number was not last + 1 (mod 2^16).
    pub seq_discontinuities: u64,
    /// The same, counted only after the first VP8 keyframe (video) or the first packet (audio).
    pub seq_discontinuities_after_keyframe: u64,
    /// Sum of forward sequence jumps (packets apparently missing).
    pub seq_gap_packets: u64,
    /// Packets older than or equal to the newest seen (reordered or duplicated).
    pub seq_backwards: u64,
    /// In-order packets whose RTP timestamp went backwards.
    pub timestamp_regressions: u64,
    pub first_packet_at: Option<Instant>,
    pub last_packet_at: Option<Instant>,
    /// Arrival of the first packet that starts a VP8 keyframe.
    pub first_keyframe_at: Option<Instant>,
    /// Video: whether the very first packet received started a VP8 keyframe.
    pub started_with_keyframe: Option<bool>,
    /// Keyframe starts received.
    pub keyframes: u64,
    /// Packets with the marker bit (video: completed frames).
    pub marker_packets: u64,
    /// Video payloads that are not valid VP8 (descriptor/header).
    pub vp8_invalid: u64,
    /// Payloads whose integrity stamp verified.
    pub stamps_ok: u64,
    /// Payloads whose stamp did not verify (corrupted, truncated or not ours).
    pub stamps_bad: u64,
    /// Origin tags found in stamps (see [`PublishedTrackInfo::origin_tag`]).
    pub stamp_origins: Vec<u32>,
    /// Largest send-to-receive delay seen, in microseconds.
    pub max_latency_micros: u64,
    /// The track ended (`OnEnded` or poll end).
    pub ended: bool,
    /// Silences of at least [`ARRIVAL_GAP_THRESHOLD`] between two packets, in order.
    pub gaps: Vec<ArrivalGap>,
}

impl ReceivedTrack {
    fn new(stream_id: String, track_id: String, kind: MediaKind) -> Self {
        ReceivedTrack {
            stream_id,
            track_id,
            kind,
            mime_type: None,
            mid: None,
            reported_ssrcs: vec![],
            declared_ssrcs: vec![],
            declared_payload_type: None,
            ssrcs_seen: vec![],
            payload_types_seen: vec![],
            packets: 0,
            bytes: 0,
            seq_discontinuities: 0,
            seq_discontinuities_after_keyframe: 0,
            seq_gap_packets: 0,
            seq_backwards: 0,
            timestamp_regressions: 0,
            first_packet_at: None,
            last_packet_at: None,
            first_keyframe_at: None,
            started_with_keyframe: None,
            keyframes: 0,
            marker_packets: 0,
            vp8_invalid: 0,
            stamps_ok: 0,
            stamps_bad: 0,
            stamp_origins: vec![],
            max_latency_micros: 0,
            ended: false,
            gaps: vec![],
        }
    }

    pub fn is_audio(&self) -> bool {
        self.kind == MediaKind::Audio
    }

    pub fn is_video(&self) -> bool {
        self.kind == MediaKind::Video
    }

    /// Every SSRC seen in RTP headers is one the subscriber offer declared for this track (and
    /// both sets are non-empty).
    pub fn ssrc_matches_declared(&self) -> bool {
        !self.declared_ssrcs.is_empty()
            && !self.ssrcs_seen.is_empty()
            && self.ssrcs_seen.iter().all(|s| self.declared_ssrcs.contains(s))
    }

    /// Every payload type seen is the one the offer declared for the codec.
    pub fn payload_type_matches_declared(&self) -> bool {
        match self.declared_payload_type {
            Some(pt) => !self.payload_types_seen.is_empty() && self.payload_types_seen == [pt],
            None => false,
        }
    }

    /// All payloads so far carried a valid stamp (and there was at least one).
    pub fn payloads_intact(&self) -> bool {
        self.stamps_ok > 0 && self.stamps_bad == 0 && self.vp8_invalid == 0
    }
}

/// What a participant publishes, per track (a snapshot).
#[derive(Debug, Clone)]
pub struct PublishedTrackInfo {
    pub kind: MediaKind,
    /// The local `MediaStreamTrack` id (the msid track id in the publish offer, and the key in
    /// the `sources` map).
    pub track_id: String,
    pub stream_id: String,
    pub ssrc: u32,
    /// Tag written in every stamp of this track ([`media::origin_tag`] of `track_id`).
    pub origin_tag: u32,
    /// Payload type negotiated on the publisher PC.
    pub payload_type: u8,
    pub packets_sent: u64,
    pub write_errors: u64,
    pub keyframes_sent: u64,
    pub plis_received: u64,
    pub firs_received: u64,
    /// Payload bytes of the packets handed to the PC (`packets_sent` of them).
    pub payload_bytes_sent: u64,
    /// Packets numbered but deliberately not sent ([`ParticipantConfig::drop_every_nth`]).
    pub packets_dropped: u64,
    /// Header extension id of RFC 6464 audio levels negotiated on this sender (audio with
    /// [`ParticipantConfig::audio_level`] only).
    pub audio_level_ext_id: Option<u8>,
}

/// Connection state of both PCs, with their histories.
#[derive(Debug, Clone)]
pub struct ConnectionStates {
    pub publisher: RTCPeerConnectionState,
    pub subscriber: RTCPeerConnectionState,
    pub publisher_history: Vec<RTCPeerConnectionState>,
    pub subscriber_history: Vec<RTCPeerConnectionState>,
}

// ---------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RecvState {
    last_seq: Option<u16>,
    last_ts: Option<u32>,
    started: bool,
}

struct TrackRecord {
    stats: ReceivedTrack,
    state: RecvState,
}

#[derive(Debug, Clone, Default)]
struct Declared {
    mid: Option<String>,
    ssrcs: Vec<u32>,
    payload_type: Option<u8>,
}

struct LocalTrackState {
    kind: MediaKind,
    track_id: String,
    stream_id: String,
    ssrc: u32,
    origin: u32,
    payload_type: std::sync::atomic::AtomicU8,
    packets_sent: AtomicU64,
    write_errors: AtomicU64,
    keyframes_sent: AtomicU64,
    plis: AtomicU64,
    firs: AtomicU64,
    keyframe_requested: AtomicBool,
    payload_bytes_sent: AtomicU64,
    packets_dropped: AtomicU64,
    /// Negotiated RFC 6464 extension id; 0: none.
    audio_level_ext: std::sync::atomic::AtomicU8,
    /// Level written in the RFC 6464 extension (0..=127).
    audio_level: std::sync::atomic::AtomicU8,
    /// [`ParticipantConfig::drop_every_nth`].
    drop_every_nth: Option<u32>,
    /// Packets numbered so far (sent or dropped).
    packets_numbered: AtomicU64,
}

struct PublishedTrack {
    state: Arc<LocalTrackState>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
}

#[derive(Default)]
struct Inner {
    messages: Mutex<Vec<Message>>,
    /// Remote tracks in arrival order.
    tracks: Mutex<Vec<TrackRecord>>,
    remote_tracks: Mutex<HashMap<String, Arc<dyn TrackRemote>>>,
    /// Declared SSRC/PT per msid track id, from the subscriber offers.
    declared: Mutex<HashMap<String, Declared>>,
    publisher_states: Mutex<Vec<RTCPeerConnectionState>>,
    subscriber_states: Mutex<Vec<RTCPeerConnectionState>>,
    publish_answers_applied: AtomicU64,
    subscribe_offers_answered: AtomicU64,
    errors: Mutex<Vec<String>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The signalling loop (also in `tasks`).
    signal_task: Mutex<Option<tokio::task::AbortHandle>>,
    stopping: AtomicBool,
}

impl Inner {
    fn spawn<F>(&self, fut: F) -> tokio::task::AbortHandle
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut);
        let abort = handle.abort_handle();
        if self.stopping.load(Ordering::Acquire) {
            handle.abort();
        } else {
            self.tasks.lock().unwrap().push(handle);
        }
        abort
    }

    fn error(&self, e: String) {
        tracing::warn!("test participant: {e}");
        self.errors.lock().unwrap().push(e);
    }

    fn on_rtp(&self, track_id: &str, pkt: &rtc::rtp::Packet, now: Instant) {
        let mut tracks = self.tracks.lock().unwrap();
        let Some(rec) = tracks
            .iter_mut()
            .rev()
            .find(|r| r.stats.track_id == track_id)
        else {
            return;
        };
        let st = &mut rec.state;
        let s = &mut rec.stats;
        let h = &pkt.header;
        let first = s.packets == 0;
        let silence = s
            .last_packet_at
            .map(|t| now.saturating_duration_since(t))
            .filter(|d| *d >= ARRIVAL_GAP_THRESHOLD);
        let (prev_seq, prev_ts) = (st.last_seq, st.last_ts);
        s.packets += 1;
        s.bytes += pkt.payload.len() as u64;
        if !s.ssrcs_seen.contains(&h.ssrc) {
            s.ssrcs_seen.push(h.ssrc);
        }
        if !s.payload_types_seen.contains(&h.payload_type) {
            s.payload_types_seen.push(h.payload_type);
        }
        s.first_packet_at.get_or_insert(now);
        s.last_packet_at = Some(now);
        if h.marker {
            s.marker_packets += 1;
        }

        // Sequence numbers and timestamps.
        let mut in_order = true;
        match st.last_seq {
            None => st.last_seq = Some(h.sequence_number),
            Some(last) => {
                let expected = last.wrapping_add(1);
                if h.sequence_number != expected {
                    s.seq_discontinuities += 1;
                    if st.started {
                        s.seq_discontinuities_after_keyframe += 1;
                    }
                    let delta = h.sequence_number.wrapping_sub(expected) as i16;
                    if delta > 0 {
                        s.seq_gap_packets += delta as u64;
                    } else {
                        s.seq_backwards += 1;
                    }
                }
                if (h.sequence_number.wrapping_sub(last) as i16) > 0 {
                    st.last_seq = Some(h.sequence_number);
                } else {
                    in_order = false;
                }
            }
        }
        if in_order {
            if let Some(last_ts) = st.last_ts {
                if (h.timestamp.wrapping_sub(last_ts) as i32) < 0 {
                    s.timestamp_regressions += 1;
                }
            }
            st.last_ts = Some(h.timestamp);
        }

        // Payload: VP8 structure, then the stamp.
        let region: Option<&[u8]> = match s.kind {
            MediaKind::Audio => {
                st.started = true;
                Some(&pkt.payload[..])
            }
            MediaKind::Video => match media::parse_vp8(&pkt.payload) {
                Some(info) => {
                    let key = info.frame_start && info.keyframe;
                    if first {
                        s.started_with_keyframe = Some(key);
                    }
                    if key {
                        s.keyframes += 1;
                        s.first_keyframe_at.get_or_insert(now);
                        st.started = true;
                    }
                    Some(&pkt.payload[info.data_offset..])
                }
                None => {
                    if first {
                        s.started_with_keyframe = Some(false);
                    }
                    s.vp8_invalid += 1;
                    None
                }
            },
        };
        match region.map(media::read_stamp) {
            Some(Ok(stamp)) => {
                s.stamps_ok += 1;
                if !s.stamp_origins.contains(&stamp.origin) {
                    s.stamp_origins.push(stamp.origin);
                }
                let latency = media::now_micros().saturating_sub(stamp.sent_micros);
                s.max_latency_micros = s.max_latency_micros.max(latency);
            }
            Some(Err(_)) | None => s.stamps_bad += 1,
        }

        if let Some(silence) = silence {
            if s.gaps.len() < MAX_ARRIVAL_GAPS {
                let keyframe_start = s.kind == MediaKind::Video
                    && media::parse_vp8(&pkt.payload).is_some_and(|i| i.frame_start && i.keyframe);
                s.gaps.push(ArrivalGap {
                    silence,
                    at: now,
                    seq_continuous: prev_seq
                        .is_some_and(|last| h.sequence_number == last.wrapping_add(1)),
                    ts_delta: prev_ts
                        .map(|last| i64::from(h.timestamp.wrapping_sub(last) as i32))
                        .unwrap_or(0),
                    keyframe_start,
                });
            }
        }
    }

    fn snapshot(&self) -> Vec<ReceivedTrack> {
        let declared = self.declared.lock().unwrap().clone();
        self.tracks
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                let mut s = r.stats.clone();
                if let Some(d) = declared.get(&s.track_id) {
                    s.mid = d.mid.clone();
                    s.declared_ssrcs = d.ssrcs.clone();
                    s.declared_payload_type = d.payload_type;
                }
                s
            })
            .collect()
    }

    fn record_offer(&self, sdp: &str) {
        let mut declared = self.declared.lock().unwrap();
        for m in parse_media_sections(sdp) {
            let Some(track) = m.msid_track.clone() else {
                continue;
            };
            let codec = match m.kind.as_str() {
                "audio" => "opus",
                "video" => "VP8",
                _ => continue,
            };
            declared.insert(
                track,
                Declared {
                    mid: m.mid.clone(),
                    ssrcs: m.ssrcs.clone(),
                    payload_type: m.payload_type_of(codec),
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PC event handlers
// ---------------------------------------------------------------------------------------------

struct PublisherHandler {
    inner: Arc<Inner>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PublisherHandler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!("publisher pc: {state}");
        self.inner.publisher_states.lock().unwrap().push(state);
    }
}

struct SubscriberHandler {
    inner: Arc<Inner>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for SubscriberHandler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!("subscriber pc: {state}");
        self.inner.subscriber_states.lock().unwrap().push(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Runs on the PC's driver: hand off at once.
        let inner = Arc::clone(&self.inner);
        self.inner.spawn(read_remote_track(inner, track));
    }
}

async fn read_remote_track(inner: Arc<Inner>, track: Arc<dyn TrackRemote>) {
    let track_id = track.track_id().await;
    let stream_id = track.stream_id().await;
    let Some(kind) = MediaKind::from_codec_kind(track.kind().await) else {
        return;
    };
    let ssrcs = track.ssrcs().await;
    let mime_type = match ssrcs.first() {
        Some(ssrc) => track.codec(*ssrc).await.map(|c| c.mime_type),
        None => None,
    };
    tracing::debug!("on_track {kind} {stream_id} {track_id} ssrcs={ssrcs:?}");
    {
        let mut stats = ReceivedTrack::new(stream_id, track_id.clone(), kind);
        stats.reported_ssrcs = ssrcs;
        stats.mime_type = mime_type;
        inner.tracks.lock().unwrap().push(TrackRecord {
            stats,
            state: RecvState::default(),
        });
    }
    inner
        .remote_tracks
        .lock()
        .unwrap()
        .insert(track_id.clone(), Arc::clone(&track));
    while let Some(evt) = track.poll().await {
        match evt {
            TrackRemoteEvent::OnRtpPacket(pkt) => inner.on_rtp(&track_id, &pkt, Instant::now()),
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    let mut tracks = inner.tracks.lock().unwrap();
    if let Some(rec) = tracks
        .iter_mut()
        .rev()
        .find(|r| r.stats.track_id == track_id)
    {
        rec.stats.ended = true;
    }
}

// ---------------------------------------------------------------------------------------------
// Signalling loop
// ---------------------------------------------------------------------------------------------

async fn signal_loop(
    inner: Arc<Inner>,
    mut rx: SignalReceiver,
    tx: SignalSender,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
) {
    loop {
        let Some(msg) = rx.recv_message(Duration::from_secs(3600)).await else {
            continue;
        };
        inner.messages.lock().unwrap().push(msg.clone());
        let v = match msg {
            Message::Closed { code, reason } => {
                tracing::debug!("signalling closed: {code:?} {reason}");
                return;
            }
            Message::Json(v) => v,
            _ => continue,
        };
        match msg_type(&v) {
            Some("subscribe_offer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    inner.error(format!("subscribe_offer without sdp: {v}"));
                    continue;
                };
                match answer_subscribe_offer(&inner, subscriber.as_ref(), &tx, sdp).await {
                    Ok(()) => {
                        inner
                            .subscribe_offers_answered
                            .fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => inner.error(format!("answering subscribe_offer: {e:#}")),
                }
            }
            Some("publish_answer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    inner.error(format!("publish_answer without sdp: {v}"));
                    continue;
                };
                let applied = match RTCSessionDescription::answer(sdp.to_owned()) {
                    Ok(answer) => publisher.set_remote_description(answer).await,
                    Err(e) => Err(e),
                };
                match applied {
                    Ok(()) => {
                        inner.publish_answers_applied.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => inner.error(format!("applying publish_answer: {e}")),
                }
            }
            Some("error") => tracing::debug!("server error message: {v}"),
            _ => {}
        }
    }
}

async fn answer_subscribe_offer(
    inner: &Inner,
    pc: &dyn PeerConnection,
    tx: &SignalSender,
    sdp: &str,
) -> Result<()> {
    inner.record_offer(sdp);
    let offer = RTCSessionDescription::offer(sdp.to_owned()).map_err(|e| anyhow!("{e}"))?;
    pc.set_remote_description(offer)
        .await
        .map_err(|e| anyhow!("set_remote_description: {e}"))?;
    let answer = pc
        .create_answer(None)
        .await
        .map_err(|e| anyhow!("create_answer: {e}"))?;
    pc.set_local_description(answer.clone())
        .await
        .map_err(|e| anyhow!("set_local_description: {e}"))?;
    let sdp = match pc.local_description().await {
        Some(d) => d.sdp,
        None => answer.sdp,
    };
    tx.send(json!({"type": "subscribe_answer", "sdp": sdp}))
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Media pumps
// ---------------------------------------------------------------------------------------------

fn rtp_packet(
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    marker: bool,
    payload: Vec<u8>,
) -> rtc::rtp::Packet {
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

/// RFC 6464 voice-activity flag is set for levels at or above this loudness (-40 dBov).
const VOICE_LEVEL: u8 = 40;

async fn write(state: &LocalTrackState, track: &TrackLocalStaticRTP, mut pkt: rtc::rtp::Packet) {
    // Opt-in simulated loss: the packet has its sequence number already; skip it.
    let numbered = state.packets_numbered.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(every) = state.drop_every_nth {
        if numbered.is_multiple_of(u64::from(every)) {
            state.packets_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // Opt-in RFC 6464 audio level (one byte: V flag, then the level in -dBov).
    let ext = state.audio_level_ext.load(Ordering::Relaxed);
    if ext != 0 {
        let level = state.audio_level.load(Ordering::Relaxed) & 0x7f;
        let voice = if level <= VOICE_LEVEL { 0x80 } else { 0 };
        if pkt
            .header
            .set_extension(ext, Bytes::from(vec![voice | level]))
            .is_err()
        {
            state.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    let len = pkt.payload.len() as u64;
    match track.write_rtp(pkt).await {
        Ok(()) => {
            state.packets_sent.fetch_add(1, Ordering::Relaxed);
            state.payload_bytes_sent.fetch_add(len, Ordering::Relaxed);
        }
        Err(_) => {
            state.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    };
}

async fn audio_pump(state: Arc<LocalTrackState>, track: Arc<TrackLocalStaticRTP>, len: usize) {
    let pt = state.payload_type.load(Ordering::Relaxed);
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut counter: u32 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let stamp = Stamp {
            origin: state.origin,
            counter,
            sent_micros: media::now_micros(),
        };
        let payload = media::audio_payload(&stamp, len);
        write(
            &state,
            &track,
            rtp_packet(pt, seq, ts, state.ssrc, counter == 0, payload),
        )
        .await;
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(960);
        counter = counter.wrapping_add(1);
    }
}

async fn video_pump(
    state: Arc<LocalTrackState>,
    track: Arc<TrackLocalStaticRTP>,
    fps: u32,
    size: (u16, u16),
    keyframe_interval: Option<Duration>,
    fixed: Option<FixedVideoPackets>,
) {
    let fps = fps.clamp(1, 120);
    let pt = state.payload_type.load(Ordering::Relaxed);
    let ts_step = 90_000 / fps;
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut counter: u32 = 0;
    let mut frame: u64 = 0;
    let mut last_keyframe: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / fps);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let requested = state.keyframe_requested.swap(false, Ordering::AcqRel);
        let periodic = match (keyframe_interval, last_keyframe) {
            (Some(every), Some(at)) => at.elapsed() >= every,
            _ => false,
        };
        let key = last_keyframe.is_none() || requested || periodic;
        let (packets, len) = match fixed {
            Some(f) => (f.packets_per_frame.max(1) as usize, f.payload_len.max(40)),
            None if key => (3, 1000),
            None => (1 + (frame % 2) as usize, 500),
        };
        for i in 0..packets {
            let stamp = Stamp {
                origin: state.origin,
                counter,
                sent_micros: media::now_micros(),
            };
            let payload = media::vp8_payload(i == 0, key, size, &stamp, len);
            write(
                &state,
                &track,
                rtp_packet(pt, seq, ts, state.ssrc, i + 1 == packets, payload),
            )
            .await;
            seq = seq.wrapping_add(1);
            counter = counter.wrapping_add(1);
        }
        if key {
            state.keyframes_sent.fetch_add(1, Ordering::Relaxed);
            last_keyframe = Some(Instant::now());
        }
        ts = ts.wrapping_add(ts_step);
        frame += 1;
    }
}

/// Reads RTCP feedback about a sent track (what the interceptor let through: PLI/FIR).
async fn rtcp_reader(state: Arc<LocalTrackState>, track: Arc<TrackLocalStaticRTP>) {
    while let Some(evt) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = evt {
            for p in &packets {
                let any = p.as_any();
                if any.is::<PictureLossIndication>() {
                    state.plis.fetch_add(1, Ordering::AcqRel);
                    state.keyframe_requested.store(true, Ordering::Release);
                } else if any.is::<FullIntraRequest>() {
                    state.firs.fetch_add(1, Ordering::AcqRel);
                    state.keyframe_requested.store(true, Ordering::Release);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TestParticipant
// ---------------------------------------------------------------------------------------------

async fn build_pc(
    handler: Arc<dyn PeerConnectionEventHandler>,
    with_keyframe_forwarder: bool,
    config: &ParticipantConfig,
) -> Result<Arc<dyn PeerConnection>> {
    let mut media_engine = MediaEngine::default();
    media_engine
        .register_default_codecs()
        .map_err(|e| anyhow!("register_default_codecs: {e}"))?;
    // Opt-in: offer RFC 6464 audio levels on the publisher PC (the only one built with the
    // keyframe-request forwarder).
    if with_keyframe_forwarder && config.audio_level.is_some() {
        media_engine
            .register_header_extension(
                RTCRtpHeaderExtensionCapability {
                    uri: AUDIO_LEVEL_URI.to_owned(),
                },
                RtpCodecKind::Audio,
                None,
            )
            .map_err(|e| anyhow!("register_header_extension({AUDIO_LEVEL_URI}): {e}"))?;
    }
    let mut registry = register_default_interceptors(Registry::new(), &mut media_engine)
        .map_err(|e| anyhow!("register_default_interceptors: {e}"))?;
    if with_keyframe_forwarder {
        registry = registry.with(Slot::from(14_000), crate::keyframe_tap::KeyframeRequestForwarder::new());
    }
    let mut settings =
        SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    if let Some((disconnected, failed, keepalive)) = config.ice_timeouts {
        settings = settings.with_ice_timeouts(Some(disconnected), Some(failed), Some(keepalive));
    }
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().with_ice_servers(vec![]).build())
        .with_media_engine(media_engine)
        .with_setting_engine(settings.build())
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .map_err(|e| anyhow!("building peer connection: {e}"))?;
    Ok(Arc::new(pc))
}

fn random_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// A participant for tests: WebSocket signalling, a publisher PC and a subscriber PC.
pub struct TestParticipant {
    joined: Joined,
    config: ParticipantConfig,
    sender: SignalSender,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
    inner: Arc<Inner>,
    published: Vec<PublishedTrack>,
    stopped: bool,
}

impl TestParticipant {
    /// Connects to `http_base` (e.g. `http://127.0.0.1:7880`) with `token`, reads `joined`,
    /// builds both PCs and starts answering subscriber offers. Publishes nothing yet.
    pub async fn join(http_base: &str, token: &str) -> Result<TestParticipant> {
        Self::join_with(http_base, token, ParticipantConfig::default()).await
    }

    /// [`join`](Self::join) with a configuration.
    pub async fn join_with(
        http_base: &str,
        token: &str,
        config: ParticipantConfig,
    ) -> Result<TestParticipant> {
        let url = ws_url(http_base, token);
        let (client, joined) = SignalClient::connect(&url).await?;
        Self::from_joined(client, joined, config).await
    }

    /// Builds a participant on a connection that has already received `joined` (e.g. after
    /// waiting in a lobby with a [`SignalClient`]): builds both PCs and starts answering
    /// subscriber offers. Messages `client` has not read yet are handled as usual; `joined` is
    /// recorded as the first message.
    pub async fn from_joined(
        client: SignalClient,
        joined: Joined,
        config: ParticipantConfig,
    ) -> Result<TestParticipant> {
        let (sender, receiver) = client.split();
        let inner = Arc::new(Inner::default());
        inner
            .messages
            .lock()
            .unwrap()
            .push(Message::Json(joined.raw.clone()));

        let publisher = build_pc(
            Arc::new(PublisherHandler {
                inner: Arc::clone(&inner),
            }),
            true,
            &config,
        )
        .await?;
        let subscriber = build_pc(
            Arc::new(SubscriberHandler {
                inner: Arc::clone(&inner),
            }),
            false,
            &config,
        )
        .await?;

        let signal_task = inner.spawn(signal_loop(
            Arc::clone(&inner),
            receiver,
            sender.clone(),
            Arc::clone(&publisher),
            Arc::clone(&subscriber),
        ));
        *inner.signal_task.lock().unwrap() = Some(signal_task);

        Ok(TestParticipant {
            joined,
            config,
            sender,
            publisher,
            subscriber,
            inner,
            published: Vec::new(),
            stopped: false,
        })
    }

    /// The `joined` message.
    pub fn joined(&self) -> &Joined {
        &self.joined
    }

    /// This participant's sid (from `joined`).
    pub fn sid(&self) -> &str {
        &self.joined.participant.sid
    }

    /// This participant's identity (from `joined`).
    pub fn identity(&self) -> &str {
        &self.joined.participant.identity
    }

    /// Sends a raw JSON message on the signalling socket.
    pub async fn send(&self, msg: Value) -> Result<()> {
        self.sender.send(msg).await
    }

    /// Adds the configured tracks to the publisher PC, offers (`publish_offer` with `sources`),
    /// applies the `publish_answer`, waits for the publisher PC to connect and starts the media
    /// pumps and the PLI/FIR readers.
    pub async fn publish(&mut self) -> Result<()> {
        anyhow::ensure!(self.published.is_empty(), "already published");
        anyhow::ensure!(!self.stopped, "participant stopped");
        let stream_id = format!("{}-stream-{}", self.identity(), random_suffix());
        let mut kinds = vec![];
        if self.config.publish_audio {
            kinds.push(MediaKind::Audio);
        }
        if self.config.publish_video {
            kinds.push(MediaKind::Video);
        }
        anyhow::ensure!(!kinds.is_empty(), "nothing to publish");

        let mut sources = serde_json::Map::new();
        let mut published = vec![];
        for kind in kinds {
            let track_id = format!("{}-{}-{}", self.identity(), kind, random_suffix());
            let ssrc = loop {
                let s: u32 = rand::random();
                if s != 0 {
                    break s;
                }
            };
            let (codec, codec_kind, source) = match kind {
                MediaKind::Audio => (
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
                MediaKind::Video => (
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
                format!("{kind}-label"),
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
                .map_err(|e| anyhow!("add_track({kind}): {e}"))?;
            sources.insert(track_id.clone(), Value::from(source));
            published.push(PublishedTrack {
                state: Arc::new(LocalTrackState {
                    kind,
                    origin: media::origin_tag(&track_id),
                    track_id,
                    stream_id: stream_id.clone(),
                    ssrc,
                    payload_type: std::sync::atomic::AtomicU8::new(0),
                    packets_sent: AtomicU64::new(0),
                    write_errors: AtomicU64::new(0),
                    keyframes_sent: AtomicU64::new(0),
                    plis: AtomicU64::new(0),
                    firs: AtomicU64::new(0),
                    keyframe_requested: AtomicBool::new(false),
                    payload_bytes_sent: AtomicU64::new(0),
                    packets_dropped: AtomicU64::new(0),
                    audio_level_ext: std::sync::atomic::AtomicU8::new(0),
                    audio_level: std::sync::atomic::AtomicU8::new(
                        self.config.audio_level.unwrap_or(127).min(127),
                    ),
                    drop_every_nth: self.config.drop_every_nth.filter(|n| *n > 0),
                    packets_numbered: AtomicU64::new(0),
                }),
                track,
                sender,
            });
        }

        let offer = self
            .publisher
            .create_offer(None)
            .await
            .map_err(|e| anyhow!("create_offer: {e}"))?;
        self.publisher
            .set_local_description(offer.clone())
            .await
            .map_err(|e| anyhow!("set_local_description(offer): {e}"))?;
        let before = self.inner.publish_answers_applied.load(Ordering::Acquire);
        let errors_before = self.inner.errors.lock().unwrap().len();
        self.sender
            .send(json!({"type": "publish_offer", "sdp": offer.sdp, "sources": sources}))
            .await?;

        // Wait for the loop to apply the publish_answer (or for an error).
        let deadline = Instant::now() + self.config.timeout;
        loop {
            if self.inner.publish_answers_applied.load(Ordering::Acquire) > before {
                break;
            }
            if let Some(e) = self.inner.errors.lock().unwrap().get(errors_before) {
                bail!("publish failed: {e}");
            }
            if Instant::now() >= deadline {
                bail!(
                    "no publish_answer within {:?}; last error message: {:?}",
                    self.config.timeout,
                    self.last_message_of_type("error")
                );
            }
            tokio::time::sleep(POLL).await;
        }

        self.wait_publisher_connected(self.config.timeout)
            .await
            .context("publisher PC did not connect")?;

        for p in &published {
            let mime = match p.state.kind {
                MediaKind::Audio => MIME_TYPE_OPUS,
                MediaKind::Video => MIME_TYPE_VP8,
            };
            let params = p
                .sender
                .get_parameters()
                .await
                .map_err(|e| anyhow!("get_parameters: {e}"))?;
            let pt = params
                .rtp_parameters
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                .map(|c| c.payload_type)
                .with_context(|| format!("{mime} not negotiated on the publisher PC"))?;
            p.state.payload_type.store(pt, Ordering::Relaxed);
            if p.state.kind == MediaKind::Audio && self.config.audio_level.is_some() {
                let id = params
                    .rtp_parameters
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == AUDIO_LEVEL_URI)
                    .and_then(|e| u8::try_from(e.id).ok())
                    .filter(|id| (1..=14).contains(id))
                    .with_context(|| {
                        format!(
                            "{AUDIO_LEVEL_URI} not negotiated on the audio sender; negotiated: {:?}",
                            params.rtp_parameters.header_extensions
                        )
                    })?;
                p.state.audio_level_ext.store(id, Ordering::Relaxed);
            }

            self.inner
                .spawn(rtcp_reader(Arc::clone(&p.state), Arc::clone(&p.track)));
            match p.state.kind {
                MediaKind::Audio => self.inner.spawn(audio_pump(
                    Arc::clone(&p.state),
                    Arc::clone(&p.track),
                    self.config.audio_payload_len,
                )),
                MediaKind::Video => self.inner.spawn(video_pump(
                    Arc::clone(&p.state),
                    Arc::clone(&p.track),
                    self.config.video_fps,
                    self.config.video_size,
                    self.config.keyframe_interval,
                    self.config.fixed_video_packets,
                )),
            };
        }
        self.published = published;
        Ok(())
    }

    /// What this participant publishes (with PLI/FIR counts).
    pub fn published(&self) -> Vec<PublishedTrackInfo> {
        self.published
            .iter()
            .map(|p| {
                let s = &p.state;
                PublishedTrackInfo {
                    kind: s.kind,
                    track_id: s.track_id.clone(),
                    stream_id: s.stream_id.clone(),
                    ssrc: s.ssrc,
                    origin_tag: s.origin,
                    payload_type: s.payload_type.load(Ordering::Relaxed),
                    packets_sent: s.packets_sent.load(Ordering::Relaxed),
                    write_errors: s.write_errors.load(Ordering::Relaxed),
                    keyframes_sent: s.keyframes_sent.load(Ordering::Relaxed),
                    plis_received: s.plis.load(Ordering::Acquire),
                    firs_received: s.firs.load(Ordering::Acquire),
                    payload_bytes_sent: s.payload_bytes_sent.load(Ordering::Relaxed),
                    packets_dropped: s.packets_dropped.load(Ordering::Relaxed),
                    audio_level_ext_id: match s.audio_level_ext.load(Ordering::Relaxed) {
                        0 => None,
                        id => Some(id),
                    },
                }
            })
            .collect()
    }

    /// The published track of `kind`, if any.
    pub fn published_track(&self, kind: MediaKind) -> Option<PublishedTrackInfo> {
        self.published().into_iter().find(|t| t.kind == kind)
    }

    /// Changes the RFC 6464 level (0 = loudest … 127 = silence, -dBov) put on every audio
    /// packet from now on. Needs [`ParticipantConfig::audio_level`] and a published audio
    /// track.
    pub fn set_audio_level(&self, level: u8) -> Result<()> {
        anyhow::ensure!(
            self.config.audio_level.is_some(),
            "audio levels are not enabled (ParticipantConfig::audio_level)"
        );
        let audio = self
            .published
            .iter()
            .find(|p| p.state.kind == MediaKind::Audio)
            .context("no published audio track")?;
        audio
            .state
            .audio_level
            .store(level.min(127), Ordering::Relaxed);
        Ok(())
    }

    /// PLIs received by the publisher, over all its tracks.
    pub fn plis_received(&self) -> u64 {
        self.published.iter().map(|p| p.state.plis.load(Ordering::Acquire)).sum()
    }

    /// FIRs received by the publisher, over all its tracks.
    pub fn firs_received(&self) -> u64 {
        self.published.iter().map(|p| p.state.firs.load(Ordering::Acquire)).sum()
    }

    /// Snapshot of every remote track received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedTrack> {
        self.inner.snapshot()
    }

    /// Remote tracks published by participant `sid` (msid stream id).
    pub fn received_from(&self, sid: &str) -> Vec<ReceivedTrack> {
        self.received()
            .into_iter()
            .filter(|t| t.stream_id == sid)
            .collect()
    }

    /// Packets received so far from publisher `sid` on tracks of `kind` (summed over every
    /// such track, e.g. after a renegotiation).
    pub fn packets_from(&self, sid: &str, kind: MediaKind) -> u64 {
        self.received()
            .iter()
            .filter(|t| t.stream_id == sid && t.kind == kind)
            .map(|t| t.packets)
            .sum()
    }

    /// Waits until `pred(received())` holds; returns that snapshot, or an error showing the last
    /// one.
    pub async fn wait_for(
        &self,
        mut pred: impl FnMut(&[ReceivedTrack]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<ReceivedTrack>> {
        let deadline = Instant::now() + timeout;
        loop {
            let snap = self.received();
            if pred(&snap) {
                return Ok(snap);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: condition on received tracks not met within {timeout:?}; tracks: {snap:#?}; local errors: {:?}",
                    self.identity(),
                    self.errors()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every JSON message received so far (starting with `joined`).
    pub fn messages(&self) -> Vec<Value> {
        self.inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| m.json().cloned())
            .collect()
    }

    /// Every message received so far, including a final [`Message::Closed`].
    pub fn all_messages(&self) -> Vec<Message> {
        self.inner.messages.lock().unwrap().clone()
    }

    fn last_message_of_type(&self, ty: &str) -> Option<Value> {
        self.messages()
            .into_iter()
            .rev()
            .find(|m| msg_type(m) == Some(ty))
    }

    /// Waits until some message received so far (the whole history, not only new ones)
    /// satisfies `pred`; returns the first such message.
    pub async fn wait_for_message(
        &self,
        mut pred: impl FnMut(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| pred(m)) {
                return Ok(m);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: no matching message within {timeout:?}; got: {:?}",
                    self.identity(),
                    self.all_messages()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many JSON messages were received so far (an index for
    /// [`wait_for_message_after`](Self::wait_for_message_after)).
    pub fn message_count(&self) -> usize {
        self.messages().len()
    }

    /// Like [`wait_for_message`](Self::wait_for_message), but only considers the JSON messages
    /// from index `from` on (see [`message_count`](Self::message_count)).
    pub async fn wait_for_message_after(
        &self,
        from: usize,
        mut pred: impl FnMut(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().skip(from).find(|m| pred(m)) {
                return Ok(m);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: no matching message (after #{from}) within {timeout:?}; got: {:?}",
                    self.identity(),
                    self.messages().into_iter().skip(from).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The close code and reason, once the signalling socket has closed.
    pub fn close_info(&self) -> Option<(Option<u16>, String)> {
        self.inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .find_map(|m| match m {
                Message::Closed { code, reason } => Some((*code, reason.clone())),
                _ => None,
            })
    }

    /// Local failures (SDP that could not be applied, sends that failed, …).
    pub fn errors(&self) -> Vec<String> {
        self.inner.errors.lock().unwrap().clone()
    }

    /// How many `subscribe_offer`s were answered.
    pub fn subscribe_offers_answered(&self) -> u64 {
        self.inner.subscribe_offers_answered.load(Ordering::Acquire)
    }

    /// Current state and history of both PCs.
    pub fn connection_states(&self) -> ConnectionStates {
        let publisher_history = self.inner.publisher_states.lock().unwrap().clone();
        let subscriber_history = self.inner.subscriber_states.lock().unwrap().clone();
        ConnectionStates {
            publisher: publisher_history
                .last()
                .copied()
                .unwrap_or(RTCPeerConnectionState::New),
            subscriber: subscriber_history
                .last()
                .copied()
                .unwrap_or(RTCPeerConnectionState::New),
            publisher_history,
            subscriber_history,
        }
    }

    async fn wait_state(
        &self,
        publisher: bool,
        want: RTCPeerConnectionState,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let states = self.connection_states();
            let current = if publisher {
                states.publisher
            } else {
                states.subscriber
            };
            if current == want {
                return Ok(());
            }
            if matches!(
                current,
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
            ) && want != current
            {
                bail!(
                    "{} PC is {current}, waiting for {want}: {states:?}",
                    if publisher { "publisher" } else { "subscriber" }
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} PC not {want} within {timeout:?}: {states:?}; local errors: {:?}",
                    if publisher { "publisher" } else { "subscriber" },
                    self.errors()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the publisher PC to be `Connected`.
    pub async fn wait_publisher_connected(&self, timeout: Duration) -> Result<()> {
        self.wait_state(true, RTCPeerConnectionState::Connected, timeout)
            .await
    }

    /// Waits for the subscriber PC to be `Connected`.
    pub async fn wait_subscriber_connected(&self, timeout: Duration) -> Result<()> {
        self.wait_state(false, RTCPeerConnectionState::Connected, timeout)
            .await
    }

    /// Sends a PLI for a received track (as a browser's decoder would).
    pub async fn request_keyframe(&self, track_id: &str) -> Result<()> {
        let track = self
            .inner
            .remote_tracks
            .lock()
            .unwrap()
            .get(track_id)
            .cloned()
            .with_context(|| format!("no remote track {track_id}"))?;
        let media_ssrc = match track.ssrcs().await.first() {
            Some(s) => *s,
            None => {
                let snap = self.received();
                let t = snap
                    .iter()
                    .find(|t| t.track_id == track_id)
                    .context("no stats for track")?;
                *t.ssrcs_seen.first().context("no SSRC known for track")?
            }
        };
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            })])
            .await
            .map_err(|e| anyhow!("write_rtcp: {e}"))
    }

    fn abort_tasks(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        for task in self.inner.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn close_pcs(&self) {
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
    }

    /// Sends `leave`, waits (up to 3 s) for the server to close the socket, then stops every
    /// task and closes both PCs. Returns the close code the server sent, if one was seen.
    pub async fn leave(mut self) -> Result<Option<u16>> {
        let sent = self.sender.send(json!({"type": "leave"})).await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.close_info().is_none() && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        let code = self.close_info().and_then(|(code, _)| code);
        self.shutdown().await;
        sent?;
        Ok(code)
    }

    /// Closes the WebSocket abruptly (TCP close, no close frame, no `leave`) and closes both
    /// PCs, so STUN checks go unanswered. Stops every task.
    pub async fn drop_abruptly(mut self) {
        self.abort_tasks();
        self.sender.drop_sink().await;
        self.close_pcs().await;
        self.stopped = true;
    }

    /// Closes the WebSocket abruptly (no close frame, no `leave`) but keeps both PCs and the
    /// media pumps running.
    pub async fn drop_websocket(&self) {
        // Stopping the signalling loop drops the read half; dropping the sink drops the rest.
        let loop_task = self.inner.signal_task.lock().unwrap().clone();
        if let Some(task) = loop_task {
            task.abort();
        }
        self.sender.drop_sink().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    /// Closes both PCs (DTLS close, no more STUN answers) and stops the media pumps; the
    /// WebSocket stays open.
    pub async fn close_peer_connections(&self) {
        let signal_task = self.inner.signal_task.lock().unwrap().as_ref().map(|t| t.id());
        for task in self.inner.tasks.lock().unwrap().iter() {
            if Some(task.id()) != signal_task {
                task.abort();
            }
        }
        self.close_pcs().await;
    }

    async fn shutdown(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.abort_tasks();
        self.sender.drop_sink().await;
        self.close_pcs().await;
    }
}

impl Drop for TestParticipant {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.abort_tasks();
        let sender = self.sender.clone();
        let publisher = Arc::clone(&self.publisher);
        let subscriber = Arc::clone(&self.subscriber);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                sender.drop_sink().await;
                let _ = publisher.close().await;
                let _ = subscriber.close().await;
            });
        }
    }
}
