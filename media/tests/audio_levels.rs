//! RFC 6464 audio levels sent by publishers are reported per source (for active-speaker
//! detection), averaged over each report interval.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaEvent, PeerId};

#[test]
fn audio_levels_are_reported_per_source() {
    let mut net = Net::new();
    let loud = net.add_audio_publisher(PeerId(1));
    let quiet = net.add_audio_publisher(PeerId(3));
    net.run_for(Duration::from_millis(500));
    for _ in 0..25 {
        net.send_audio(loud, 10); // -10 dBov
        net.send_audio(quiet, 60); // -60 dBov
        net.run_for(Duration::from_millis(20));
    }
    let levels: Vec<_> = net
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::AudioLevels { levels } => Some(levels.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let of = |peer| levels.iter().filter(|l| l.publisher == peer).map(|l| l.level).next_back().expect("a level report");
    let (l, q) = (of(PeerId(1)), of(PeerId(3)));
    assert!((l - 10f32.powf(-0.5)).abs() < 0.01, "-10 dBov → {l}");
    assert!((q - 0.001).abs() < 0.001, "-60 dBov → {q}");
    assert!(levels.iter().all(|l| (l.voice - 1.0).abs() < f32::EPSILON), "V flag counted");
}
