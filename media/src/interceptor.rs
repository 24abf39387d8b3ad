//! [`RtcpTap`]: an interceptor that hands chosen inbound RTCP to the application, for the shard
//! and for the Rust test and load clients alike.
//!
//! `rtc` (and the async `webrtc` built on it) consume inbound RTCP inside the interceptor chain
//! unless a packet is marked `DeliverToApplication`. The shard needs a subscriber's keyframe
//! requests (relayed to the publisher), its receiver reports (per-leg loss, jitter, RTT: rtc
//! 0.21.1 never feeds them into its own stats) and its NACKs (answered from the source's history,
//! since forwarded RTP bypasses `rtc`'s NACK responder) and its transport-wide feedback (the
//! bandwidth estimate of its downlink). A publishing client needs only the
//! keyframe requests, to send a keyframe. Owns the choice of what reaches the application, not
//! what is done with it. Installed at `Slot::from(14_000)`, after every default interceptor.

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::VecDeque;
use std::ops::BitOr;
use std::time::Instant;

/// Is this RTCP packet a keyframe request (PLI or FIR)?
pub fn is_keyframe_request(p: &dyn rtc::rtcp::Packet) -> bool {
    RtcpKinds::KEYFRAME_REQUESTS.contains(p)
}

/// A set of RTCP packet kinds a [`RtcpTap`] delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpKinds(u8);

impl RtcpKinds {
    /// Picture Loss Indication (RFC 4585 §6.3.1).
    pub const PLI: RtcpKinds = RtcpKinds(1);
    /// Full Intra Request (RFC 5104 §4.3.1).
    pub const FIR: RtcpKinds = RtcpKinds(2);
    /// Generic NACK (RFC 4585 §6.2.1).
    pub const NACK: RtcpKinds = RtcpKinds(4);
    /// Receiver report (RFC 3550 §6.4.2).
    pub const RECEIVER_REPORT: RtcpKinds = RtcpKinds(8);
    /// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-01).
    pub const TRANSPORT_CC: RtcpKinds = RtcpKinds(16);
    /// PLI and FIR.
    pub const KEYFRAME_REQUESTS: RtcpKinds = RtcpKinds(1 | 2);

    /// Whether `p` is of a kind in this set.
    pub fn contains(self, p: &dyn rtc::rtcp::Packet) -> bool {
        let any = p.as_any();
        (self.0 & Self::PLI.0 != 0 && any.is::<PictureLossIndication>())
            || (self.0 & Self::FIR.0 != 0 && any.is::<FullIntraRequest>())
            || (self.0 & Self::NACK.0 != 0 && any.is::<TransportLayerNack>())
            || (self.0 & Self::RECEIVER_REPORT.0 != 0 && any.is::<ReceiverReport>())
            || (self.0 & Self::TRANSPORT_CC.0 != 0 && any.is::<TransportLayerCc>())
    }
}

impl BitOr for RtcpKinds {
    type Output = RtcpKinds;
    fn bitor(self, rhs: RtcpKinds) -> RtcpKinds {
        RtcpKinds(self.0 | rhs.0)
    }
}

/// What a [`RtcpTap`] delivers of a compound RTCP packet that holds a wanted kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The whole compound, marked for the application; compounds without a wanted kind pass on
    /// unmarked (the shard reads several kinds from one compound).
    Compound,
    /// Only the packets of the wanted kinds; compounds without one are dropped here (the
    /// interceptors before the tap have used them already). A client that only counts keyframe
    /// requests gets nothing else.
    OnlyWanted,
}

/// What the tap does with one inbound RTCP compound.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Mark for the application (after replacing the packets, for [`Delivery::OnlyWanted`]).
    Deliver,
    /// Pass on unmarked.
    Pass,
    /// Drop.
    Drop,
}

/// Marks chosen inbound RTCP for delivery to the application; RTP and outbound traffic pass
/// through untouched.
pub struct RtcpTap {
    wanted: RtcpKinds,
    delivery: Delivery,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

/// The shard's tap under the name it had before [`RtcpTap`] was shared: `default()` is
/// [`RtcpTap::for_forwarding`].
pub type KeyframeRequestTap = RtcpTap;

impl RtcpTap {
    /// A tap delivering `wanted` the way `delivery` says.
    pub fn new(wanted: RtcpKinds, delivery: Delivery) -> Self {
        Self { wanted, delivery, reads: VecDeque::new(), writes: VecDeque::new() }
    }

    /// The shard's subscriber PCs: compounds with PLI, FIR, NACK, a receiver report or
    /// transport-wide feedback.
    pub fn for_forwarding() -> Self {
        let wanted = RtcpKinds::KEYFRAME_REQUESTS | RtcpKinds::NACK | RtcpKinds::RECEIVER_REPORT | RtcpKinds::TRANSPORT_CC;
        Self::new(wanted, Delivery::Compound)
    }

    /// A publishing client's PC: only PLIs and FIRs.
    pub fn keyframe_requests_only() -> Self {
        Self::new(RtcpKinds::KEYFRAME_REQUESTS, Delivery::OnlyWanted)
    }

    /// Decides about `packets`, keeping only the wanted ones for [`Delivery::OnlyWanted`].
    fn judge(&self, packets: &mut Vec<Box<dyn rtc::rtcp::Packet>>) -> Verdict {
        match self.delivery {
            Delivery::Compound if packets.iter().any(|p| self.wanted.contains(p.as_ref())) => Verdict::Deliver,
            Delivery::Compound => Verdict::Pass,
            Delivery::OnlyWanted => {
                packets.retain(|p| self.wanted.contains(p.as_ref()));
                if packets.is_empty() {
                    Verdict::Drop
                } else {
                    Verdict::Deliver
                }
            }
        }
    }
}

impl Default for RtcpTap {
    fn default() -> Self {
        Self::for_forwarding()
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for RtcpTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtcp(packets) = &mut msg.message.packet {
            match self.judge(packets) {
                Verdict::Deliver => {
                    msg.message.add(Attribute::DeliverToApplication);
                }
                Verdict::Pass => {}
                Verdict::Drop => return Ok(()),
            }
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

impl Interceptor for RtcpTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::sender_report::SenderReport;

    fn compound(with_pli: bool) -> Vec<Box<dyn rtc::rtcp::Packet>> {
        let mut v: Vec<Box<dyn rtc::rtcp::Packet>> =
            vec![Box::new(ReceiverReport::default()), Box::new(SenderReport::default())];
        if with_pli {
            v.push(Box::new(PictureLossIndication::default()));
        }
        v
    }

    #[test]
    fn the_shard_gets_whole_compounds_with_feedback_and_reports() {
        let tap = RtcpTap::for_forwarding();
        let mut packets = compound(false);
        assert_eq!(tap.judge(&mut packets), Verdict::Deliver, "a receiver report is wanted");
        assert_eq!(packets.len(), 2, "the compound stays whole");
        let mut sr_only: Vec<Box<dyn rtc::rtcp::Packet>> = vec![Box::new(SenderReport::default())];
        assert_eq!(tap.judge(&mut sr_only), Verdict::Pass);
        let mut nack: Vec<Box<dyn rtc::rtcp::Packet>> = vec![Box::new(TransportLayerNack::default())];
        assert_eq!(tap.judge(&mut nack), Verdict::Deliver);
    }

    #[test]
    fn a_client_gets_only_keyframe_requests() {
        let tap = RtcpTap::keyframe_requests_only();
        let mut packets = compound(true);
        assert_eq!(tap.judge(&mut packets), Verdict::Deliver);
        assert_eq!(packets.len(), 1);
        assert!(is_keyframe_request(packets[0].as_ref()));
        assert_eq!(tap.judge(&mut compound(false)), Verdict::Drop, "nothing wanted: dropped");
    }

    #[test]
    fn kinds_combine() {
        let rr = ReceiverReport::default();
        let fir = FullIntraRequest::default();
        assert!(!RtcpKinds::KEYFRAME_REQUESTS.contains(&rr));
        assert!((RtcpKinds::PLI | RtcpKinds::RECEIVER_REPORT).contains(&rr));
        assert!(RtcpKinds::KEYFRAME_REQUESTS.contains(&fir) && is_keyframe_request(&fir));
        assert!(!RtcpKinds::NACK.contains(&fir));
    }
}
