//! ICE restarts after a network change. The server is ICE-lite and keeps its credentials and
//! candidates; a client that moved restarts with new credentials from its new address: a
//! publisher with its own offer, a subscriber by asking for a restarting offer
//! (`MediaCommand::RestartIce`). The session (DTLS, SRTP, routes) survives: media goes on.

mod common;

use common::Net;
use rtc::peer_connection::sdp::RTCSessionDescription;
use std::net::SocketAddr;
use std::time::Duration;
use switchboard_media::{MediaCommand, PeerId, SdpKind};

fn ufrag(sdp: &str) -> String {
    sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")).expect("an ice-ufrag").trim().to_owned()
}

#[test]
fn a_publisher_that_moves_and_restarts_ice_goes_on_publishing() {
    let mut net = Net::new();
    let (publisher, subscriber, _) = net.publish_and_subscribe();
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(50));
    let before = net.clients[subscriber].received.len();
    assert!(before > 0, "media flows before the move");

    let moved: SocketAddr = "10.0.9.9:45000".parse().unwrap();
    net.move_client(publisher, moved);
    // Nothing from the old address any more: the old pair is dead. The client restarts ICE.
    let now = net.now;
    let pc = &mut net.clients[publisher].pc;
    let old_ufrag = ufrag(&pc.local_description().unwrap().sdp);
    pc.restart_ice();
    let offer = pc.create_offer(None).unwrap();
    pc.set_local_description(now, offer).unwrap();
    let sdp = pc.local_description().unwrap().sdp.clone();
    assert_ne!(ufrag(&sdp), old_ufrag, "the client restarts with new credentials");
    net.command(MediaCommand::ApplyOffer { peer: PeerId(1), sdp });
    let answer = net.take_description(PeerId(1), SdpKind::Answer);
    let now = net.now;
    net.clients[publisher].pc.set_remote_description(now, RTCSessionDescription::answer(answer).unwrap()).unwrap();
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(publisher), "connected again from the new address");

    for i in 0..10 {
        net.send_video(publisher, i == 0);
        net.run_for(Duration::from_millis(20));
    }
    let after = net.clients[subscriber].received.len();
    assert!(after >= before + 10, "media reaches the subscriber again: {before} -> {after}");
    let stats = net.shard.stats(net.now);
    let remote = stats.iter().find(|p| p.peer == PeerId(1)).and_then(|p| p.remote);
    assert_eq!(remote, Some(moved), "the server sends to the new address");
}

#[test]
fn restart_ice_on_a_subscriber_makes_an_offer_with_new_credentials_and_the_client_reconnects() {
    let mut net = Net::new();
    let (_, subscriber, _) = net.publish_and_subscribe();
    let first = net.clients[subscriber].pc.remote_description().unwrap().sdp.clone();
    net.command(MediaCommand::RestartIce { peer: PeerId(2) });
    let offer = net.take_description(PeerId(2), SdpKind::Offer);
    assert_ne!(ufrag(&offer), ufrag(&first), "new credentials: a browser restarts only when the offer's change");
    assert!(offer.contains("a=candidate:"), "our candidates are offered again: {offer}");
    // The client (a full agent) restarts on the changed credentials and connects again: the new
    // ufrag routes to the same peer.
    let now = net.now;
    let pc = &mut net.clients[subscriber].pc;
    pc.set_remote_description(now, RTCSessionDescription::offer(offer).unwrap()).unwrap();
    let answer = pc.create_answer(None).unwrap();
    pc.set_local_description(now, answer).unwrap();
    let sdp = pc.local_description().unwrap().sdp.clone();
    net.command(MediaCommand::ApplyAnswer { peer: PeerId(2), sdp });
    net.run_for(Duration::from_millis(800));
    assert!(net.connected(subscriber), "connected again after the restart");
    net.send_video(0, true);
    let before = net.clients[subscriber].received.len();
    for _ in 0..5 {
        net.send_video(0, false);
        net.run_for(Duration::from_millis(20));
    }
    assert!(net.clients[subscriber].received.len() > before, "media reaches the subscriber after the restart");
    // A publisher gets an error instead: it restarts with its own offer.
    net.command(MediaCommand::RestartIce { peer: PeerId(1) });
    assert!(net.events.iter().any(|e| matches!(e, switchboard_media::MediaEvent::NegotiationFailed { peer: PeerId(1), .. })));
}
