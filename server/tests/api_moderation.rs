//! Moderation over the admin API: mute (one participant by track or kind, or a whole room), hold,
//! resume and move; 200 with the updated object, and 400/404/422 for bad input. One test uses a
//! real WebRTC participant (webrtc-rs) so that there are tracks to mute and a connection to hold.

mod common;

use common::{join, next_of_type, Api};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use common::spawn_test_server;
use switchboard_tests::TestParticipant;

#[tokio::test]
async fn mute_validates_its_target() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("quiet", Value::Null).await;
    let _bob = join(&server, "quiet", "bob").await;
    let path = "/api/v1/rooms/quiet/participants/bob/mute";
    api.post(path, json!({"kind": "smell", "muted": true})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"track": "TR_nope", "muted": true})).await.expect_error(404, "track_not_found");
    api.post(path, json!({"kind": "audio"})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"kind": "audio", "muted": "yes"})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"kind": "audio", "muted": true, "volume": 0})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/quiet/participants/ghost/mute", json!({"kind": "audio", "muted": true}))
        .await
        .expect_error(404, "participant_not_found");
    api.post("/api/v1/rooms/nowhere/participants/bob/mute", json!({"kind": "audio", "muted": true}))
        .await
        .expect_error(404, "room_not_found");
    // Nothing published yet: muting every audio track (or, with neither track nor kind, every
    // track) mutes nothing and returns bob.
    let bob = api.post(path, json!({"kind": "audio", "muted": true})).await.expect(200);
    assert_eq!((bob["identity"].as_str(), bob["tracks"].clone()), (Some("bob"), json!([])));
    assert_eq!(api.post(path, json!({"muted": true})).await.expect(200)["identity"], "bob");
    server.shutdown().await;
}

#[tokio::test]
async fn room_mute_returns_everyone_it_touched() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("all", Value::Null).await;
    let _alice = join(&server, "all", "alice").await;
    let _bob = join(&server, "all", "bob").await;
    let all = api.post("/api/v1/rooms/all/mute", json!({"kind": "audio"})).await.expect(200);
    assert_eq!(all["participants"].as_array().unwrap().len(), 2, "{all}");
    let some = api.post("/api/v1/rooms/all/mute", json!({"kind": "video", "except": ["alice"]})).await.expect(200);
    let ids: Vec<&str> =
        some["participants"].as_array().unwrap().iter().map(|p| p["identity"].as_str().unwrap()).collect();
    assert_eq!(ids, ["bob"]);
    api.post("/api/v1/rooms/all/mute", json!({"kind": "smell"})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/all/mute", json!({})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/all/mute", json!({"kind": "audio", "except": "alice"}))
        .await
        .expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/nowhere/mute", json!({"kind": "audio"})).await.expect_error(404, "room_not_found");
    server.shutdown().await;
}

#[tokio::test]
async fn hold_and_resume_need_a_connected_participant() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("wait", Value::Null).await;
    let _dan = join(&server, "wait", "dan").await;
    // dan has no media transports up (state `joining`): neither hold nor resume applies.
    api.post_empty("/api/v1/rooms/wait/participants/dan/hold").await.expect_error(422, "invalid_request");
    api.post_empty("/api/v1/rooms/wait/participants/dan/resume").await.expect_error(422, "invalid_request");
    assert_eq!(api.get("/api/v1/rooms/wait/participants/dan").await.expect(200)["state"], "joining");
    api.post_empty("/api/v1/rooms/wait/participants/ghost/hold").await.expect_error(404, "participant_not_found");
    api.post_empty("/api/v1/rooms/nowhere/participants/dan/resume").await.expect_error(404, "room_not_found");
    server.shutdown().await;
}

#[tokio::test]
async fn move_takes_a_participant_to_another_room() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("main-hall", Value::Null).await;
    let _alice = join(&server, "main-hall", "alice").await;
    let mut bob = join(&server, "main-hall", "bob").await;
    let path = "/api/v1/rooms/main-hall/participants/bob/move";
    api.post(path, json!({"to_room": "main-hall"})).await.expect_error(422, "invalid_request");
    api.post(path, json!({"to_room": ""})).await.expect_error(400, "invalid_request");
    api.post(path, json!({})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"to_room": 7})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/main-hall/participants/ghost/move", json!({"to_room": "breakout"}))
        .await
        .expect_error(404, "participant_not_found");
    let moved = api.post(path, json!({"to_room": "breakout"})).await.expect(200);
    assert_eq!(moved["identity"], "bob");
    let msg = next_of_type(&mut bob, "moved").await;
    assert_eq!(msg["room"]["name"], "breakout", "{msg}");
    assert_eq!(api.identities("main-hall").await, ["alice"]);
    assert_eq!(api.identities("breakout").await, ["bob"]);
    api.get("/api/v1/rooms/main-hall/participants/bob").await.expect_error(404, "participant_not_found");
    server.shutdown().await;
}

/// Polls participant `identity` until `pred` holds (media setup takes a moment).
async fn wait_for_participant(api: &Api, room: &str, identity: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = api.get(&format!("/api/v1/rooms/{room}/participants/{identity}")).await.expect(200);
        if pred(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "participant never reached the expected state: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn track_of<'a>(p: &'a Value, kind: &str) -> &'a Value {
    p["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind} track in {p}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_resume_and_mute_a_connected_participant() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::as_caller(&server, "ops");
    api.create_room("stage", Value::Null).await;
    let base = format!("http://{}", server.http_addr());
    let mut alice = TestParticipant::join(&base, &server.token("stage", "alice")).await.expect("alice joins");
    alice.publish().await.expect("alice publishes");
    let connected = |p: &Value| p["state"] == "connected" && p["tracks"].as_array().is_some_and(|t| t.len() == 2);
    let p = wait_for_participant(&api, "stage", "alice", connected).await;
    assert!(p["remote_address"].is_string(), "a connected participant has a remote address: {p}");

    // With media flowing, tracks, subscriptions and their sampled stats have the documented fields.
    let bob = TestParticipant::join(&base, &server.token("stage", "bob")).await.expect("bob joins");
    let subscriptions_sampled = |p: &Value| {
        p["subscriptions"].as_array().is_some_and(|s| s.len() == 2 && s.iter().all(|s| s["stats"].is_object()))
    };
    let bob_view = wait_for_participant(&api, "stage", "bob", subscriptions_sampled).await;
    let tracks_sampled = |p: &Value| p["tracks"].as_array().is_some_and(|t| t.iter().all(|t| t["stats"].is_object()));
    let alice_view = wait_for_participant(&api, "stage", "alice", tracks_sampled).await;
    let doc = common::openapi(&server).await;
    common::assert_matches_schema(&doc, "Participant", &alice_view);
    common::assert_matches_schema(&doc, "Track", &alice_view["tracks"][0]);
    common::assert_matches_schema(&doc, "TrackStats", &alice_view["tracks"][0]["stats"]);
    common::assert_matches_schema(&doc, "Subscription", &bob_view["subscriptions"][0]);
    common::assert_matches_schema(&doc, "TrackStats", &bob_view["subscriptions"][0]["stats"]);

    // Mute the audio track by sid: forwarding stops, the moderator is named.
    let audio_sid = track_of(&p, "audio")["sid"].as_str().unwrap().to_owned();
    let path = "/api/v1/rooms/stage/participants/alice/mute";
    let p = api.post(path, json!({"track": audio_sid, "muted": true})).await.expect(200);
    assert_eq!(
        (track_of(&p, "audio")["muted"].clone(), track_of(&p, "audio")["muted_by"].clone()),
        (json!(true), json!("ops"))
    );
    assert_eq!(track_of(&p, "video")["muted"], false);
    alice
        .wait_for_message(
            |m| m["type"] == "track_muted" && m["track"] == audio_sid.as_str() && m["by"] == "ops",
            Duration::from_secs(5),
        )
        .await
        .expect("alice is told who muted her");
    // Unmute is only a request without allow_remote_unmute.
    let p = api.post(path, json!({"track": audio_sid, "muted": false})).await.expect(200);
    assert_eq!(track_of(&p, "audio")["muted"], true);
    alice
        .wait_for_message(|m| m["type"] == "unmute_requested" && m["by"] == "ops", Duration::from_secs(5))
        .await
        .expect("alice is asked to unmute");
    // With allow_remote_unmute it applies at once; and by kind.
    api.patch("/api/v1/rooms/stage", json!({"allow_remote_unmute": true})).await.expect(200);
    let p = api.post(path, json!({"kind": "audio", "muted": false})).await.expect(200);
    assert_eq!(track_of(&p, "audio")["muted"], false);
    let p = api.post(path, json!({"kind": "video", "muted": true})).await.expect(200);
    assert_eq!(track_of(&p, "video")["muted"], true);

    // Hold and resume.
    let held = api.post_empty("/api/v1/rooms/stage/participants/alice/hold").await.expect(200);
    assert_eq!(held["state"], "on_hold");
    alice
        .wait_for_message(|m| m["type"] == "on_hold" && m["by"] == "ops", Duration::from_secs(5))
        .await
        .expect("on_hold");
    assert_eq!(
        api.post_empty("/api/v1/rooms/stage/participants/alice/hold").await.expect(200)["state"],
        "on_hold",
        "idempotent"
    );
    let resumed = api.post_empty("/api/v1/rooms/stage/participants/alice/resume").await.expect(200);
    assert_eq!(resumed["state"], "connected");
    alice
        .wait_for_message(|m| m["type"] == "resumed" && m["by"] == "ops", Duration::from_secs(5))
        .await
        .expect("resumed");
    let _ = alice.leave().await;
    let _ = bob.leave().await;
    server.shutdown().await;
}
