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
use crate::layer_select::{LayerSelection, Skip, Take};
use crate::reception::ReceptionSummary;
use crate::rewrite::RtpMunger;
use crate::resume_backoff::ResumeBackoff;
use crate::source::LayerWant;
use crate::stats::TrackStats;
use crate::vp8::{Vp8Continuity, Vp8Rewrite};
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
    /// SSRC of the source layer to forward first.
    pub(crate) layer: u32,
    /// The codec is VP8: its picture ids are kept continuous across layer switches.
    pub(crate) vp8: bool,
}

/// Why a packet was not forwarded on a leg; each is counted by the shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Withheld {
    /// Subscriber not connected, or the answer covering the leg not applied yet.
    NotReady,
    /// A video leg waiting for a keyframe to start (or restart, or switch layer) on.
    KeyframeWait,
    /// A layer of the source this leg does not forward (not counted: simulcast's normal case).
    OtherLayer,
    /// The subscriber does not show the video (adaptive stream).
    Hidden,
    /// Paused: the subscriber's bandwidth estimate has no room for even the lowest layer.
    Bandwidth,
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
    /// VP8 picture-id rewriting, applied to the serialised copy.
    pub(crate) vp8: Vp8Rewrite,
    /// The packet starts another layer than the leg forwarded before.
    pub(crate) switched: bool,
}

/// When a leg may carry media: offered and answered (its payload type known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Readiness {
    /// Included in the offer now outstanding (or an earlier one).
    offered: bool,
    /// The answer covering this leg has been applied.
    answered: bool,
    /// Negotiated payload type on this leg; known once the answer is applied.
    out_pt: Option<u8>,
}

impl Readiness {
    /// The payload type to forward a packet with, or why not.
    fn admit(&self, connected: bool) -> Result<u8, Withheld> {
        self.out_pt.filter(|_| self.answered && connected).ok_or(Withheld::NotReady)
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
    clock_rate: u32,
    readiness: Readiness,
    /// Which layer is forwarded, and the keyframe gate.
    layers: LayerSelection,
    /// The subscriber hides the video.
    hidden: bool,
    /// Paused by bandwidth allocation.
    bandwidth_paused: bool,
    /// How soon a bandwidth pause may be tried out of again.
    resume: ResumeBackoff,
    /// What the subscriber wants of the source's layers (the shard picks the target from it).
    pub(crate) want: LayerWant,
    munger: RtpMunger,
    /// VP8 sources: picture ids continuous across layer switches.
    vp8: Option<Vp8Continuity>,
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
            clock_rate: o.clock_rate,
            readiness: Readiness { offered: false, answered: false, out_pt: None },
            layers: LayerSelection::new(o.layer, o.kind == MediaKind::Video),
            hidden: false,
            bandwidth_paused: false,
            resume: ResumeBackoff::default(),
            want: LayerWant::TOP,
            munger: RtpMunger::new(),
            vp8: o.vp8.then(Vp8Continuity::default),
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

    /// The source layer whose keyframe this answered, shown leg waits for (to start, restart
    /// or switch), if any.
    pub(crate) fn awaited_keyframe(&self) -> Option<u32> {
        self.layers.awaited().filter(|_| self.readiness.answered && !self.hidden && !self.bandwidth_paused)
    }

    /// The source layer a keyframe request from the subscriber concerns.
    pub(crate) fn shown_layer(&self) -> u32 {
        self.layers.shown()
    }

    /// The source layer forwarded now, and the one heading for.
    pub(crate) fn layer(&self) -> (Option<u32>, u32) {
        (self.layers.current(), self.layers.target())
    }

    /// Heads for source layer `ssrc` (switching at its next keyframe); whether that changed.
    pub(crate) fn set_target_layer(&mut self, ssrc: u32) -> bool {
        self.layers.set_target(ssrc)
    }

    /// Switches down to source layer `ssrc` at once: nothing is forwarded until its keyframe
    /// (for lack of bandwidth); whether that changed anything.
    pub(crate) fn cut_to_layer(&mut self, ssrc: u32) -> bool {
        self.layers.cut_to(ssrc)
    }

    /// Shows or hides the video; whether that changed anything. Showing it again restarts the
    /// leg like the end of a pause.
    pub(crate) fn set_hidden(&mut self, now: Instant, hidden: bool) -> bool {
        if std::mem::replace(&mut self.hidden, hidden) == hidden {
            return false;
        }
        if !hidden {
            self.restart(now);
        }
        true
    }

    /// Pauses (or resumes) the video for lack of bandwidth; whether that changed anything.
    /// Resuming restarts the leg like the end of a pause.
    pub(crate) fn set_bandwidth_paused(&mut self, now: Instant, paused: bool) -> bool {
        if std::mem::replace(&mut self.bandwidth_paused, paused) == paused {
            return false;
        }
        if paused {
            self.resume.on_pause(now);
        } else {
            self.resume.on_resume(now);
            self.restart(now);
        }
        true
    }

    /// Paused for bandwidth and not to be resumed yet at `now` (a recent resume failed).
    pub(crate) fn resume_blocked(&self, now: Instant) -> bool {
        self.bandwidth_paused && !self.resume.may_resume(now)
    }

    /// Paused for lack of bandwidth.
    pub(crate) fn is_bandwidth_paused(&self) -> bool {
        self.bandwidth_paused
    }

    /// Hidden by the subscriber.
    pub(crate) fn is_hidden(&self) -> bool {
        self.hidden
    }

    /// The numbers this leg gives `packet` arriving at `now` (payload type, sequence number,
    /// timestamp, VP8 rewrite), or why it is withheld. `connected`: the subscriber PC is;
    /// `keyframe`: the packet starts one. Separate from [`Route::copy`] so that a withheld
    /// packet is never cloned.
    pub(crate) fn numbers(&mut self, now: Instant, packet: &Packet, connected: bool, keyframe: bool) -> Result<LegNumbers, Withheld> {
        let pt = self.readiness.admit(connected)?;
        if self.hidden {
            return Err(Withheld::Hidden);
        }
        if self.bandwidth_paused {
            return Err(Withheld::Bandwidth);
        }
        let header = &packet.header;
        let switched = self.layers.admit(header.ssrc, keyframe);
        match switched {
            Ok(Take::Same) => {}
            Ok(Take::Switched) => {
                self.munger.resync(self.ticks_since_last(now));
                if let Some(vp8) = &mut self.vp8 {
                    vp8.rebase();
                }
            }
            Err(Skip::KeyframeWait) => return Err(Withheld::KeyframeWait),
            Err(Skip::OtherLayer) => return Err(Withheld::OtherLayer),
        }
        let (seq, ts) = self.munger.rewrite(header.sequence_number, header.timestamp).ok_or(Withheld::Stale)?;
        let vp8 = self.vp8.as_mut().map(|v| v.rewrite(&packet.payload)).unwrap_or_default();
        Ok(LegNumbers { pt, seq, ts, vp8, switched: switched == Ok(Take::Switched) })
    }

    /// This leg's copy of `packet`: its SSRC and the numbers [`Route::numbers`] gave (the VP8
    /// rewrite is applied to the serialised copy, see [`LegNumbers::vp8`]).
    pub(crate) fn copy(&self, packet: &Packet, n: LegNumbers) -> Packet {
        copy(packet, self.out_ssrc, n.pt, (n.seq, n.ts))
    }

    /// [`Route::numbers`] then [`Route::copy`], with the VP8 rewrite applied to the payload.
    #[cfg(test)]
    fn leg_copy(&mut self, packet: &Packet, connected: bool, keyframe: bool) -> Result<Packet, Withheld> {
        let n = self.numbers(Instant::now(), packet, connected, keyframe)?;
        let mut out = self.copy(packet, n);
        let mut payload = out.payload.to_vec();
        n.vp8.apply(&mut payload);
        out.payload = payload.into();
        Ok(out)
    }

    /// Codec clock ticks since the last packet went out (at least 1).
    fn ticks_since_last(&self, now: Instant) -> u32 {
        let gap = self.sender_reports.last_forwarded.map(|t| now.saturating_duration_since(t)).unwrap_or_default();
        ((gap.as_secs_f64() * f64::from(self.clock_rate)) as u32).max(1)
    }

    /// `out` (made by [`Route::copy`]) went out at `now`.
    pub(crate) fn on_sent(&mut self, now: Instant, out: &Packet) {
        self.counters.packets += 1;
        self.counters.bytes += out.payload.len() as u64;
        self.sender_reports.last_forwarded = Some(now);
        self.sender_reports.last_out_ts = out.header.timestamp;
    }

    /// The copy to send again for the subscriber's NACK of `out_seq`, and its VP8 rewrite, if
    /// `history` (the current layer's) still has the packet and it was forwarded under the
    /// current mapping.
    pub(crate) fn retransmission(&self, out_seq: u16, history: &History) -> Option<(Packet, Vp8Rewrite)> {
        let pt = self.readiness.out_pt?;
        let in_seq = self.munger.incoming_seq(out_seq);
        let original = history.get(in_seq)?;
        let numbers = self.munger.forwarded_as(in_seq, original.header.timestamp)?;
        let vp8 = self.vp8.map(|v| v.current()).unwrap_or_default();
        Some((copy(original, self.out_ssrc, pt, numbers), vp8))
    }

    /// After a pause or mute: continue numbering where it stopped, timestamps advanced by the
    /// pause, and (video) wait for a keyframe.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.munger.resync(self.ticks_since_last(now));
        self.layers.restart();
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
#[path = "route_tests.rs"]
mod tests;
