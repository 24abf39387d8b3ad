//! One subscriber's link dying must not disturb anyone else: the other subscriber of the same
//! source keeps getting every packet, the dead one is reported failed and its route removed, and
//! the publisher is never blamed (virtual clock, no sockets).

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaEvent, PeerId};

const FRAME: Duration = Duration::from_millis(33);

fn failed(net: &Net, peer: PeerId) -> bool {
    net.events.iter().any(|e| matches!(e, MediaEvent::PeerFailed { peer: p } if *p == peer))
}

#[test]
fn cut_subscriber_fails_alone_while_the_other_keeps_every_packet() {
    let mut net = Net::new();
    let publisher = net.add_publisher(PeerId(1));
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(publisher));
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(20));
    let source = net.opened_source(PeerId(1)).expect("source opened");

    let kept = net.add_subscriber(PeerId(2));
    net.subscribe(kept, PeerId(2), source, "TR_v");
    let doomed = net.add_subscriber(PeerId(3));
    net.subscribe(doomed, PeerId(3), source, "TR_v");
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(kept) && net.connected(doomed), "both subscribers connect");

    for i in 0..30 {
        net.send_video(publisher, i % 10 == 0);
        net.run_for(FRAME);
    }
    assert_eq!(net.clients[kept].received.len(), 30, "subscriber 2 receives media");
    assert_eq!(net.clients[doomed].received.len(), 30, "subscriber 3 receives media");
    let snap = net.shard.snapshot();
    assert_eq!((snap.peers, snap.sources, snap.routes), (3, 1, 2));

    // Subscriber 3's network goes away; the publisher keeps sending for 8 s (ICE failure is
    // declared after 4 s without STUN in this config).
    net.cut.insert(net.clients[doomed].addr);
    let kept_before = net.clients[kept].received.len();
    let doomed_before = net.clients[doomed].received.len();
    let mut sent_after_cut = 0usize;
    let mut sent_after_failure = 0usize;
    for i in 0..240 {
        net.send_video(publisher, i % 30 == 0);
        sent_after_cut += 1;
        if failed(&net, PeerId(3)) {
            sent_after_failure += 1;
        }
        net.run_for(FRAME);
        assert!(!failed(&net, PeerId(1)), "the publisher is never reported failed ({i} frames after the cut)");
        assert!(!failed(&net, PeerId(2)), "the healthy subscriber is never reported failed");
        assert_eq!(
            net.clients[kept].received.len() - kept_before,
            sent_after_cut,
            "subscriber 2 got every frame sent so far ({i} frames after the cut)"
        );
    }

    assert!(failed(&net, PeerId(3)), "the cut subscriber is reported failed; events: {:?}", net.events);
    assert!(sent_after_failure >= 30, "frames kept flowing after the failure: {sent_after_failure}");
    assert_eq!(net.clients[doomed].received.len(), doomed_before, "nothing reaches the cut link");

    let got = &net.clients[kept].received;
    assert_eq!(got.len() - kept_before, sent_after_cut, "every packet sent after the cut arrived");
    let (_, declared_ssrc) = net.clients[kept].remote_tracks["TR_v"];
    assert!(got.iter().all(|p| p.ssrc == declared_ssrc && p.track_id == "TR_v"));
    for w in got.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "continuous sequence numbers across the cut");
    }
    assert!(net.connected(publisher) && net.connected(kept), "the other PCs stay connected");

    let snap = net.shard.snapshot();
    assert_eq!(snap.peers, 2, "the failed subscriber is removed");
    assert_eq!(snap.sources, 1, "the source is untouched");
    assert_eq!(snap.routes, 1, "only the failed subscriber's route is gone");
    assert_eq!(snap.demux_entries, 4, "ufrag + address of the two live peers");
    assert!(
        !net.events.iter().any(|e| matches!(e, MediaEvent::SourceClosed { .. })),
        "the source is not closed; events: {:?}",
        net.events
    );
}
