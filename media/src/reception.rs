//! What a subscriber's RTCP reception report block says about one leg (RFC 3550 §6.4.2), as
//! numbers, and the round-trip time it gives (§6.4.1). Owns the arithmetic only; which leg a
//! block belongs to is the shard's lookup, and keeping the latest one is the route's.

use rtc::rtcp::reception_report::ReceptionReport;
use std::time::Duration;

/// One RTCP reception report block, as numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ReceptionSummary {
    /// Fraction of packets lost since the previous report, 0.0–1.0.
    pub(crate) fraction_lost: f64,
    /// Cumulative packets lost.
    pub(crate) total_lost: i64,
    /// Interarrival jitter in RTP timestamp units.
    pub(crate) jitter: f64,
    /// Round-trip time from LSR/DLSR, when the report refers to a sender report of ours.
    pub(crate) rtt: Option<Duration>,
}

impl ReceptionSummary {
    /// `block`, received when the NTP clock read `arrival_ntp` (64-bit NTP format).
    pub(crate) fn from_block(block: &ReceptionReport, arrival_ntp: u64) -> Self {
        Self {
            fraction_lost: f64::from(block.fraction_lost) / 256.0,
            total_lost: i64::from(block.total_lost),
            jitter: f64::from(block.jitter),
            rtt: round_trip(ntp_middle_32(arrival_ntp), block.last_sender_report, block.delay),
        }
    }
}

/// The middle 32 bits of a 64-bit NTP timestamp (RFC 3550 §4), the unit of LSR and DLSR.
fn ntp_middle_32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// RFC 3550 §6.4.1: RTT = arrival − LSR − DLSR, all in 1/65536 s; `None` without a sender report.
fn round_trip(arrival: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.wrapping_sub(lsr).wrapping_sub(dlsr);
    // A negative value (clock skew, a report about an SR we did not send) wraps to a huge one.
    (rtt < 0x8000_0000).then(|| Duration::from_secs_f64(f64::from(rtt) / 65536.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_from_lsr_and_dlsr() {
        // SR sent at 1000.0 s, held 0.25 s by the receiver, report back at 1000.30 s: 50 ms.
        let at = |secs: f64| (secs * 65536.0) as u32;
        let rtt = round_trip(at(1000.30), at(1000.0), at(0.25)).unwrap();
        assert!((rtt.as_secs_f64() - 0.05).abs() < 0.001, "{rtt:?}");
        assert_eq!(round_trip(at(5.0), 0, 0), None, "no sender report yet");
        assert_eq!(round_trip(at(1.0), at(2.0), 0), None, "negative: skewed or foreign");
    }

    #[test]
    fn a_block_becomes_numbers() {
        let block = ReceptionReport {
            ssrc: 7,
            fraction_lost: 64,
            total_lost: 30,
            jitter: 900,
            last_sender_report: 0x0001_0000,
            delay: 0x0000_8000,
            ..Default::default()
        };
        // arrival at NTP 2.0 s (middle 32 bits 0x0002_0000): 2.0 − 1.0 − 0.5 = 0.5 s
        let s = ReceptionSummary::from_block(&block, 2u64 << 32);
        assert_eq!((s.fraction_lost, s.total_lost, s.jitter), (0.25, 30, 900.0));
        assert_eq!(s.rtt, Some(Duration::from_millis(500)));
    }
}
