//! RFC 3264 §8: each new offer of a session keeps the `o=` line's session id and increments its
//! version by one (a subscriber PC is re-offered whenever a track is added); and every offer,
//! the first included, declares `a=msid-semantic: WMS *`.

mod common;

use common::Net;
use switchboard_media::PeerId;

/// (session id, version) of the `o=` line.
fn origin(sdp: &str) -> (u64, u64) {
    let o: Vec<&str> = sdp.lines().find_map(|l| l.strip_prefix("o=")).expect("an o= line").split_whitespace().collect();
    (o[1].parse().unwrap(), o[2].parse().unwrap())
}

#[test]
fn a_re_offer_increments_the_session_version() {
    let mut net = Net::new();
    let (_, subscriber, _) = net.publish_and_subscribe();
    let first_offer = net.clients[subscriber].pc.remote_description().unwrap().sdp.clone();
    assert!(first_offer.contains("a=msid-semantic:WMS *"), "the first offer declares msid semantics:\n{first_offer}");
    let first = origin(&first_offer);
    // a second publisher's track: the subscriber PC gets a second offer
    let (_, source) = net.publish_video(PeerId(3));
    net.subscribe(subscriber, PeerId(2), source, "TR_v2");
    let second_offer = net.clients[subscriber].pc.remote_description().unwrap().sdp.clone();
    assert!(second_offer.contains("a=msid-semantic:WMS *"));
    let second = origin(&second_offer);
    assert_eq!(second.0, first.0, "same session id");
    assert_eq!(second.1, first.1 + 1, "version incremented by one: {first:?} then {second:?}");
}
