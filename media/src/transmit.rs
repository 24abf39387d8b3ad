//! [`Transmit`]: one datagram the shard wants sent, and [`Via`], the transport it goes by. Owns
//! only the types; the shard queues them, the runtime sends them (`udp_batch` for UDP, `tcp`
//! for ICE over TCP).

use bytes::BytesMut;
use std::net::SocketAddr;

/// The transport a datagram arrived on or leaves by: the shard's UDP socket, or one of the
/// TCP connections on its ICE/TCP port (RFC 6544, framed as RFC 4571).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Via {
    /// The shared UDP socket.
    Udp,
    /// The TCP connection from that remote address.
    Tcp,
}

/// A datagram to send.
#[derive(Debug)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Transport: UDP, or the TCP connection whose remote address is `to`.
    pub via: Via,
    /// Bytes.
    pub payload: BytesMut,
}
