//! Bandwidth estimation of one subscriber's downlink: every packet forwarded to it carries a
//! transport-wide sequence number (the transport-cc header extension, id negotiated on its PC),
//! its departure is logged ([`SendLog`]), and the subscriber's TWCC feedback
//! (`TransportLayerCc`) turns into per-packet reports for the [`Estimator`]. What the estimate is
//! spent on is `allocate.rs`.

mod estimator;
mod send_log;

pub(crate) use estimator::{Bounds, DECREASE_FACTOR};
use estimator::Estimator;
use rtc::interceptor::{convert_twcc, PacketReport};
use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use send_log::SendLog;
use std::time::Instant;

pub(crate) use rtc::sdp::extmap::TRANSPORT_CC_URI;

/// One subscriber's estimate and what it is computed from.
pub(crate) struct Bwe {
    /// The negotiated transport-cc extension id; none: nothing is stamped, nothing estimated.
    ext_id: Option<u8>,
    next_seq: u16,
    log: SendLog,
    estimator: Estimator,
    /// Reports of one feedback packet (kept to reuse its allocation).
    reports: Vec<PacketReport>,
}

impl Bwe {
    /// No extension negotiated yet.
    pub(crate) fn new(bounds: Bounds) -> Self {
        Self { ext_id: None, next_seq: 0, log: SendLog::new(), estimator: Estimator::new(bounds), reports: Vec::new() }
    }

    /// The transport-cc extension id the subscriber's answer accepted (`None`: it did not).
    pub(crate) fn set_ext_id(&mut self, id: Option<u8>) {
        self.ext_id = id.filter(|id| (1..=14).contains(id));
    }

    /// The extension id and sequence number the next packet carries, if stamping.
    pub(crate) fn next_stamp(&self) -> Option<(u8, u16)> {
        self.ext_id.map(|id| (id, self.next_seq))
    }

    /// The stamped packet left at `now`, `size` bytes on the wire.
    pub(crate) fn on_sent(&mut self, now: Instant, size: usize) {
        self.log.record(self.next_seq, now, size);
        self.next_seq = self.next_seq.wrapping_add(1);
    }

    /// The subscriber's feedback `fb`, arrived at `now`.
    pub(crate) fn on_feedback(&mut self, now: Instant, fb: &TransportLayerCc) {
        self.reports.clear();
        for ack in convert_twcc(fb) {
            let Some(sent) = self.log.take(ack.sequence_number) else { continue };
            self.reports.push(PacketReport {
                ssrc: fb.media_ssrc,
                id: sent.ext,
                rtp_sequence_number: 0,
                is_twcc: true,
                twcc_sequence_number: ack.sequence_number,
                size: usize::from(sent.size),
                arrived: ack.arrived,
                departure: sent.departure,
                arrival: ack.arrival,
                ecn: Ecn::default(),
            });
        }
        self.reports.sort_unstable_by_key(|r| r.id);
        self.estimator.on_reports(now, &self.reports);
    }

    /// The estimate in bit/s; `None` before the first feedback (or with no transport-cc).
    pub(crate) fn estimate(&self) -> Option<f64> {
        self.estimator.estimate()
    }
}
