//! A [`Route`]: one subscriber leg of a source, and everything that is per leg.
//!
//! Owns the leg's numbering (its SSRC and payload type, sequence/timestamp rewriting through
//! [`RtpMunger`]), its readiness gates (offered, answered, waiting for a keyframe), its counters
//! (packets, bytes, NACK/PLI/FIR received), its sender-report timing, the subscriber's last
//! reception report, and the restart after a pause. Not owned here: the packet itself and its
//! history (`source.rs`), the PeerConnection that encrypts and sends the copy (`peer.rs`), and
//! which routes a packet goes to (the shard's dispatch).

use crate::api::MediaKind;
use crate::history::History;
use crate::ids::{PeerId, SourceId};
use crate::reception::ReceptionSummary;
use crate::rewrite::RtpMunger;
use crate::stats::TrackStats;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp::Packet;
use rtc::rtp_transceiver::RTCRtpSenderId;
use std::time::{Duration, Instant};

/// How often each leg sends an RTCP sender report on average (`rtc`'s interceptor default).
pub(crate) const SENDER_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// What a new [`Route`] is made of.
pub(crate) struct RouteOptions {
    /// The source forwarded.
    pub(crate) source: SourceId,
    /// The subscriber peer.
    pub(crate) subscriber: PeerId,
    /// The sender of the subscriber PC's track for this leg.
    pub(crate) sender: RTCRtpSenderId,
    /// The msid track id the subscriber sees.
    pub(crate) local_track_id: String,
    /// The leg's own SSRC.
    pub(crate) out_ssrc: u32,
    /// The source's kind and codec clock rate.
    pub(crate) kind: MediaKind,
    /// Clock rate of the source's codec (timestamps in sender reports and after pauses).
    pub(crate) clock_rate: u32,
}

/// Why a packet was not forwarded on a leg; each is counted by the shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Withheld {
    /// Subscriber not connected, or the answer covering the leg not applied yet.
    NotReady,
    /// A video leg waiting for a keyframe to start (or restart) on.
    KeyframeWait,
    /// The packet predates the leg's current mapping (a late retransmission).
    Stale,
}

/// What a leg gives one forwarded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LegNumbers {
    /// The leg's payload type.
    pub(crate) pt: u8,
    /// Outgoing sequence number.
    pub(crate) seq: u16,
    /// Outgoing RTP timestamp.
    pub(crate) ts: u32,
}

/// When a leg may carry media: offered, answered (its payload type known), and for video
/// started at a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Readiness {
    /// Included in the offer now outstanding (or an earlier one).
    offered: bool,
    /// The answer covering this leg has been applied.
    answered: bool,
    /// Video: nothing is forwarded until a keyframe starts the stream.
    waiting_keyframe: bool,
    /// Negotiated payload type on this leg; known once the answer is applied.
    out_pt: Option<u8>,
}

impl Readiness {
    fn new(kind: MediaKind) -> Self {
        Self { offered: false, answered: false, waiting_keyframe: kind == MediaKind::Video, out_pt: None }
    }

    /// The payload type to forward a packet with, or why not. A keyframe opens the gate of a
    /// waiting video leg.
    fn admit(&mut self, connected: bool, keyframe: bool) -> Result<u8, Withheld> {
        let Some(pt) = self.out_pt.filter(|_| self.answered && connected) else {
            return Err(Withheld::NotReady);
        };
        if self.waiting_keyframe {
            if !keyframe {
                return Err(Withheld::KeyframeWait);
            }
            self.waiting_keyframe = false;
        }
        Ok(pt)
    }
}

/// Packets and bytes a leg sent, and the feedback its subscriber sent about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LegCounters {
    /// Packets sent (retransmissions not counted).
    pub(crate) packets: u64,
    /// Payload bytes sent (retransmissions not counted).
    pub(crate) bytes: u64,
    /// RTCP NACK packets received about this leg.
    pub(crate) nacks: u32,
    /// PLIs received.
    pub(crate) plis: u32,
    /// FIRs received.
    pub(crate) firs: u32,
}

/// What a leg's sender reports need: the last packet out and when the next report is due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SenderReportClock {
    /// When the last packet went out (also: how long a pause lasted).
    last_forwarded: Option<Instant>,
    /// RTP timestamp of the last packet sent.
    last_out_ts: u32,
    /// When the leg reports next (none yet: at the first housekeeping after media).
    next_report: Option<Instant>,
}

/// One subscriber leg of a source.
pub(crate) struct Route {
    pub(crate) source: SourceId,
    pub(crate) subscriber: PeerId,
    pub(crate) sender: RTCRtpSenderId,
    pub(crate) local_track_id: String,
    pub(crate) out_ssrc: u32,
    kind: MediaKind,
    clock_rate: u32,
    readiness: Readiness,
    munger: RtpMunger,
    counters: LegCounters,
    sender_reports: SenderReportClock,
    /// The subscriber's latest RTCP reception report for this leg.
    last_report: Option<ReceptionSummary>,
}

impl Route {
    /// A leg not yet offered.
    pub(crate) fn new(o: RouteOptions) -> Self {
        Self {
            source: o.source,
            subscriber: o.subscriber,
            sender: o.sender,
            local_track_id: o.local_track_id,
            out_ssrc: o.out_ssrc,
            kind: o.kind,
            clock_rate: o.clock_rate,
            readiness: Readiness::new(o.kind),
            munger: RtpMunger::new(),
            counters: LegCounters::default(),
            sender_reports: SenderReportClock::default(),
            last_report: None,
        }
    }

    /// The leg is in the offer just made.
    pub(crate) fn mark_offered(&mut self) {
        self.readiness.offered = true;
    }

    /// The answer to an offer was applied: a leg it covers for the first time becomes answered
    /// with payload type `pt` (looked up by `negotiated_pt` only then). Returns whether it did.
    pub(crate) fn on_answer(&mut self, negotiated_pt: impl FnOnce() -> Option<u8>) -> bool {
        if !self.readiness.offered || self.readiness.answered {
            return false;
        }
        self.readiness.answered = true;
        self.readiness.out_pt = negotiated_pt();
        true
    }

    /// Answered: statistics and keyframe requests concern it.
    pub(crate) fn is_answered(&self) -> bool {
        self.readiness.answered
    }

    /// Answered video leg still waiting for its first keyframe.
    pub(crate) fn waits_for_keyframe(&self) -> bool {
        self.readiness.answered && self.readiness.waiting_keyframe
    }

    /// The numbers this leg gives `header`'s packet (payload type, sequence number, timestamp),
    /// or why the packet is withheld. `connected`: the subscriber PC is; `keyframe`: the packet
    /// starts one. Separate from [`Route::copy`] so that a withheld packet is never cloned.
    pub(crate) fn numbers(&mut self, header: &rtc::rtp::Header, connected: bool, keyframe: bool) -> Result<LegNumbers, Withheld> {
        let pt = self.readiness.admit(connected, keyframe)?;
        let (seq, ts) = self.munger.rewrite(header.sequence_number, header.timestamp).ok_or(Withheld::Stale)?;
        Ok(LegNumbers { pt, seq, ts })
    }

    /// This leg's copy of `packet`: its SSRC and the numbers [`Route::numbers`] gave.
    pub(crate) fn copy(&self, packet: &Packet, n: LegNumbers) -> Packet {
        copy(packet, self.out_ssrc, n.pt, (n.seq, n.ts))
    }

    /// [`Route::numbers`] then [`Route::copy`].
    #[cfg(test)]
    fn leg_copy(&mut self, packet: &Packet, connected: bool, keyframe: bool) -> Result<Packet, Withheld> {
        let n = self.numbers(&packet.header, connected, keyframe)?;
        Ok(self.copy(packet, n))
    }

    /// `out` (made by [`Route::copy`]) went out at `now`.
    pub(crate) fn on_sent(&mut self, now: Instant, out: &Packet) {
        self.counters.packets += 1;
        self.counters.bytes += out.payload.len() as u64;
        self.sender_reports.last_forwarded = Some(now);
        self.sender_reports.last_out_ts = out.header.timestamp;
    }

    /// The copy to send again for the subscriber's NACK of `out_seq`, if the source's history
    /// still has the packet and it was forwarded under the current mapping.
    pub(crate) fn retransmission(&self, out_seq: u16, history: &History) -> Option<Packet> {
        let pt = self.readiness.out_pt?;
        let in_seq = self.munger.incoming_seq(out_seq);
        let original = history.get(in_seq)?;
        let numbers = self.munger.forwarded_as(in_seq, original.header.timestamp)?;
        Some(copy(original, self.out_ssrc, pt, numbers))
    }

    /// After a pause or mute: continue numbering where it stopped, timestamps advanced by the
    /// pause, and (video) wait for a keyframe.
    pub(crate) fn restart(&mut self, now: Instant) {
        let paused_for = self.sender_reports.last_forwarded.map(|t| now.saturating_duration_since(t)).unwrap_or_default();
        let ticks = (paused_for.as_secs_f64() * f64::from(self.clock_rate)) as u32;
        self.munger.resync(ticks);
        self.readiness.waiting_keyframe = self.kind == MediaKind::Video;
    }

    /// Counts one NACK packet about this leg.
    pub(crate) fn count_nack(&mut self) {
        self.counters.nacks = self.counters.nacks.saturating_add(1);
    }

    /// Counts the PLIs and FIRs among `packets` (one compound RTCP packet); whether there was
    /// any (a keyframe request to relay).
    pub(crate) fn count_keyframe_requests(&mut self, packets: &[Box<dyn rtc::rtcp::Packet>]) -> bool {
        let before = self.counters.plis + self.counters.firs;
        for p in packets {
            let any = p.as_any();
            self.counters.plis += u32::from(any.is::<PictureLossIndication>());
            self.counters.firs += u32::from(any.is::<FullIntraRequest>());
        }
        self.counters.plis + self.counters.firs != before
    }

    /// Keeps the subscriber's latest reception report.
    pub(crate) fn on_reception_report(&mut self, report: ReceptionSummary) {
        self.last_report = Some(report);
    }

    /// Whether a sender report is due: media went out on the leg and the last report's interval
    /// has passed.
    pub(crate) fn sender_report_due(&self, now: Instant) -> bool {
        self.sender_reports.last_forwarded.is_some() && self.sender_reports.next_report.is_none_or(|t| now >= t)
    }

    /// The sender report to send now (NTP time `ntp`; the RTP time it corresponds to on the
    /// leg is the last timestamp sent, advanced by the time since), and the next one scheduled
    /// RFC 3550 §6.2-style at (0.5 + `spread`) × [`SENDER_REPORT_INTERVAL`], `spread` in
    /// [0, 1): a randomised interval also keeps the legs of one fan-out, all started by the
    /// same keyframe, from reporting in the same tick. `None` before any media.
    pub(crate) fn sender_report(&mut self, now: Instant, ntp: u64, spread: f64) -> Option<SenderReport> {
        let last = self.sender_reports.last_forwarded?;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        self.sender_reports.next_report = Some(now + SENDER_REPORT_INTERVAL.mul_f64(spread + 0.5));
        Some(SenderReport {
            ssrc: self.out_ssrc,
            ntp_time: ntp,
            rtp_time: self.sender_reports.last_out_ts.wrapping_add((elapsed * f64::from(self.clock_rate)) as u32),
            // RFC 3550: both counts wrap modulo 2^32.
            packet_count: self.counters.packets as u32,
            octet_count: self.counters.bytes as u32,
            ..Default::default()
        })
    }

    /// The leg's statistics (what it sent, what the subscriber reported); `None` until answered.
    pub(crate) fn outbound_stats(&self) -> Option<TrackStats> {
        if !self.readiness.answered {
            return None;
        }
        let c = &self.counters;
        let mut t = TrackStats {
            packets: c.packets,
            bytes: c.bytes,
            nack_count: c.nacks,
            pli_count: c.plis,
            fir_count: c.firs,
            ..Default::default()
        };
        if let Some(report) = self.last_report {
            t.packets_lost = report.total_lost;
            t.fraction_lost = Some(report.fraction_lost);
            // rtc reports RTCP jitter in timestamp units (RFC 3550 §6.4.1): seconds here.
            t.jitter_s = if self.clock_rate > 0 { report.jitter / f64::from(self.clock_rate) } else { 0.0 };
            t.rtt_s = report.rtt.map(|r| r.as_secs_f64());
        }
        Some(t)
    }
}

/// `packet` as one leg sends it: the leg's SSRC, payload type and rewritten numbers.
fn copy(packet: &Packet, ssrc: u32, pt: u8, (seq, ts): (u16, u32)) -> Packet {
    let mut out = packet.clone();
    out.header.ssrc = ssrc;
    out.header.payload_type = pt;
    out.header.sequence_number = seq;
    out.header.timestamp = ts;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn route(kind: MediaKind) -> Route {
        Route::new(RouteOptions {
            source: SourceId(1),
            subscriber: PeerId(2),
            sender: RTCRtpSenderId::default(),
            local_track_id: "TR_v".into(),
            out_ssrc: 4242,
            kind,
            clock_rate: if kind == MediaKind::Video { 90_000 } else { 48_000 },
        })
    }

    fn ready(kind: MediaKind) -> Route {
        let mut r = route(kind);
        r.mark_offered();
        assert!(r.on_answer(|| Some(96)));
        r
    }

    fn packet(seq: u16, ts: u32, len: usize) -> Packet {
        let mut p = Packet { payload: Bytes::from(vec![0u8; len]), ..Default::default() };
        p.header.ssrc = 1000;
        p.header.payload_type = 100;
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p
    }

    #[test]
    fn readiness_gates_offer_answer_connection_and_keyframe() {
        let mut r = route(MediaKind::Video);
        assert!(!r.on_answer(|| Some(96)), "an answer to an offer without the leg does not count");
        assert_eq!(r.leg_copy(&packet(1, 0, 10), true, true).err(), Some(Withheld::NotReady), "not answered");
        r.mark_offered();
        assert!(r.on_answer(|| Some(96)));
        assert!(!r.on_answer(|| panic!("looked up once")), "answered once");
        assert!(r.waits_for_keyframe());
        assert_eq!(r.leg_copy(&packet(1, 0, 10), false, true).err(), Some(Withheld::NotReady), "not connected");
        assert_eq!(r.leg_copy(&packet(1, 0, 10), true, false).err(), Some(Withheld::KeyframeWait));
        let out = r.leg_copy(&packet(2, 0, 10), true, true).unwrap();
        assert_eq!((out.header.ssrc, out.header.payload_type), (4242, 96), "the leg's SSRC and PT");
        assert!(!r.waits_for_keyframe());
        assert!(r.leg_copy(&packet(3, 0, 10), true, false).is_ok(), "delta frames flow after the keyframe");
        let mut audio = ready(MediaKind::Audio);
        assert!(audio.leg_copy(&packet(1, 0, 10), true, false).is_ok(), "audio needs no keyframe");
    }

    #[test]
    fn no_payload_type_negotiated_is_not_ready() {
        let mut r = route(MediaKind::Audio);
        r.mark_offered();
        assert!(r.on_answer(|| None));
        assert_eq!(r.leg_copy(&packet(1, 0, 10), true, true).err(), Some(Withheld::NotReady));
    }

    #[test]
    fn restart_continues_numbering_and_advances_time_by_the_pause() {
        let mut r = ready(MediaKind::Audio);
        let t0 = Instant::now();
        let out = r.leg_copy(&packet(10, 1000, 10), true, false).unwrap();
        r.on_sent(t0, &out);
        r.restart(t0 + Duration::from_millis(500));
        // 500 packets withheld meanwhile; the leg continues at 11, 0.5 s (24,000 ticks) later.
        let out = r.leg_copy(&packet(510, 99_000, 10), true, false).unwrap();
        assert_eq!((out.header.sequence_number, out.header.timestamp), (11, 1000 + 24_000));
        assert_eq!(r.leg_copy(&packet(400, 0, 10), true, false).err(), Some(Withheld::Stale), "from before the pause");
        let mut video = ready(MediaKind::Video);
        video.leg_copy(&packet(1, 0, 10), true, true).unwrap();
        video.restart(t0);
        assert_eq!(video.leg_copy(&packet(2, 0, 10), true, false).err(), Some(Withheld::KeyframeWait), "video restarts at a keyframe");
    }

    #[test]
    fn counters_count_what_went_out_and_the_feedback() {
        let mut r = ready(MediaKind::Audio);
        assert_eq!(r.outbound_stats().unwrap(), TrackStats::default());
        let now = Instant::now();
        for seq in 0..3 {
            let out = r.leg_copy(&packet(seq, 0, 100), true, false).unwrap();
            r.on_sent(now, &out);
        }
        r.count_nack();
        let feedback: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
            Box::new(PictureLossIndication::default()),
            Box::new(PictureLossIndication::default()),
            Box::new(FullIntraRequest::default()),
        ];
        assert!(r.count_keyframe_requests(&feedback));
        assert!(!r.count_keyframe_requests(&[]), "no request in an empty compound");
        r.on_reception_report(ReceptionSummary { fraction_lost: 0.5, total_lost: 4, jitter: 4800.0, rtt: Some(Duration::from_millis(20)) });
        let t = r.outbound_stats().unwrap();
        assert_eq!((t.packets, t.bytes, t.nack_count, t.pli_count, t.fir_count), (3, 300, 1, 2, 1));
        assert_eq!((t.packets_lost, t.fraction_lost, t.jitter_s, t.rtt_s), (4, Some(0.5), 0.1, Some(0.02)));
        assert!(route(MediaKind::Audio).outbound_stats().is_none(), "nothing before the answer");
    }

    #[test]
    fn sender_reports_follow_media_and_are_spread() {
        let mut r = ready(MediaKind::Video);
        let t0 = Instant::now();
        assert!(!r.sender_report_due(t0), "no media, no report");
        assert!(r.sender_report(t0, 1, 0.5).is_none());
        let out = r.leg_copy(&packet(5, 9000, 50), true, true).unwrap();
        r.on_sent(t0, &out);
        assert!(r.sender_report_due(t0));
        let sr = r.sender_report(t0 + Duration::from_millis(100), 77, 0.0).unwrap();
        assert_eq!((sr.ssrc, sr.ntp_time, sr.packet_count, sr.octet_count), (4242, 77, 1, 50));
        assert_eq!(sr.rtp_time, 9000 + 9000, "last timestamp + 100 ms at 90 kHz");
        // spread 0.0: the next one is due 0.5 s later
        assert!(!r.sender_report_due(t0 + Duration::from_millis(599)));
        assert!(r.sender_report_due(t0 + Duration::from_millis(600)));
    }

    #[test]
    fn retransmissions_use_the_leg_numbers_of_the_first_send() {
        let mut r = ready(MediaKind::Video);
        let mut history = History::default();
        let t0 = Instant::now();
        for (i, seq) in (100u16..104).enumerate() {
            let p = packet(seq, 3000 * i as u32, 10);
            history.push(&p);
            let out = r.leg_copy(&p, true, true).unwrap();
            r.on_sent(t0, &out);
        }
        r.restart(t0 + Duration::from_secs(1));
        let p = packet(200, 50_000, 10);
        history.push(&p);
        let first = r.leg_copy(&p, true, true).unwrap();
        assert_eq!(first.header.sequence_number, 104, "continues after the restart");
        let again = r.retransmission(104, &history).expect("in the history, current mapping");
        assert_eq!((again.header.sequence_number, again.header.timestamp), (104, first.header.timestamp));
        assert_eq!(again.header.ssrc, 4242);
        assert!(r.retransmission(102, &history).is_none(), "forwarded under the old mapping");
        assert!(r.retransmission(105, &history).is_none(), "never forwarded");
    }
}
