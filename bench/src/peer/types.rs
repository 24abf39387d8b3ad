//! The measurement window, traffic shapes, and the state a participant's tasks share.

use super::*;

/// The measurement window, in microseconds since the UNIX epoch (the stamps' clock). A packet
/// belongs to the window when its stamp's send time does.
#[derive(Default)]
pub struct Window {
    pub(super) start: AtomicU64,
    pub(super) end: AtomicU64,
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
pub(super) enum Kind {
    Audio,
    Video,
}

/// One published track and its counters.
pub(super) struct SendTrack {
    pub(super) kind: Kind,
    pub(super) ssrc: u32,
    pub(super) origin: u32,
    pub(super) pt: AtomicU8,
    pub(super) track: Arc<TrackLocalStaticRTP>,
    pub(super) sent: AtomicU64,
    pub(super) sent_in_window: AtomicU64,
    pub(super) write_errors: AtomicU64,
    pub(super) keyframe_requested: AtomicBool,
    pub(super) keyframe_requests: AtomicU64,
}

/// Per-track receive record.
pub(super) struct RecvTrack {
    pub(super) publisher_sid: String,
    pub(super) first_at: Instant,
    pub(super) seen: SeqWindow,
}

/// The last 1,024 sequence numbers of a track: which arrived, for duplicate detection.
#[derive(Default)]
pub(super) struct SeqWindow {
    pub(super) highest: Option<u16>,
    pub(super) bits: [u64; 16],
}

impl SeqWindow {
    pub(super) fn bit(&mut self, seq: u16) -> (&mut u64, u64) {
        let i = (seq % 1024) as usize;
        (&mut self.bits[i / 64], 1u64 << (i % 64))
    }

    /// Records `seq`; returns (forward jump in packets apparently missing, first arrival).
    pub(super) fn observe(&mut self, seq: u16) -> (u64, bool) {
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
    pub(super) tracks: HashMap<usize, RecvTrack>,
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

pub(super) struct Shared {
    pub(super) window: Arc<Window>,
    pub(super) recv: Mutex<RecvStats>,
    pub(super) errors: Mutex<Vec<String>>,
    pub(super) publisher_state: Mutex<RTCPeerConnectionState>,
    pub(super) subscriber_state: Mutex<RTCPeerConnectionState>,
    pub(super) publish_answers: AtomicU64,
    pub(super) leaving: AtomicBool,
    pub(super) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(super) identity: String,
    /// Gathering complete, per PC (publisher, subscriber).
    pub(super) gathered: [AtomicBool; 2],
    pub(super) next_track: AtomicUsize,
    /// Janus: when the subscriber handle was attached.
    pub(super) subscribe_started: Mutex<Option<Instant>>,
}

impl Shared {
    pub(super) fn error(&self, e: String) {
        if self.leaving.load(Ordering::Acquire) {
            return;
        }
        tracing::warn!("{}: {e}", self.identity);
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 20 {
            errors.push(e);
        }
    }

    pub(super) fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let h = tokio::spawn(fut);
        self.tasks.lock().unwrap().push(h);
    }
}
