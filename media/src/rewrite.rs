//! Per-route RTP sequence-number and timestamp rewriting.
//!
//! Each subscriber leg numbers its packets on its own: when a route starts, resumes after a pause
//! or mute, or switches source layer, the outgoing sequence numbers continue at `last + 1` and the
//! timestamps at `last + elapsed`, so the receiver sees one continuous stream (no false loss, no
//! jitter-buffer reset). In between, the mapping is a fixed offset, which keeps retransmissions and
//! reordered packets in place.

/// Rewrites `(seq, ts)` of one forwarded stream.
#[derive(Debug, Default, Clone)]
pub struct RtpMunger {
    seq_offset: u16,
    ts_offset: u32,
    /// Highest incoming seq so far, extended past 16 bits (unwrapped around it).
    highest_in: u64,
    /// Extended seq of the first packet after the last (re)sync; older packets belong to the
    /// previous mapping.
    base_in: u64,
    last_out: Option<(u16, u32)>,
    resync: Option<u32>,
    started: bool,
}

/// `a` is newer than `b` in RFC 3550 serial-number arithmetic.
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl RtpMunger {
    /// A munger whose first packet keeps its numbers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next packet starts a new mapping whose timestamp continues `ts_gap` ticks after the
    /// last one sent (e.g. the wall-clock time of a pause, in the codec clock).
    pub fn resync(&mut self, ts_gap: u32) {
        self.resync = Some(ts_gap.max(1));
    }

    /// Outgoing `(seq, ts)` for an incoming packet, or `None` when the packet predates the
    /// current mapping (a late retransmission from before a resync).
    pub fn rewrite(&mut self, seq: u16, ts: u32) -> Option<(u16, u32)> {
        let ext = if self.started { self.extend(seq) } else { (1 << 16) + u64::from(seq) };
        if !self.started {
            self.started = true;
            self.base_in = ext;
            if let (Some(gap), Some((last_seq, last_ts))) = (self.resync.take(), self.last_out) {
                self.seq_offset = last_seq.wrapping_add(1).wrapping_sub(seq);
                self.ts_offset = last_ts.wrapping_add(gap).wrapping_sub(ts);
            }
        } else if let Some(gap) = self.resync.take() {
            let (last_seq, last_ts) = self.last_out.unwrap_or((seq, ts));
            self.base_in = ext;
            self.seq_offset = last_seq.wrapping_add(1).wrapping_sub(seq);
            self.ts_offset = last_ts.wrapping_add(gap).wrapping_sub(ts);
        } else if ext < self.base_in {
            return None;
        }
        self.highest_in = self.highest_in.max(ext);
        let out = (seq.wrapping_add(self.seq_offset), ts.wrapping_add(self.ts_offset));
        match self.last_out {
            Some((last_seq, _)) if !seq_newer(out.0, last_seq) => {}
            _ => self.last_out = Some(out),
        }
        Some(out)
    }

    /// The outgoing `(seq, ts)` an already forwarded packet had, for a retransmission: `None`
    /// if it predates the current mapping or was never forwarded.
    pub fn forwarded_as(&self, seq: u16, ts: u32) -> Option<(u16, u32)> {
        let ext = self.extend(seq);
        (self.started && ext >= self.base_in && ext <= self.highest_in)
            .then(|| (seq.wrapping_add(self.seq_offset), ts.wrapping_add(self.ts_offset)))
    }

    /// The incoming sequence number of outgoing `out_seq` under the current mapping.
    pub fn incoming_seq(&self, out_seq: u16) -> u16 {
        out_seq.wrapping_sub(self.seq_offset)
    }

    /// `seq` as an extended number: the one nearest to the highest seen (RFC 3550 A.1), so a
    /// stream of any length never looks older than where its mapping began.
    fn extend(&self, seq: u16) -> u64 {
        let delta = i64::from(seq.wrapping_sub(self.highest_in as u16) as i16);
        (self.highest_in as i64 + delta).max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_packet_keeps_numbers_and_offsets_stay_fixed() {
        let mut m = RtpMunger::new();
        assert_eq!(m.rewrite(100, 5000), Some((100, 5000)));
        assert_eq!(m.rewrite(102, 5200), Some((102, 5200)));
        // a reordered/retransmitted packet keeps its place
        assert_eq!(m.rewrite(101, 5100), Some((101, 5100)));
    }

    #[test]
    fn resync_continues_after_a_gap_without_holes() {
        let mut m = RtpMunger::new();
        m.rewrite(10, 1000);
        m.rewrite(11, 1960);
        m.resync(960);
        // 500 packets were withheld (mute); the receiver must see 12 next.
        assert_eq!(m.rewrite(512, 481_000), Some((12, 1960 + 960)));
        assert_eq!(m.rewrite(513, 481_960), Some((13, 1960 + 960 + 960)));
        // a late packet from before the resync is dropped, not sent with a wrong number
        assert_eq!(m.rewrite(300, 9999), None);
    }

    #[test]
    fn sequence_wraps() {
        let mut m = RtpMunger::new();
        m.rewrite(65534, 1);
        m.resync(1);
        assert_eq!(m.rewrite(7, 100), Some((65535, 2)));
        assert_eq!(m.rewrite(8, 101), Some((0, 3)));
        assert!(seq_newer(0, 65535));
        assert!(!seq_newer(65535, 0));
    }

    #[test]
    fn a_long_stream_is_never_taken_for_a_stale_one() {
        // 32,768 packets after a route starts, its first seq is "newer" than the current one in
        // 16-bit serial arithmetic; packets must keep flowing (~33 s at 1,000 packets/s, ~6 min
        // of camera video).
        let mut m = RtpMunger::new();
        let start = 40_000u16;
        for i in 0..200_000u32 {
            let seq = start.wrapping_add(i as u16);
            assert_eq!(m.rewrite(seq, i * 90), Some((seq, i * 90)), "packet {i}");
        }
        // reordering around the wrap still passes; a resync later still drops older packets
        let last = start.wrapping_add(199_999u32 as u16);
        assert!(m.rewrite(last.wrapping_sub(3), 0).is_some());
        m.resync(90);
        assert!(m.rewrite(last.wrapping_add(10), 0).is_some());
        assert_eq!(m.rewrite(last.wrapping_add(5), 0), None);
    }

    #[test]
    fn retransmissions_map_to_their_first_numbers_within_the_current_mapping() {
        let mut m = RtpMunger::new();
        m.rewrite(10, 1000);
        m.rewrite(11, 1100);
        m.resync(90);
        assert_eq!(m.rewrite(500, 9000), Some((12, 1190)));
        m.rewrite(501, 9100);
        assert_eq!(m.incoming_seq(13), 501);
        assert_eq!(m.forwarded_as(501, 9100), Some((13, 1290)));
        assert_eq!(m.forwarded_as(11, 1100), None, "before the resync");
        assert_eq!(m.forwarded_as(502, 9200), None, "not forwarded yet");
    }

    #[test]
    fn resync_before_first_packet_is_a_plain_start() {
        let mut m = RtpMunger::new();
        m.resync(90);
        assert_eq!(m.rewrite(40, 4000), Some((40, 4000)));
    }
}
