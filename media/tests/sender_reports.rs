//! A subscriber leg sends RTCP sender reports (for the browser's A/V sync and RTT) once media
//! flows on it, about once a second, with the leg's own SSRC (virtual clock, no sockets).

mod common;

use common::Net;
use std::time::Duration;

#[test]
fn forwarded_legs_send_sender_reports_every_second() {
    let mut net = Net::new();
    let (publisher, subscriber, _source) = net.publish_and_subscribe();
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(30));
    assert!(!net.clients[subscriber].received.is_empty(), "media reaches the subscriber");
    let before = net.clients[subscriber].sender_reports.len();
    for i in 0..150 {
        net.send_video(publisher, i % 30 == 0);
        net.run_for(Duration::from_millis(33));
    }
    let (_, leg_ssrc) = net.clients[subscriber].remote_tracks["TR_v"];
    let reports: Vec<u32> = net.clients[subscriber].sender_reports[before..].to_vec();
    let own = reports.iter().filter(|s| **s == leg_ssrc).count();
    // ~5 s of media at one report every 0.5–1.5 s (RFC 3550 §6.2 randomisation around 1 s).
    assert!((3..=10).contains(&own), "sender reports for the leg in 5 s: {own} (all: {reports:?})");
}
