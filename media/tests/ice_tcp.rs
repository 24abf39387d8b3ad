//! ICE over TCP (RFC 6544): a client whose network blocks UDP has only an active TCP candidate;
//! it reaches our passive TCP candidate, and everything (checks, DTLS, media, feedback) goes
//! over its connection. Where UDP works it wins: our TCP candidate has the lower priority.

mod common;

use common::{Net, SERVER_TCP};
use std::time::Duration;
use switchboard_media::{MediaCommand, PeerId, SdpKind};

#[test]
fn tcp_only_clients_publish_and_receive_over_the_ice_tcp_port() {
    let mut net = Net::with_tcp();
    net.clients_tcp = true;
    let (publisher, subscriber, _) = net.publish_and_subscribe();
    assert!(net.connected(publisher) && net.connected(subscriber), "both connected over TCP");
    for i in 0..20 {
        net.send_video(publisher, i == 0);
        net.run_for(Duration::from_millis(20));
    }
    let got = net.clients[subscriber].received.len();
    assert!(got >= 20, "subscriber received {got} packets over TCP");
    for c in [publisher, subscriber] {
        assert!(net.clients[c].received_tcp > 0);
        assert_eq!(net.clients[c].received_udp, 0, "nothing may be sent by UDP to a TCP client");
    }
}

#[test]
fn offers_and_answers_carry_a_passive_tcp_candidate_below_udp() {
    let mut net = Net::with_tcp();
    let (_, source) = net.publish_video(PeerId(1));
    net.add_subscriber(PeerId(2));
    net.command(MediaCommand::Subscribe {
        subscriber: PeerId(2),
        source,
        stream_id: "publisher".into(),
        track_id: "TR_v".into(),
    });
    let offer = net.take_description(PeerId(2), SdpKind::Offer);
    let candidate = |proto: &str| {
        offer
            .lines()
            .find(|l| l.starts_with("a=candidate:") && l.split(' ').nth(2) == Some(proto))
            .unwrap_or_else(|| panic!("no {proto} candidate in {offer}"))
            .to_owned()
    };
    let (udp, tcp) = (candidate("udp"), candidate("tcp"));
    assert!(tcp.contains(&format!("{} {} typ host tcptype passive", SERVER_TCP.ip(), SERVER_TCP.port())), "{tcp}");
    let priority = |line: &str| line.split(' ').nth(3).and_then(|p| p.parse::<u32>().ok()).expect("a priority");
    assert!(priority(&udp) > priority(&tcp), "UDP {udp} must be preferred to TCP {tcp}");
}

#[test]
fn without_a_tcp_listener_no_tcp_candidate_is_offered() {
    let mut net = Net::new();
    let publisher = net.add_publisher(PeerId(1));
    let answer = net.clients[publisher].pc.remote_description().expect("the answer").sdp.clone();
    assert!(!answer.lines().any(|l| l.starts_with("a=candidate:") && l.contains(" tcp ")), "{answer}");
}
