//! A repeatable workload for measuring the forwarding hot path by instruction count: one VP8
//! publisher fanned out to `fan_out()` (10) subscribers on the virtual clock, a number of packets after
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
//! `simulcast_fan_out_forwards_one_layer` is the same fan-out from a publisher sending three
//! layers (for every 10 packets of `f`, 3 of `h` and 1 of `q`, like a 720p camera), every
//! subscriber on `f`: the packets of the other layers are received and decrypted but forwarded to
//! nobody, which is what simulcast costs per forwarded copy (docs/benchmarks.md).

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaCounters, PeerId, SourceId};

/// Subscribers of the publisher; `FORWARDING_COST_SUBSCRIBERS` overrides the 10 (the simulcast
/// overhead is per received packet, so it shrinks as the fan-out grows).
fn fan_out() -> u64 {
    std::env::var("FORWARDING_COST_SUBSCRIBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10).clamp(1, 200)
}
/// Packets after set-up; `FORWARDING_COST_PACKETS` overrides it, so that two runs give the
/// marginal cost per packet without the set-up (ICE, DTLS) in it.
fn packets() -> u64 {
    std::env::var("FORWARDING_COST_PACKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

/// `fan_out()` subscribers of `source` (peers 100…), each negotiated; their client indexes.
fn subscribe_all(net: &mut Net, source: SourceId) -> Vec<usize> {
    (0..fan_out())
        .map(|i| {
            let peer = PeerId(100 + i);
            let client = net.add_subscriber(peer);
            net.subscribe(client, peer, source, "TR_v");
            client
        })
        .collect()
}

#[test]
fn fan_out_reaches_every_subscriber() {
    let mut net = Net::new();
    let (publisher, source) = net.publish_video(PeerId(1));
    let subscribers = subscribe_all(&mut net, source);
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
    assert_eq!(forwarded, packets * fan_out(), "every packet reaches every subscriber");
    let total = MediaCounters::get(&net.counters.packets_forwarded);
    println!("forwarded copies: {total} in total ({forwarded} in the measured loop), publisher packets: {}",
        MediaCounters::get(&net.counters.packets_received));
}

#[test]
fn simulcast_fan_out_forwards_one_layer() {
    let mut net = Net::new();
    let (publisher, source) = net.publish_simulcast(PeerId(1));
    let subscribers = subscribe_all(&mut net, source);
    // every layer keeps sending while the subscribers connect (they start on the best one)
    for i in 0..120u64 {
        for layer in 0..3 {
            net.send_video_layer(publisher, layer, i % 40 == 0);
        }
        net.run_for(Duration::from_millis(5));
    }
    assert!(subscribers.iter().all(|c| net.connected(*c)), "every subscriber connects");
    net.send_video_layer(publisher, 2, true);
    net.run_for(Duration::from_millis(5));
    let before = MediaCounters::get(&net.counters.packets_forwarded);
    let received_before = MediaCounters::get(&net.counters.packets_received);
    let packets = packets();
    for i in 0..packets {
        net.send_video_layer(publisher, 2, i % 300 == 0);
        if i % 10 < 3 {
            net.send_video_layer(publisher, 1, false);
        }
        if i % 10 == 0 {
            net.send_video_layer(publisher, 0, false);
        }
        net.run_for(Duration::from_millis(5));
    }
    let forwarded = MediaCounters::get(&net.counters.packets_forwarded) - before;
    let received = MediaCounters::get(&net.counters.packets_received) - received_before;
    assert_eq!(forwarded, packets * fan_out(), "every f packet reaches every subscriber, nothing else does");
    assert_eq!(received, packets + packets.div_ceil(10) * 3 + packets.div_ceil(10), "all three layers arrive");
    let total = MediaCounters::get(&net.counters.packets_forwarded);
    println!("forwarded copies: {total} in total ({forwarded} in the measured loop), publisher packets: {}",
        MediaCounters::get(&net.counters.packets_received));
}
