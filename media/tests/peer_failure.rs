//! A peer whose link is cut is reported failed and removed with everything it owned.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaEvent, PeerId};

#[test]
fn cut_link_is_reported_failed_and_cleaned_up() {
    let mut net = Net::new();
    let (publisher, _subscriber, source) = net.publish_and_subscribe();
    let snap = net.shard.snapshot();
    assert_eq!((snap.peers, snap.sources, snap.routes), (2, 1, 1));

    // The publisher's network goes away: no more STUN, no more media.
    net.cut.insert(net.clients[publisher].addr);
    net.run_for(Duration::from_secs(8));
    assert!(
        net.events.iter().any(|e| matches!(e, MediaEvent::PeerFailed { peer } if *peer == PeerId(1))),
        "the publisher is reported failed; events: {:?}",
        net.events
    );
    assert!(net.events.iter().any(|e| matches!(e, MediaEvent::SourceClosed { source: s, .. } if *s == source)));
    let snap = net.shard.snapshot();
    assert_eq!(snap.peers, 1, "failed peer removed");
    assert_eq!(snap.sources, 0, "its source is gone");
    assert_eq!(snap.routes, 0, "and so is the route to the subscriber");
    // the subscriber is still alive and is told to renegotiate without the track
    assert!(!net.events.iter().any(|e| matches!(e, MediaEvent::PeerFailed { peer } if *peer == PeerId(2))));
    // its demultiplexer entries (ufrag + address) are evicted; the subscriber's remain
    assert_eq!(snap.demux_entries, 2);
}
