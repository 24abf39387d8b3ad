//! A simulcast track's inbound statistics cover all its layers: a track whose top layer is off
//! (dynacast, or a publisher that dropped it) still shows what its other layers bring.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::PeerId;

#[test]
fn only_the_lowest_layer_sending_still_counts() {
    let mut net = Net::new();
    let (publisher, _) = net.publish_simulcast(PeerId(1));
    let inbound_bytes = |net: &mut Net| {
        let now = net.now;
        let stats = net.shard.stats(now);
        let p = stats.iter().find(|s| s.peer == PeerId(1)).expect("publisher stats");
        p.inbound.iter().map(|(_, t)| t.bytes).sum::<u64>()
    };
    let before = inbound_bytes(&mut net);
    // f and h stop; q goes on for a second
    for i in 0..30 {
        net.send_video_layer(publisher, 0, i % 10 == 0);
        net.run_for(Duration::from_millis(33));
    }
    let after = inbound_bytes(&mut net);
    assert!(after > before, "the q layer's bytes count for the track: {before} then {after}");
}
