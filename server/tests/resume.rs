//! Resume: a participant whose WebSocket drops stays in the room, `reconnecting`, for the
//! resume window; a new connection with the `resume_token` of its `joined` gets the same sid,
//! call state, permissions and raised hand back (`joined` with `resumed: true`), and the others
//! see `participant_updated` (reconnecting, then back), never a leave or a join. After the
//! window, or with another identity's token, the connection joins as a new participant.

mod common;

use common::{connect, next, send_json, Api};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::testing::{spawn_test_server_with, test_config};
use switchboard::RunningServer;

async fn server(resume_window_s: u64) -> RunningServer {
    spawn_test_server_with(switchboard::Config { ice_timeout_s: 120, resume_window_s, ..test_config() }).await.unwrap()
}

/// Joins and returns the socket with its `joined`.
async fn join(server: &RunningServer, identity: &str, resume_token: Option<&str>) -> (common::Ws, Value) {
    let token = server.token("r", identity);
    let mut ws = match resume_token {
        Some(t) => {
            let url = format!("ws://{}/ws?access_token={token}&resume_token={t}", server.http_addr());
            tokio_tungstenite::connect_async(url).await.expect("websocket connects").0
        }
        None => connect(server, &token).await,
    };
    let joined = next(&mut ws).await.expect("joined");
    assert_eq!(joined["type"], "joined", "{joined}");
    (ws, joined)
}

/// Messages `ws` gets about `identity` until one satisfies `done` (which is returned last).
async fn about_until(ws: &mut common::Ws, identity: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let msg = next(ws).await.expect("the socket stays open");
        let who = msg["participant"]["identity"].as_str().or(msg["identity"].as_str());
        if who != Some(identity) {
            continue;
        }
        let end = done(&msg);
        seen.push(msg);
        if end {
            return seen;
        }
    }
}

fn state_is(state: &'static str) -> impl Fn(&Value) -> bool {
    move |m: &Value| m["type"] == "participant_updated" && m["participant"]["state"] == state
}

#[tokio::test]
async fn a_dropped_participant_resumes_with_its_sid_state_permissions_and_hand() {
    let server = server(20).await;
    let api = Api::new(&server);
    let (mut host, _) = join(&server, "host", None).await;
    let (mut guest, joined) = join(&server, "guest", None).await;
    assert_eq!(joined["resumed"], false);
    assert_eq!(joined["resume_window_s"], 20);
    let token = joined["resume_token"].as_str().expect("a resume token").to_owned();
    assert!(token.len() >= 32, "a secret, not a guessable id: {token}");
    let sid = joined["participant"]["sid"].clone();
    let _ = about_until(&mut host, "guest", |m| m["type"] == "participant_joined").await;

    send_json(&mut guest, json!({"type": "set_hand_raised", "raised": true})).await;
    api.patch("/api/v1/rooms/r/participants/guest", json!({"permissions": {"can_publish_data": false}})).await.expect(200);
    let _ = about_until(&mut host, "guest", |m| m["participant"]["permissions"]["can_publish_data"] == false).await;

    drop(guest); // the network goes: no close frame, no leave
    let lost = about_until(&mut host, "guest", state_is("reconnecting")).await;
    assert!(lost.iter().all(|m| m["type"] == "participant_updated"), "no leave: {lost:?}");
    let view = api.get("/api/v1/rooms/r/participants/guest").await.expect(200);
    assert_eq!(view["state"], "reconnecting", "{view}");

    let (mut guest, joined) = join(&server, "guest", Some(&token)).await;
    assert_eq!(joined["resumed"], true, "{joined}");
    assert_eq!(joined["participant"]["sid"], sid, "the same participant");
    assert_eq!(joined["participant"]["state"], "joining", "the state it had: {joined}");
    assert_eq!(joined["participant"]["hand_raised"], true, "{joined}");
    assert_eq!(joined["participant"]["permissions"]["can_publish_data"], false, "{joined}");
    assert_eq!(joined["participants"].as_array().map(|p| p.len()), Some(1), "the host, not itself: {joined}");
    let back = about_until(&mut host, "guest", state_is("joining")).await;
    assert!(back.iter().all(|m| m["type"] == "participant_updated"), "no leave, no join: {back:?}");
    let view = api.get("/api/v1/rooms/r/participants").await.expect(200);
    assert_eq!(view["participants"].as_array().map(|p| p.len()), Some(2), "{view}");

    // The resumed connection is the participant's: what it sends is acted on.
    send_json(&mut guest, json!({"type": "set_hand_raised", "raised": false})).await;
    let lowered = about_until(&mut host, "guest", |m| m["participant"]["hand_raised"] == false).await;
    assert_eq!(lowered.last().unwrap()["participant"]["sid"], sid);
}

#[tokio::test]
async fn after_the_window_it_has_left_and_a_reconnection_joins_as_new() {
    let server = server(1).await;
    let (mut host, _) = join(&server, "host", None).await;
    let (guest, joined) = join(&server, "guest", None).await;
    let token = joined["resume_token"].as_str().unwrap().to_owned();
    drop(guest);
    let _ = about_until(&mut host, "guest", state_is("reconnecting")).await;
    let left = about_until(&mut host, "guest", |m| m["type"] == "participant_left").await;
    assert_eq!(left.last().unwrap()["reason"], "timeout");
    let (_guest, again) = join(&server, "guest", Some(&token)).await;
    assert_eq!(again["resumed"], false, "{again}");
    assert_ne!(again["participant"]["sid"], joined["participant"]["sid"], "a new participant");
}

#[tokio::test]
async fn a_resume_token_does_not_work_for_another_identity_and_a_zero_window_leaves_at_once() {
    let server = server(20).await;
    let (mut host, _) = join(&server, "host", None).await;
    let (guest, joined) = join(&server, "guest", None).await;
    let token = joined["resume_token"].as_str().unwrap().to_owned();
    drop(guest);
    let _ = about_until(&mut host, "guest", state_is("reconnecting")).await;
    let (_intruder, other) = join(&server, "intruder", Some(&token)).await;
    assert_eq!(other["resumed"], false, "{other}");
    assert_eq!(other["participant"]["identity"], "intruder");
    let view = Api::new(&server).get("/api/v1/rooms/r/participants/guest").await.expect(200);
    assert_eq!(view["state"], "reconnecting", "the guest is untouched: {view}");

    let server = self::server(0).await;
    let (mut host, _) = join(&server, "host", None).await;
    let (guest, joined) = join(&server, "guest", None).await;
    assert_eq!(joined["resume_window_s"], 0);
    drop(guest);
    let left = tokio::time::timeout(Duration::from_secs(5), about_until(&mut host, "guest", |m| m["type"] == "participant_left"))
        .await
        .expect("left at once");
    assert!(left.iter().all(|m| m["participant"]["state"] != "reconnecting"), "{left:?}");
}
