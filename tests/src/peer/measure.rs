//! The measure mode of the kit (what a load generator needs): a measurement [`Window`] by the
//! stamps' send times, receivers that only read each payload's stamp header and record the
//! send-to-receive delay in a histogram, and duplicate detection by sequence number. It does
//! not verify payload bytes: that is the default (verify) mode's job, in `state.rs`.

use super::*;
use crate::hist::Hist;
use crate::media::{STAMP_HEADER_LEN, STAMP_MAGIC};

/// The measurement window, in microseconds since the UNIX epoch (the stamps' clock). A packet
/// belongs to the window when its stamp's send time does; before [`open`](Self::open) nothing
/// does.
#[derive(Debug)]
pub struct Window {
    start: AtomicU64,
    end: AtomicU64,
}

impl Default for Window {
    fn default() -> Self {
        Window::new()
    }
}

impl Window {
    /// A window not opened yet.
    pub fn new() -> Self {
        Window {
            start: AtomicU64::new(0),
            end: AtomicU64::new(u64::MAX),
        }
    }

    /// Opens the window at `at_micros` ([`media::now_micros`]).
    pub fn open(&self, at_micros: u64) {
        self.start.store(at_micros, Ordering::Release);
    }

    /// Closes the window at `at_micros`.
    pub fn close(&self, at_micros: u64) {
        self.end.store(at_micros, Ordering::Release);
    }

    /// Whether a packet stamped at `micros` belongs to the window.
    pub fn contains(&self, micros: u64) -> bool {
        let s = self.start.load(Ordering::Acquire);
        s != 0 && micros >= s && micros < self.end.load(Ordering::Acquire)
    }
}

/// One remote track that has delivered at least one packet (measure mode).
#[derive(Debug, Clone)]
pub struct MeasuredTrack {
    /// msid stream id (on switchboard: the publishing participant's sid).
    pub stream_id: String,
    /// Arrival of its first packet.
    pub first_at: Instant,
}

/// What a participant received in measure mode, merged over its tracks.
#[derive(Debug, Default)]
pub struct Measured {
    /// RTP packets received, any time.
    pub packets: u64,
    /// First arrivals whose stamp is in the window.
    pub in_window: u64,
    /// Payloads without a readable stamp header.
    pub bad_payloads: u64,
    /// Packets whose sequence number had already arrived (retransmissions), not counted again.
    pub duplicates: u64,
    /// Forward sequence jumps (packets apparently missing), any time.
    pub seq_gap_packets: u64,
    /// Sequence jumps seen at first arrivals stamped in the window (what the link lost there,
    /// less what retransmissions later filled in).
    pub gaps_in_window: u64,
    /// First arrivals stamped in the window that came behind a later packet (retransmissions
    /// that filled a gap, or reordering): `gaps_in_window - late_in_window` is what stayed lost.
    pub late_in_window: u64,
    /// RTP bytes (12-byte header + payload) of the first arrivals stamped in the window.
    pub bytes_in_window: u64,
    /// Send-to-receive delay of the first arrivals in the window, microseconds.
    pub latency: Hist,
    /// Tracks in the order their first packet arrived (remote track ids need not be unique
    /// across publishers, so they are not keys).
    pub tracks: Vec<MeasuredTrack>,
}

/// A participant's measurement: the window and what arrived (one lock for all its tracks).
pub(super) struct Measurement {
    pub(super) window: Arc<Window>,
    pub(super) measured: Mutex<Measured>,
}

impl Measurement {
    pub(super) fn new(window: Arc<Window>) -> Self {
        Measurement {
            window,
            measured: Mutex::new(Measured::default()),
        }
    }
}

/// The last 1,024 sequence numbers of a track: which arrived, for duplicate detection.
#[derive(Default)]
pub(super) struct SeqWindow {
    highest: Option<u16>,
    bits: [u64; 16],
}

impl SeqWindow {
    fn bit(&mut self, seq: u16) -> (&mut u64, u64) {
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

/// The stamp's send time, if the payload carries a stamp header (VP8 descriptor skipped for
/// video). Reads the header only.
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

/// Reads one remote track in measure mode until it ends. Allocates nothing per packet (the
/// stream id is copied once, at the first packet).
pub(super) async fn read_measured(
    measurement: &Measurement,
    track: &dyn TrackRemote,
    stream_id: String,
    kind: MediaKind,
) {
    let video = kind == MediaKind::Video;
    let mut seen = SeqWindow::default();
    let mut first = true;
    while let Some(evt) = track.poll().await {
        match evt {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                let now = media::now_micros();
                let sent = stamp_time(video, &pkt.payload);
                let seq = pkt.header.sequence_number;
                let behind = seen.highest.is_some_and(|h| (seq.wrapping_sub(h) as i16) < 0);
                let (gap, fresh) = seen.observe(seq);
                let mut m = measurement.measured.lock().unwrap();
                m.packets += 1;
                if first {
                    first = false;
                    m.tracks.push(MeasuredTrack {
                        stream_id: stream_id.clone(),
                        first_at: Instant::now(),
                    });
                }
                m.seq_gap_packets += gap;
                if !fresh {
                    // A retransmission of something already received (or far too old).
                    m.duplicates += 1;
                    continue;
                }
                match sent {
                    Some(sent) if measurement.window.contains(sent) => {
                        m.in_window += 1;
                        m.gaps_in_window += gap;
                        m.late_in_window += u64::from(behind);
                        m.bytes_in_window += 12 + pkt.payload.len() as u64;
                        m.latency.record(now.saturating_sub(sent));
                    }
                    Some(_) => {}
                    None => m.bad_payloads += 1,
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn window_counts_only_inside() {
        let w = Window::new();
        assert!(!w.contains(5), "not opened yet");
        w.open(10);
        assert!(w.contains(10) && w.contains(1_000));
        w.close(20);
        assert!(!w.contains(9) && w.contains(19) && !w.contains(20));
    }

    #[test]
    fn stamp_time_reads_the_header_only() {
        let stamp = media::Stamp { origin: 1, counter: 2, sent_micros: 123_456 };
        assert_eq!(stamp_time(false, &media::audio_payload(&stamp, 60)), Some(123_456));
        let v = media::vp8_payload(true, true, (320, 240), &stamp, 400);
        assert_eq!(stamp_time(true, &v), Some(123_456));
        assert_eq!(stamp_time(false, &[0u8; 30]), None);
    }
}
