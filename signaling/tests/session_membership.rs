//! Whole sessions in memory: joining, seeing each other, leaving, the lobby with a moderator's
//! admission through the conference, and a session whose client goes silent.

mod common;

use common::Harness;
use serde_json::json;
use std::time::Duration;
use switchboard_signaling::ops::{Admit, ListLobby, UpdateRoom};
use switchboard_signaling::session::SessionLimits;
use switchboard_signaling::{Identity, Permissions, RoomName, RoomPatch};

#[tokio::test]
async fn participants_see_each_other_join_and_leave() {
    let h = Harness::start();
    let mut alice = h.connect("hall", "alice").await;
    let joined = alice.next_of_type("joined").await;
    assert_eq!(joined["room"]["name"], "hall");
    assert_eq!(joined["participants"], json!([]));
    let mut bob = h.connect("hall", "bob").await;
    let bob_joined = bob.next_of_type("joined").await;
    assert_eq!(bob_joined["participants"][0]["identity"], "alice");
    let seen = alice.next_of_type("participant_joined").await;
    assert_eq!(seen["participant"]["identity"], "bob");
    bob.send_json(json!({"type": "leave"})).await;
    let left = alice.next_of_type("participant_left").await;
    assert_eq!((left["identity"].as_str(), left["reason"].as_str()), (Some("bob"), Some("left")));
    assert_eq!(bob.closed().await.map(|c| c.0), Some(1000));
    h.shutdown.cancel();
}

#[tokio::test]
async fn a_lobby_member_waits_until_a_moderator_admits_it() {
    let h = Harness::start();
    let room = RoomName::parse("gated").unwrap();
    let admin = Identity::parse("moderator").unwrap();
    let mut host = h.connect("gated", "host").await;
    host.next_of_type("joined").await;
    let patch = RoomPatch { lobby: Some(true), ..Default::default() };
    h.conference.admin(&room, UpdateRoom(patch), &admin).await.unwrap();
    let mut guest = h.connect("gated", "guest").await;
    assert_eq!(guest.next_json().await["type"], "lobby_waiting");
    guest.send_json(json!({"type": "set_hand_raised", "raised": true})).await;
    assert_eq!(guest.next_of_type("error").await["code"], "out_of_order", "the lobby may only ping or leave");
    let waiting = h.conference.admin(&room, ListLobby, &admin).await.unwrap();
    assert_eq!(waiting.iter().map(|p| p.identity.as_str()).collect::<Vec<_>>(), ["guest"]);
    let admitted = h.conference.admin(&room, Admit(Identity::parse("guest").unwrap()), &admin).await.unwrap();
    assert_eq!(admitted.state, "joining");
    assert_eq!(guest.next_json().await["type"], "admitted");
    assert_eq!(guest.next_json().await["type"], "joined");
    assert_eq!(host.next_of_type("participant_joined").await["participant"]["identity"], "guest");
    h.shutdown.cancel();
}

#[tokio::test]
async fn a_silent_client_is_reconnecting_after_the_idle_timeout() {
    let h = Harness::start();
    let mut watcher = h.connect("quiet", "watcher").await;
    watcher.next_of_type("joined").await;
    let limits = SessionLimits { idle_timeout: Duration::from_millis(300), ping_interval: Duration::from_millis(100), ..SessionLimits::default() };
    let mut silent = h.connect_with("quiet", "silent", Permissions::default(), limits).await;
    silent.next_of_type("joined").await;
    // It never answers; the session ends on its own and the room hears its connection is lost:
    // it waits for a resume (docs/protocol.md, "Resume") instead of leaving.
    let lost = watcher.next_of_type("participant_updated").await;
    assert_eq!((lost["participant"]["identity"].as_str(), lost["participant"]["state"].as_str()), (Some("silent"), Some("reconnecting")));
    tokio::time::timeout(Duration::from_secs(5), silent.task).await.expect("the session task ends").unwrap();
    h.shutdown.cancel();
}
