//! [`Candidates`]: the addresses our ICE candidates advertise, per transport, and which one a
//! datagram arrived on.

use crate::transmit::Via;
use std::net::SocketAddr;

/// The addresses a peer's candidates advertise, per transport.
#[derive(Clone, Debug, Default)]
pub(crate) struct Candidates {
    pub(crate) udp: Vec<SocketAddr>,
    /// Empty: no ICE over TCP.
    pub(crate) tcp: Vec<SocketAddr>,
}

impl Candidates {
    /// The candidate address of `via` whose family matches `from`'s (the local address a
    /// datagram from `from` arrived on, as `rtc` must be told).
    pub(crate) fn local_for(&self, via: Via, from: SocketAddr) -> SocketAddr {
        let list = match via {
            Via::Tcp if !self.tcp.is_empty() => &self.tcp,
            _ => &self.udp,
        };
        list.iter().copied().find(|c| c.is_ipv4() == from.is_ipv4()).unwrap_or(list[0])
    }
}
