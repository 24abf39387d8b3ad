//! Media shard settings: the socket addresses, advertised addresses and timers; and [`Bound`],
//! where the runtime's sockets ended up.

use crate::candidates::Candidates;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Settings of one media shard.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// Address the UDP socket binds (port 0 picks a free port).
    pub udp_bind: SocketAddr,
    /// Address the ICE/TCP listener binds (port 0 picks a free port); `None`: no ICE over TCP.
    pub tcp_bind: Option<SocketAddr>,
    /// Addresses advertised in ICE candidates (NAT 1:1). Empty: the bound address.
    pub public_ips: Vec<IpAddr>,
    /// No ICE traffic for this long → the peer is `disconnected`.
    pub ice_disconnected_timeout: Duration,
    /// No ICE traffic for this long → the peer has failed and is reported [`crate::api::MediaEvent::PeerFailed`].
    pub ice_failed_timeout: Duration,
    /// Interval of ICE keepalives.
    pub ice_keepalive_interval: Duration,
    /// Minimum interval between two keyframe requests sent to one publisher track.
    pub keyframe_request_interval: Duration,
    /// A route still waiting for a keyframe re-requests one this often.
    pub keyframe_retry_interval: Duration,
}

impl MediaConfig {
    /// The addresses our ICE candidates advertise for the sockets at `bound`.
    pub(crate) fn candidates(&self, bound: Bound) -> Candidates {
        Candidates { udp: self.advertised(bound.udp), tcp: bound.tcp.map(|t| self.advertised(t)).unwrap_or_default() }
    }

    /// The addresses our ICE candidates advertise for a socket bound at `local`: the public
    /// addresses (NAT 1:1) on its port, or `local` itself.
    fn advertised(&self, local: SocketAddr) -> Vec<SocketAddr> {
        if self.public_ips.is_empty() {
            vec![local]
        } else {
            self.public_ips.iter().map(|ip| SocketAddr::new(*ip, local.port())).collect()
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            udp_bind: SocketAddr::from(([127, 0, 0, 1], 7882)),
            tcp_bind: None,
            public_ips: Vec::new(),
            ice_disconnected_timeout: Duration::from_secs(5),
            ice_failed_timeout: Duration::from_secs(15),
            ice_keepalive_interval: Duration::from_secs(2),
            keyframe_request_interval: Duration::from_millis(300),
            keyframe_retry_interval: Duration::from_millis(300),
        }
    }
}

/// Where a shard's transports are bound (ports resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The UDP socket.
    pub udp: SocketAddr,
    /// The ICE/TCP listener, if there is one.
    pub tcp: Option<SocketAddr>,
}

impl From<SocketAddr> for Bound {
    /// UDP only.
    fn from(udp: SocketAddr) -> Self {
        Self { udp, tcp: None }
    }
}
