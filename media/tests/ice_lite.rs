//! ICE-lite (RFC 8445 §2.5): the server runs no checks of its own, so it must answer the
//! client's nominating check (USE-CANDIDATE) at once and take the pair, not hold the answer
//! until a check of its own succeeds (which cost the client a retransmission, hundreds of
//! milliseconds, whenever its nomination overtook that check's response).

mod common;

use common::Net;
use rtc::crypto::providers::RingCrypto;
use rtc::ice::attributes::control::AttrControlling;
use rtc::ice::attributes::priority::PriorityAttr;
use rtc::ice::attributes::use_candidate::UseCandidateAttr;
use rtc::stun::attributes::ATTR_USERNAME;
use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::integrity::MessageIntegrity;
use rtc::stun::message::{Message, Setter, TransactionId, BINDING_REQUEST, BINDING_SUCCESS};
use rtc::stun::textattrs::Username;
use switchboard_media::PeerId;

/// `a=<attr>:` of an SDP.
fn sdp_attr(sdp: &str, attr: &str) -> String {
    let prefix = format!("a={attr}:");
    sdp.lines().find_map(|l| l.strip_prefix(&prefix)).expect("attribute in the SDP").trim().to_owned()
}

#[test]
fn a_nominating_check_is_answered_at_once() {
    let mut net = Net::new();
    // Offer and answer only: the client's own ICE agent is never run, so the check below is
    // the first thing the server hears.
    let publisher = net.add_publisher(PeerId(1));
    let client = &net.clients[publisher];
    let (offer, answer) = (client.pc.local_description().unwrap().sdp, client.pc.remote_description().unwrap().sdp.clone());
    let (server_ufrag, server_pwd) = (sdp_attr(&answer, "ice-ufrag"), sdp_attr(&answer, "ice-pwd"));
    let client_ufrag = sdp_attr(&offer, "ice-ufrag");
    let from = client.addr;

    let crypto = RingCrypto;
    let mut check = Message::new();
    let attrs: Vec<Box<dyn Setter + '_>> = vec![
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(Username::new(ATTR_USERNAME, format!("{server_ufrag}:{client_ufrag}"))),
        Box::new(UseCandidateAttr),
        Box::new(AttrControlling(7)),
        Box::new(PriorityAttr(2_130_706_431)),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(server_pwd, &crypto)),
        Box::new(FINGERPRINT),
    ];
    check.build(&attrs).unwrap();
    let now = net.now;
    net.shard.handle_datagram(now, from, &check.raw);

    let mut answered = false;
    while let Some(t) = net.shard.poll_transmit() {
        let mut m = Message { raw: t.payload.to_vec(), ..Message::default() };
        if t.to == from && m.decode().is_ok() && m.typ == BINDING_SUCCESS && m.transaction_id == check.transaction_id {
            answered = true;
        }
    }
    assert!(answered, "no binding success for the nominating check");
}
