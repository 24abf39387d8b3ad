//! The public types of the kit: media kinds, participant configuration, receive and publish
//! statistics, connection states.

use super::*;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub(super) fn from_codec_kind(kind: RtpCodecKind) -> Option<MediaKind> {
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
    /// The source name declared for the audio track in `publish_offer.sources` (default
    /// `microphone`), to test how the server treats other names.
    pub audio_source: Option<String>,
    /// Address both PCs bind their UDP socket to (port 0). Default `127.0.0.1`.
    pub bind_ip: IpAddr,
    /// Opt-in load-generator video timing: a packet rate instead of
    /// [`video_fps`](Self::video_fps), paced by frames or evenly (see [`VideoPacing`]). Needs
    /// [`fixed_video_packets`](Self::fixed_video_packets). `None` (default): `video_fps` frames
    /// per second, each frame's packets back to back.
    pub video_pacing: Option<VideoPacing>,
    /// Opt-in measure mode (what a load generator needs): receivers only read each payload's
    /// stamp header (no per-byte integrity check, no [`ReceivedTrack`] statistics:
    /// [`TestParticipant::received`] stays empty) and record, for the packets stamped inside this
    /// window, the send-to-receive delay (see [`TestParticipant::with_measured`]); publishers
    /// count the packets they stamped inside it ([`PublishedTrackInfo::packets_sent_in_window`]).
    /// `None` (default): every payload is verified.
    pub measure: Option<Arc<Window>>,
}

/// How video packets are spaced (see [`ParticipantConfig::video_pacing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pacing {
    /// A camera: every frame's packets leave back to back at the frame rate.
    Frames,
    /// One packet at a time, evenly spaced at the packet rate (1 ms timer, catch-up counted).
    Even,
}

impl std::str::FromStr for Pacing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "frames" => Ok(Pacing::Frames),
            "even" => Ok(Pacing::Even),
            _ => Err(format!("pacing is `frames` or `even`, not `{s}`")),
        }
    }
}

/// A video packet rate and how it is paced: the frame rate is `packets_per_second` over
/// [`FixedVideoPackets::packets_per_frame`] (it need not be whole; the RTP timestamp advances by
/// the rounded 90 kHz frame duration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoPacing {
    /// Video packets per second (at least 1).
    pub packets_per_second: u32,
    /// Frame by frame or evenly.
    pub pacing: Pacing,
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
            audio_source: None,
            bind_ip: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            video_pacing: None,
            measure: None,
        }
    }
}

/// Inter-arrival silences at least this long are recorded in [`ReceivedTrack::gaps`].
pub const ARRIVAL_GAP_THRESHOLD: Duration = Duration::from_millis(250);

/// Most [`ArrivalGap`]s kept per track (the first ones).
pub(super) const MAX_ARRIVAL_GAPS: usize = 64;

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
    pub(super) fn new(stream_id: String, track_id: String, kind: MediaKind) -> Self {
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
            && self
                .ssrcs_seen
                .iter()
                .all(|s| self.declared_ssrcs.contains(s))
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
    /// RTCP batches that asked for a keyframe (at least one PLI or FIR).
    pub keyframe_requests: u64,
    /// Payload bytes of the packets handed to the PC (`packets_sent` of them).
    pub payload_bytes_sent: u64,
    /// Packets numbered but deliberately not sent ([`ParticipantConfig::drop_every_nth`]).
    pub packets_dropped: u64,
    /// Packets sent whose stamp is inside the [`ParticipantConfig::measure`] window (0 without
    /// one).
    pub packets_sent_in_window: u64,
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
