//! Consent freshness (RFC 7675): a peer is alive while any authenticated traffic arrives from
//! its selected pair, not only STUN. A client that checks consent every 5 s (RFC 7675 allows
//! 4-6 s; aiortc does so) must not be taken for gone by a server whose timeouts are shorter,
//! while its media and RTCP keep arriving.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::MediaEvent;

#[test]
fn a_peer_checking_consent_every_5_s_stays_connected_while_media_flows() {
    // The test shard's ICE timeouts: disconnected after 2 s, failed after 4 s.
    let mut net = Net::new();
    net.client_keepalive = Some(Duration::from_secs(5));
    let (publisher, subscriber, _) = net.publish_and_subscribe();
    let keyframes_before = net.clients[publisher].keyframe_requests;
    // 20 s of video (the subscriber sends receiver reports and feedback, the publisher media)
    for i in 0..600 {
        net.send_video(publisher, i % 60 == 0);
        net.run_for(Duration::from_millis(33));
    }
    let failed: Vec<_> = net.events.iter().filter(|e| matches!(e, MediaEvent::PeerFailed { .. })).collect();
    assert!(failed.is_empty(), "peers taken for gone: {failed:?}");
    assert!(net.connected(publisher) && net.connected(subscriber));
    let keyframes = net.clients[publisher].keyframe_requests - keyframes_before;
    assert!(keyframes <= 2, "{keyframes} keyframe requests at the publisher in 20 s");
}
