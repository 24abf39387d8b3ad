//! Demultiplexer: which peer a datagram on the shared UDP socket belongs to.
//!
//! A STUN binding request names its target in USERNAME (`<our ufrag>:<their ufrag>`), so STUN is
//! always routed by ufrag and teaches us the sender's 4-tuple; everything else (DTLS, SRTP, SRTCP)
//! is routed by the learnt 4-tuple. Routing STUN by ufrag every time also re-learns the address
//! after NAT rebinding. ICE over TCP goes the same way, one frame at a time: its addresses are
//! kept apart from UDP's (a TCP connection and a UDP socket may share an address and port).
//! Entries are evicted when a peer closes or fails.

use crate::ids::PeerId;
use crate::transmit::Via;
use rtc::stun::attributes::ATTR_USERNAME;
use rtc::stun::message::{is_stun_message, Message};
use rtc::stun::textattrs::Username;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Maps ufrags and remote addresses to peers.
#[derive(Default, Debug)]
pub(crate) struct Demux {
    by_ufrag: HashMap<String, PeerId>,
    by_addr: HashMap<(Via, SocketAddr), PeerId>,
}

/// Why a datagram could not be routed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unrouted {
    /// STUN whose USERNAME names no ufrag of ours (or has none).
    UnknownUfrag,
    /// Non-STUN from an address no STUN check has taught us.
    UnknownAddress,
}

impl Demux {
    pub(crate) fn register_ufrag(&mut self, ufrag: String, peer: PeerId) {
        self.by_ufrag.insert(ufrag, peer);
    }

    /// Forgets every entry of `peer`.
    pub(crate) fn evict(&mut self, peer: PeerId) {
        self.by_ufrag.retain(|_, p| *p != peer);
        self.by_addr.retain(|_, p| *p != peer);
    }

    /// Number of entries, for leak checks.
    pub(crate) fn len(&self) -> usize {
        self.by_ufrag.len() + self.by_addr.len()
    }

    /// The peer `datagram` from `from` by `via` is for, learning `from` on a valid STUN request.
    pub(crate) fn route(&mut self, via: Via, from: SocketAddr, datagram: &[u8]) -> Result<PeerId, Unrouted> {
        if is_stun_message(datagram) {
            // Requests carry USERNAME; responses and indications do not and go by address.
            if let Some(ufrag) = stun_local_ufrag(datagram) {
                let peer = *self.by_ufrag.get(&ufrag).ok_or(Unrouted::UnknownUfrag)?;
                self.by_addr.insert((via, from), peer);
                return Ok(peer);
            }
        }
        self.by_addr.get(&(via, from)).copied().ok_or(Unrouted::UnknownAddress)
    }
}

/// Our half of a STUN USERNAME (`<local>:<remote>`), if the message has one.
fn stun_local_ufrag(datagram: &[u8]) -> Option<String> {
    let mut msg = Message::new();
    msg.unmarshal_binary(datagram).ok()?;
    let username = Username::get_from_as(&msg, ATTR_USERNAME).ok()?.to_string();
    let (local, _remote) = username.split_once(':')?;
    Some(local.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::stun::message::TransactionId;
    use rtc::stun::message::{Setter, BINDING_REQUEST};

    fn binding_request(username: &str) -> Vec<u8> {
        let mut m = Message::new();
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId::new()),
            Box::new(Username::new(ATTR_USERNAME, username.to_owned())),
        ];
        m.build(&setters).expect("building a STUN message from valid setters");
        m.raw
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn stun_routes_by_ufrag_then_media_by_learnt_address() {
        let mut d = Demux::default();
        d.register_ufrag("ours1".into(), PeerId(1));
        assert_eq!(d.route(Via::Udp, addr(5000), &[0x80, 0x60, 0, 1]), Err(Unrouted::UnknownAddress));
        assert_eq!(d.route(Via::Udp, addr(5000), &binding_request("ours1:theirs")), Ok(PeerId(1)));
        assert_eq!(d.route(Via::Udp, addr(5000), &[0x80, 0x60, 0, 1]), Ok(PeerId(1)));
    }

    #[test]
    fn unknown_ufrag_and_garbage_are_rejected() {
        let mut d = Demux::default();
        d.register_ufrag("ours1".into(), PeerId(1));
        assert_eq!(d.route(Via::Udp, addr(1), &binding_request("nope:x")), Err(Unrouted::UnknownUfrag));
        assert_eq!(d.route(Via::Udp, addr(1), &binding_request("nocolon")), Err(Unrouted::UnknownAddress));
        assert_eq!(d.route(Via::Udp, addr(1), &[]), Err(Unrouted::UnknownAddress));
    }

    #[test]
    fn evict_forgets_ufrag_and_addresses() {
        let mut d = Demux::default();
        d.register_ufrag("a".into(), PeerId(1));
        d.register_ufrag("b".into(), PeerId(2));
        d.route(Via::Udp, addr(1), &binding_request("a:x")).unwrap();
        d.route(Via::Udp, addr(2), &binding_request("b:x")).unwrap();
        d.evict(PeerId(1));
        assert_eq!(d.len(), 2);
        assert_eq!(d.route(Via::Udp, addr(1), &[0x80]), Err(Unrouted::UnknownAddress));
        assert_eq!(d.route(Via::Udp, addr(2), &[0x80]), Ok(PeerId(2)));
    }

    #[test]
    fn tcp_and_udp_addresses_are_kept_apart() {
        let mut d = Demux::default();
        d.register_ufrag("a".into(), PeerId(1));
        d.register_ufrag("b".into(), PeerId(2));
        d.route(Via::Udp, addr(1), &binding_request("a:x")).unwrap();
        d.route(Via::Tcp, addr(1), &binding_request("b:x")).unwrap();
        assert_eq!(d.route(Via::Udp, addr(1), &[0x80]), Ok(PeerId(1)));
        assert_eq!(d.route(Via::Tcp, addr(1), &[0x80]), Ok(PeerId(2)));
        assert_eq!(d.route(Via::Tcp, addr(2), &[0x80]), Err(Unrouted::UnknownAddress));
    }

    #[test]
    fn rebinding_is_relearnt_from_the_next_check() {
        let mut d = Demux::default();
        d.register_ufrag("a".into(), PeerId(1));
        d.route(Via::Udp, addr(1), &binding_request("a:x")).unwrap();
        d.route(Via::Udp, addr(9), &binding_request("a:x")).unwrap();
        assert_eq!(d.route(Via::Udp, addr(9), &[0x80]), Ok(PeerId(1)));
    }
}
