//! A video packet lost on the way to a subscriber is sent again when the subscriber's NACK asks
//! for it, from the source's history, with the leg's numbers (virtual clock, no sockets).

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::MediaCounters;

#[test]
fn a_lost_packet_is_retransmitted_on_nack() {
    let mut net = Net::new();
    let (publisher, subscriber, _source) = net.publish_and_subscribe();
    for i in 0..10 {
        net.send_video(publisher, i == 0);
        net.run_for(Duration::from_millis(33));
    }
    let last = net.clients[subscriber].received.last().expect("media flows").seq;
    let lost = last.wrapping_add(3);
    let addr = net.clients[subscriber].addr;
    net.drop_once.push((addr, lost));
    for _ in 0..20 {
        net.send_video(publisher, false);
        net.run_for(Duration::from_millis(33));
    }
    net.run_for(Duration::from_millis(500));
    assert!(net.drop_once.is_empty(), "the packet was dropped on the way");
    let seqs: Vec<u16> = net.clients[subscriber].received.iter().map(|p| p.seq).collect();
    assert!(seqs.contains(&lost), "the lost packet arrived after all: {seqs:?}");
    let retransmitted = MediaCounters::get(&net.counters.packets_retransmitted);
    assert!(retransmitted >= 1, "counted as a retransmission");
    let mut unique = seqs.clone();
    unique.sort_unstable();
    unique.dedup();
    let span = usize::from(unique.last().unwrap().wrapping_sub(unique[0])) + 1;
    assert_eq!(unique.len(), span, "no hole left in the leg's sequence numbers");
}
