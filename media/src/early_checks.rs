//! ICE checks that arrive before a subscriber's answer. The browser starts checking as soon as
//! it has answered our offer, while the answer is still on its way through signalling; `rtc`
//! has no remote credentials yet and drops them ("password is empty"), and the browser only
//! retransmits hundreds of milliseconds later. The peer keeps the first few and hands them to
//! its PC once the answer is applied.

use crate::transmit::Via;
use bytes::BytesMut;
use std::net::SocketAddr;

/// Checks kept at most (a browser sends one per candidate pair, then retransmits).
const MAX_HELD: usize = 8;

/// A datagram held back: its transport, the local address it arrived on, its sender, its bytes.
pub(crate) type Held = (Via, SocketAddr, SocketAddr, BytesMut);

/// The checks a peer holds until its remote description is applied.
#[derive(Default)]
pub(crate) struct EarlyChecks {
    held: Vec<Held>,
}

impl EarlyChecks {
    /// Keeps `datagram` if there is room (the rest are dropped, as before: the client will
    /// retransmit them).
    pub(crate) fn hold(&mut self, via: Via, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        if self.held.len() < MAX_HELD {
            self.held.push((via, local, from, BytesMut::from(datagram)));
        }
    }

    /// Everything held, oldest first.
    pub(crate) fn take(&mut self) -> Vec<Held> {
        std::mem::take(&mut self.held)
    }
}

/// A STUN message by its first byte (RFC 7983: 0-3).
pub(crate) fn is_stun(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| *b < 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_bounded_number_in_order() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut e = EarlyChecks::default();
        for i in 0..20u8 {
            e.hold(Via::Udp, a, a, &[0, i]);
        }
        let held = e.take();
        assert_eq!(held.len(), MAX_HELD);
        assert_eq!(&held[0].3[..], &[0, 0]);
        assert!(e.take().is_empty(), "taken once");
        assert!(is_stun(&[0x00, 1]) && is_stun(&[0x01]) && !is_stun(&[0x80]) && !is_stun(&[22]) && !is_stun(&[]));
    }
}
