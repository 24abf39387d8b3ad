//! A subscriber's PLI reaches the publisher (throttled), and a new subscriber triggers one.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::PeerId;

#[test]
fn subscriber_pli_reaches_the_publisher() {
    let mut net = Net::new();
    let (publisher, source) = net.publish_video(PeerId(1));
    assert_eq!(net.clients[publisher].keyframe_requests, 0);

    let subscriber = net.add_subscriber(PeerId(2));
    net.subscribe(subscriber, PeerId(2), source, "TR_v");
    net.run_for(Duration::from_millis(500));
    let on_connect = net.clients[publisher].keyframe_requests;
    assert!(on_connect >= 1, "a connected subscriber triggers a keyframe request");

    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(400));
    let before = net.clients[publisher].keyframe_requests;
    net.send_pli(subscriber, "TR_v");
    net.run_for(Duration::from_millis(50));
    assert_eq!(net.clients[publisher].keyframe_requests, before + 1, "the PLI is relayed upstream");

    // A burst of PLIs inside the throttle window becomes one request upstream.
    net.run_for(Duration::from_millis(400));
    let before = net.clients[publisher].keyframe_requests;
    for _ in 0..5 {
        net.send_pli(subscriber, "TR_v");
        net.run_for(Duration::from_millis(10));
    }
    assert_eq!(net.clients[publisher].keyframe_requests, before + 1, "PLIs are throttled");
}
