//! Signalling can withhold a source (mute, hold) or everything to a subscriber (hold): nothing
//! is forwarded meanwhile, and on resume the stream continues without a sequence gap, from a
//! keyframe.

mod common;

use common::Net;
use std::time::Duration;
use switchboard_media::{MediaCommand, MediaCounters, PeerId};

fn setup() -> (Net, usize, usize, switchboard_media::SourceId) {
    let mut net = Net::new();
    let (publisher, subscriber, source) = net.publish_and_subscribe();
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(33));
    (net, publisher, subscriber, source)
}

fn send_frames(net: &mut Net, publisher: usize, n: usize, key_first: bool) {
    for i in 0..n {
        net.send_video(publisher, key_first && i == 0);
        net.run_for(Duration::from_millis(33));
    }
}

fn assert_continuous(net: &Net, subscriber: usize) {
    for w in net.clients[subscriber].received.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "no sequence gap across the pause");
    }
}

#[test]
fn muted_source_is_withheld_and_resumes_at_a_keyframe() {
    let (mut net, publisher, subscriber, source) = setup();
    send_frames(&mut net, publisher, 10, false);
    let before = net.clients[subscriber].received.len();
    assert_eq!(before, 11);

    net.command(MediaCommand::SetSourceMuted { source, muted: true });
    send_frames(&mut net, publisher, 20, true);
    assert_eq!(net.clients[subscriber].received.len(), before, "nothing while muted");
    assert!(MediaCounters::get(&net.counters.dropped_muted) >= 20);

    let plis = net.clients[publisher].keyframe_requests;
    net.command(MediaCommand::SetSourceMuted { source, muted: false });
    assert!(net.clients[publisher].keyframe_requests > plis, "unmute asks for a keyframe");
    send_frames(&mut net, publisher, 5, false);
    assert_eq!(net.clients[subscriber].received.len(), before, "delta frames wait for a keyframe");
    send_frames(&mut net, publisher, 5, true);
    assert_eq!(net.clients[subscriber].received.len(), before + 5);
    assert_continuous(&net, subscriber);
}

#[test]
fn paused_subscriber_receives_nothing_until_resumed() {
    let (mut net, publisher, subscriber, _) = setup();
    send_frames(&mut net, publisher, 5, false);
    let before = net.clients[subscriber].received.len();
    net.command(MediaCommand::SetSubscriberPaused { subscriber: PeerId(2), paused: true });
    send_frames(&mut net, publisher, 20, true);
    assert_eq!(net.clients[subscriber].received.len(), before);
    net.command(MediaCommand::SetSubscriberPaused { subscriber: PeerId(2), paused: false });
    send_frames(&mut net, publisher, 5, true);
    assert_eq!(net.clients[subscriber].received.len(), before + 5);
    assert_continuous(&net, subscriber);
}

#[test]
fn stats_count_what_was_received_and_forwarded() {
    let (mut net, publisher, _subscriber, source) = setup();
    send_frames(&mut net, publisher, 30, false);
    let now = net.now;
    let stats = net.shard.stats(now);
    let publisher_stats = stats.iter().find(|s| s.peer == PeerId(1)).expect("publisher stats");
    let (src, inbound) = &publisher_stats.inbound[0];
    assert_eq!(*src, source);
    assert_eq!(inbound.packets, 32, "every packet the publisher sent");
    assert_eq!(inbound.frames, 32, "one frame per packet (marker bit)");
    assert_eq!(inbound.packets_lost, 0);
    let subscriber_stats = stats.iter().find(|s| s.peer == PeerId(2)).expect("subscriber stats");
    let (src, outbound) = &subscriber_stats.outbound[0];
    assert_eq!(*src, source);
    assert_eq!(outbound.packets, 31, "forwarded from the first keyframe after connecting");
}
