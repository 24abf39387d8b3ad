//! A subscriber's client starts its ICE checks as soon as it has answered, while the answer is
//! still on its way through signalling. Those early checks are kept and answered once the
//! answer is applied, instead of being dropped (which left the client to retransmit them).

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaCommand, PeerId};

#[test]
fn checks_sent_before_the_answer_arrives_are_answered_when_it_does() {
    let mut net = Net::new();
    let (_, source) = net.publish_video(PeerId(1));
    let subscriber = net.add_subscriber(PeerId(2));
    net.command(MediaCommand::Subscribe { subscriber: PeerId(2), source, stream_id: "publisher".into(), track_id: "TR_v".into() });
    let sdp = net.client_answers(subscriber, PeerId(2));
    // The client checks for 150 ms before its answer reaches the server.
    net.run_for(Duration::from_millis(150));
    assert!(!net.connected(subscriber));
    net.command(MediaCommand::ApplyAnswer { peer: PeerId(2), sdp });
    let step = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    while !net.connected(subscriber) {
        assert!(waited < Duration::from_secs(3), "not connected within 3 s of the answer");
        net.run_for(step);
        waited += step;
    }
    // Answered from the held checks: no wait for the client's next retransmission.
    assert!(waited <= Duration::from_millis(40), "connected {waited:?} after the answer was applied");
}
