//! [`Transmit`]: one datagram the shard wants sent from its socket. Owns only the type; the
//! shard queues them, the runtime sends them (`udp_batch`).

use bytes::BytesMut;
use std::net::SocketAddr;

/// A datagram to send from the shard's socket.
#[derive(Debug)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Bytes.
    pub payload: BytesMut,
}
