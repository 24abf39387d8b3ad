//! Call states and disconnect reasons, seen from the three places that show them: the other
//! members of the room (`participant_left.reason`, `participant_updated.state`), the admin event
//! stream (`participant_left` / `participant_state_changed` events) and the session records
//! (`leave_reason` of each leg).
//!
//! One room with an observer sees, one after the other: `left` (the client sends `leave`),
//! `removed` (admin DELETE of the participant), `replaced` (the same identity joins again: the
//! old session gets `removed{reason:"replaced"}` and close 4009, the new one stays), `moved`
//! (admin move to another room), `timeout` (the WebSocket drops without a close) and
//! `room_ended` (admin DELETE of the room: the observer itself gets
//! `removed{reason:"room_ended"}`). A participant with real media (a webrtc-rs kit participant)
//! goes `joining` → `connected`, then `on_hold` and back to `connected` through the admin API.

mod common;

use common::sse::{is, EventStream, SseEvent};
use common::{closed, connect, ended_session, legs, next, next_of_type, send_json, spawn_test_server, Api, Ws};
use futures_util::SinkExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use switchboard::RunningServer;
use switchboard_tests::TestParticipant;
use tokio_tungstenite::tungstenite::Message;

const ROOM: &str = "calls";

/// Joins `room` as `identity`; returns the socket and the participant sid from `joined`.
async fn join_with_sid(server: &RunningServer, room: &str, identity: &str) -> (Ws, String) {
    let mut ws = connect(server, &server.token(room, identity)).await;
    let joined = next(&mut ws).await.expect("a first message");
    assert_eq!(joined["type"], "joined", "{joined}");
    let sid = joined["participant"]["sid"].as_str().expect("joined.participant.sid").to_owned();
    (ws, sid)
}

/// The next `participant_left` the observer receives: it must be about `identity` (sid `sid`),
/// with `reason`.
#[track_caller]
fn assert_left(msg: &Value, identity: &str, sid: &str, reason: &str) {
    assert_eq!(
        (msg["identity"].as_str(), msg["participant"].as_str(), msg["reason"].as_str()),
        (Some(identity), Some(sid), Some(reason)),
        "participant_left as seen by the observer: {msg}"
    );
}

/// `(identity, sid, reason)` of a `participant_left` event.
fn departure(e: &SseEvent) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or("<none>").to_owned();
    (s(&e.data["participant"]), s(&e.data["data"]["sid"]), s(&e.data["data"]["reason"]))
}

fn triple(identity: &str, sid: &str, reason: &str) -> (String, String, String) {
    (identity.to_owned(), sid.to_owned(), reason.to_owned())
}

#[tokio::test]
async fn each_disconnect_reason_reaches_members_events_and_records() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::as_caller(&server, "ops");
    let mut events = EventStream::open(&server, "", &[]).await;
    api.create_room(ROOM, Value::Null).await;
    let (mut observer, observer_sid) = join_with_sid(&server, ROOM, "observer").await;

    // left: the client sends `leave`; the server closes with 1000.
    let (mut leaver, leaver_sid) = join_with_sid(&server, ROOM, "leaver").await;
    leaver.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    assert_eq!(closed(&mut leaver).await, 1000, "leave closes normally");
    assert_left(&next_of_type(&mut observer, "participant_left").await, "leaver", &leaver_sid, "left");

    // removed: admin DELETE of the participant.
    let (mut kicked, kicked_sid) = join_with_sid(&server, ROOM, "kicked").await;
    api.delete(&format!("/api/v1/rooms/{ROOM}/participants/kicked")).await.expect(204);
    assert_eq!(next_of_type(&mut kicked, "removed").await["reason"], "removed");
    assert_eq!(closed(&mut kicked).await, 1000);
    assert_left(&next_of_type(&mut observer, "participant_left").await, "kicked", &kicked_sid, "removed");

    // replaced: the same identity joins again; the old session is told and closed with 4009,
    // the new one stays.
    let (mut twin_old, twin_old_sid) = join_with_sid(&server, ROOM, "twin").await;
    let (mut twin_new, twin_new_sid) = join_with_sid(&server, ROOM, "twin").await;
    assert_ne!(twin_old_sid, twin_new_sid, "a new session, a new sid");
    assert_eq!(next_of_type(&mut twin_old, "removed").await["reason"], "replaced");
    assert_eq!(closed(&mut twin_old).await, 4009, "the replaced session closes with 4009");
    assert_left(&next_of_type(&mut observer, "participant_left").await, "twin", &twin_old_sid, "replaced");
    let rejoined = next_of_type(&mut observer, "participant_joined").await;
    assert_eq!(rejoined["participant"]["sid"], twin_new_sid.as_str(), "{rejoined}");
    send_json(&mut twin_new, json!({"type": "ping", "ts": 7})).await;
    assert_eq!(next_of_type(&mut twin_new, "pong").await["ts"].as_f64(), Some(7.0), "the new session stays open");
    let listed = api.get(&format!("/api/v1/rooms/{ROOM}/participants/twin")).await.expect(200);
    assert_eq!(listed["sid"], twin_new_sid.as_str(), "the room lists the new session: {listed}");

    // moved: admin move to another room; the mover's socket stays and is told where it went.
    let (mut mover, mover_sid) = join_with_sid(&server, ROOM, "mover").await;
    api.post(&format!("/api/v1/rooms/{ROOM}/participants/mover/move"), json!({"to_room": "calls-2"}))
        .await
        .expect(200);
    assert_eq!(next_of_type(&mut mover, "moved").await["room"]["name"], "calls-2");
    assert_left(&next_of_type(&mut observer, "participant_left").await, "mover", &mover_sid, "moved");

    // timeout: the WebSocket drops without a close frame and without `leave`; it leaves once its
    // resume window (1 s in tests) has passed.
    let (dropper, dropper_sid) = join_with_sid(&server, ROOM, "dropper").await;
    drop(dropper);
    assert_left(&next_of_type(&mut observer, "participant_left").await, "dropper", &dropper_sid, "timeout");

    // room_ended: admin DELETE of the room; everyone left in it is removed and closed.
    api.delete(&format!("/api/v1/rooms/{ROOM}")).await.expect(204);
    assert_eq!(next_of_type(&mut observer, "removed").await["reason"], "room_ended");
    assert_eq!(closed(&mut observer).await, 1000);
    assert_eq!(next_of_type(&mut twin_new, "removed").await["reason"], "room_ended");
    assert_eq!(closed(&mut twin_new).await, 1000);

    // The event stream: one `participant_left` per departure, with the same sid and reason.
    let seen = events.until(|e| e.event == "room_ended" && e.data["room"] == ROOM).await;
    let departures: Vec<_> =
        seen.iter().filter(|e| e.event == "participant_left" && e.data["room"] == ROOM).map(departure).collect();
    let in_order = [
        triple("leaver", &leaver_sid, "left"),
        triple("kicked", &kicked_sid, "removed"),
        triple("twin", &twin_old_sid, "replaced"),
        triple("mover", &mover_sid, "moved"),
        triple("dropper", &dropper_sid, "timeout"),
    ];
    let at_the_end: BTreeSet<_> =
        [triple("observer", &observer_sid, "room_ended"), triple("twin", &twin_new_sid, "room_ended")].into();
    assert_eq!(departures.len(), 7, "{departures:#?}");
    assert_eq!(departures[..5], in_order, "departures in the order they happened");
    assert_eq!(departures[5..].iter().cloned().collect::<BTreeSet<_>>(), at_the_end);
    // The moved participant's event names where it went.
    let moved = seen.iter().find(|e| is(e, "participant_left", "mover")).unwrap();
    assert_eq!(moved.data["data"]["to_room"], "calls-2", "{:?}", moved.data);

    // The session record: one leg per stay, each with its reason (two for the replaced identity).
    let session = ended_session(&api, ROOM).await;
    let mut recorded = legs(&session);
    recorded.sort();
    let mut expected: Vec<_> = in_order.iter().cloned().chain(at_the_end.iter().cloned()).collect();
    expected.sort();
    assert_eq!(recorded, expected, "legs of {session:#}");
    assert_eq!(session["peak_participants"], 3, "observer, twin and one more at most: {session}");

    // The moved participant has a leg in the other room's session, still open.
    let other = common::eventually(&api, "/api/v1/sessions?room=calls-2", |p| p["sessions"][0]["participants"] == 1).await;
    let other = api.get(&format!("/api/v1/sessions/{}", other["sessions"][0]["id"].as_str().unwrap())).await.expect(200);
    let other_legs = legs(&other);
    assert_eq!(other_legs, [triple("mover", &mover_sid, "<none>")], "{other:#}");
    assert!(other["participants"][0]["left_at"].is_null(), "{other:#}");

    mover.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    assert_eq!(closed(&mut mover).await, 1000);
    drop(events);
    server.shutdown().await;
}

/// Polls the admin API's view of `identity` until its `state` is `want` (20 s at most).
async fn wait_state(api: &Api, room: &str, identity: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = api.get(&format!("/api/v1/rooms/{room}/participants/{identity}")).await.expect(200);
        if p["state"] == want {
            return p;
        }
        assert!(Instant::now() < deadline, "{identity} never became {want}: {p}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next `participant_updated` about `identity` that the observer receives.
async fn next_update(observer: &mut Ws, identity: &str) -> Value {
    loop {
        let m = next_of_type(observer, "participant_updated").await;
        if m["participant"]["identity"] == identity {
            return m;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_with_media_goes_joining_connected_on_hold_and_back() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::as_caller(&server, "ops");
    let room = "states";
    let mut events = EventStream::open(&server, "", &[]).await;
    api.create_room(room, Value::Null).await;
    let (mut observer, _) = join_with_sid(&server, room, "observer").await;

    // Joined, no transport up yet: `joining` everywhere.
    let mut alice =
        TestParticipant::join(&common::kit_base(&server), &server.token(room, "alice")).await.expect("alice joins");
    assert_eq!(alice.joined().participant.state, "joining");
    let arrived = next_of_type(&mut observer, "participant_joined").await;
    let arrived = &arrived["participant"];
    assert_eq!((&arrived["identity"], &arrived["state"]), (&json!("alice"), &json!("joining")));
    // Nobody publishes yet, so the server offers alice nothing: she stays `joining`.
    assert_eq!(api.get(&format!("/api/v1/rooms/{room}/participants/alice")).await.expect(200)["state"], "joining");

    // Media up: `connected`.
    alice.publish().await.expect("alice publishes");
    let connected = wait_state(&api, room, "alice", "connected").await;
    assert!(connected["remote_address"].is_string(), "{connected}");
    assert_eq!(next_update(&mut observer, "alice").await["participant"]["state"], "connected");

    // Admin hold: `on_hold`, then resume: `connected` again.
    let held = api.post_empty(&format!("/api/v1/rooms/{room}/participants/alice/hold")).await.expect(200);
    assert_eq!(held["state"], "on_hold");
    assert_eq!(api.get(&format!("/api/v1/rooms/{room}/participants/alice")).await.expect(200)["state"], "on_hold");
    assert_eq!(next_update(&mut observer, "alice").await["participant"]["state"], "on_hold");
    alice
        .wait_for_message(|m| m["type"] == "on_hold" && m["by"] == "ops", Duration::from_secs(5))
        .await
        .expect("alice is told she is on hold");
    let resumed = api.post_empty(&format!("/api/v1/rooms/{room}/participants/alice/resume")).await.expect(200);
    assert_eq!(resumed["state"], "connected");
    assert_eq!(next_update(&mut observer, "alice").await["participant"]["state"], "connected");

    // The event stream has the same transitions, in order, the moderator named on hold/resume.
    let resumed_event = |e: &SseEvent| {
        let d = &e.data["data"];
        is(e, "participant_state_changed", "alice") && d["state"] == "connected" && d["by"] == "ops"
    };
    let seen = events.until(resumed_event).await;
    let transitions: Vec<(String, Value)> = seen
        .iter()
        .filter(|e| is(e, "participant_state_changed", "alice"))
        .map(|e| (e.data["data"]["state"].as_str().unwrap().to_owned(), e.data["data"]["by"].clone()))
        .collect();
    assert_eq!(
        transitions,
        [("connected".into(), Value::Null), ("on_hold".into(), json!("ops")), ("connected".into(), json!("ops"))],
        "{seen:#?}"
    );
    let joined_at = seen.iter().position(|e| is(e, "participant_joined", "alice")).expect("alice's join event");
    let first_change = seen.iter().position(|e| is(e, "participant_state_changed", "alice")).unwrap();
    assert!(joined_at < first_change, "joined before connected: {seen:#?}");
    let connect = &seen[first_change].data["data"];
    assert!(connect["join_latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{connect}");

    alice.leave().await.expect("alice leaves");
    drop(events);
    server.shutdown().await;
}
