//! RTP from a publisher reaches a subscriber with the subscriber leg's SSRC and continuous
//! sequence numbers, starting at a keyframe (virtual clock, no sockets).

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::PeerId;

fn publish_and_subscribe(net: &mut Net) -> (usize, usize) {
    let publisher = net.add_publisher(PeerId(1));
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(publisher), "publisher connects over ICE-lite + DTLS");
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(20));
    let source = net.opened_source(PeerId(1)).expect("first RTP opens a source");
    let subscriber = net.add_subscriber(PeerId(2));
    net.subscribe(subscriber, PeerId(2), source, "TR_video");
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(subscriber), "subscriber connects");
    (publisher, subscriber)
}

#[test]
fn rtp_is_forwarded_with_rewritten_ssrc_and_continuous_sequence_numbers() {
    let mut net = Net::new();
    let (publisher, subscriber) = publish_and_subscribe(&mut net);
    // delta frames first: a video route must wait for a keyframe
    for _ in 0..5 {
        net.send_video(publisher, false);
        net.run_for(Duration::from_millis(33));
    }
    assert!(net.clients[subscriber].received.is_empty(), "nothing before a keyframe");
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(33));
    for i in 0..50 {
        net.send_video(publisher, i % 25 == 0);
        net.run_for(Duration::from_millis(33));
    }
    let got = &net.clients[subscriber].received;
    assert_eq!(got.len(), 51, "every packet from the keyframe on is forwarded");
    let (_, declared_ssrc) = net.clients[subscriber].remote_tracks["TR_video"];
    assert_ne!(declared_ssrc, net.clients[publisher].ssrc, "SSRC is rewritten per leg");
    assert!(got.iter().all(|p| p.ssrc == declared_ssrc), "packets carry the negotiated SSRC");
    assert!(got.iter().all(|p| p.track_id == "TR_video"));
    assert_eq!(got[0].payload[1] & 1, 0, "the stream starts with a keyframe");
    for w in got.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "continuous sequence numbers");
    }
    let forwarded = switchboard_media::MediaCounters::get(&net.counters.packets_forwarded);
    assert_eq!(forwarded, 51);
}
