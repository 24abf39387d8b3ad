//! A repeatable workload for measuring the forwarding hot path by instruction count: one VP8
//! publisher fanned out to `SUBSCRIBERS` subscribers on the virtual clock, a number of packets after
//! set-up. In the suite it checks that every packet of the run reaches every subscriber (200
//! packets, a fraction of a second); measure it with callgrind, collecting only inside the shard's
//! per-packet function:
//!
//! ```sh
//! cargo test --release -p switchboard-media --test forwarding_cost --no-run
//! valgrind --tool=callgrind --toggle-collect='*Shard*handle_datagram*' \
//!     target/release/deps/forwarding_cost-<hash> --exact fan_out_reaches_every_subscriber
//! callgrind_annotate callgrind.out.<pid> | head
//! ```
//! Two runs, `FORWARDING_COST_PACKETS=1000` and `=3000`: the difference in instructions ÷ the
//! difference in forwarded copies (printed by the test) = instructions per forwarded packet.
//! `'*Shard*handle_datagram*'` collects everything the shard does per received datagram (SRTP
//! decrypt and `rtc`'s read path of the publisher packet, the fan-out, each copy's encryption).

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaCounters, PeerId};

const SUBSCRIBERS: u64 = 10;
/// Packets after set-up; `FORWARDING_COST_PACKETS` overrides it, so that two runs give the
/// marginal cost per packet without the set-up (ICE, DTLS) in it.
fn packets() -> u64 {
    std::env::var("FORWARDING_COST_PACKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

#[test]
fn fan_out_reaches_every_subscriber() {
    let mut net = Net::new();
    let publisher = net.add_publisher(PeerId(1));
    net.run_for(Duration::from_millis(500));
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(20));
    let source = net.opened_source(PeerId(1)).expect("first RTP opens a source");
    let mut subscribers = Vec::new();
    for i in 0..SUBSCRIBERS {
        let peer = PeerId(100 + i);
        let client = net.add_subscriber(peer);
        net.subscribe(client, peer, source, "TR_v");
        subscribers.push(client);
    }
    net.run_for(Duration::from_millis(600));
    assert!(subscribers.iter().all(|c| net.connected(*c)), "every subscriber connects");
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(5));
    let before = MediaCounters::get(&net.counters.packets_forwarded);
    let packets = packets();
    for i in 0..packets {
        net.send_video(publisher, i % 300 == 0);
        net.run_for(Duration::from_millis(5));
    }
    let forwarded = MediaCounters::get(&net.counters.packets_forwarded) - before;
    assert_eq!(forwarded, packets * SUBSCRIBERS, "every packet reaches every subscriber");
    let total = MediaCounters::get(&net.counters.packets_forwarded);
    println!("forwarded copies: {total} in total ({forwarded} in the measured loop), publisher packets: {}",
        MediaCounters::get(&net.counters.packets_received));
}
