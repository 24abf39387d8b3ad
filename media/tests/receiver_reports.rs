//! A subscriber's RTCP receiver reports give its leg's loss and jitter in the shard's stats.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::PeerId;

#[test]
fn subscriber_reported_loss_appears_in_the_leg_stats() {
    let mut net = Net::new();
    let (publisher, _subscriber, _) = net.publish_and_subscribe();
    net.send_video(publisher, true);
    // 200 frames over ~6.6 s, one sequence number in five never sent: 20 % loss end to end.
    for i in 0..200 {
        if i % 4 == 3 {
            net.skip_sequence(publisher, 1);
        }
        net.send_video(publisher, false);
        net.run_for(Duration::from_millis(33));
    }
    let now = net.now;
    let stats = net.shard.stats(now);
    let leg = &stats.iter().find(|s| s.peer == PeerId(2)).expect("subscriber stats").outbound[0].1;
    let fraction = leg.fraction_lost.expect("a receiver report arrived");
    assert!((0.1..=0.3).contains(&fraction), "reported loss fraction {fraction}");
    assert!(leg.packets_lost >= 30, "cumulative loss {}", leg.packets_lost);
    let publisher_side = &stats.iter().find(|s| s.peer == PeerId(1)).unwrap().inbound[0].1;
    assert!(publisher_side.packets_lost >= 30, "we counted the same gaps on the way in");
}
