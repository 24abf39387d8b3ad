//! Publishers get transport-wide congestion feedback from the server, so that a browser's
//! send-side estimate (and with it its encoder) adapts to its own uplink.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::PeerId;

/// Transport-cc feedback reports a publisher receives over ~2 s of video.
fn feedback_reports(stamped: bool) -> u64 {
    let mut net = Net::new();
    net.publisher_twcc = stamped;
    let publisher = net.add_publisher(PeerId(1));
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(publisher), "the publisher connects");
    for i in 0..60 {
        net.send_video(publisher, i == 0);
        net.run_for(Duration::from_millis(33));
    }
    net.clients[publisher].twcc_feedback
}

#[test]
fn a_publisher_that_stamps_transport_wide_numbers_gets_feedback() {
    let reports = feedback_reports(true);
    // rtc's receiver reports every 100 ms: ~20 in 2 s
    assert!(reports >= 10, "{reports} transport-cc reports in 2 s");
    // the feedback answers the stamps: none without them
    assert_eq!(feedback_reports(false), 0);
}
