//! A raised hand is server state, not a chat message: `set_hand_raised` is announced to everyone
//! as `participant_updated`, shows in the admin API and the event stream (what the dashboard
//! reads), needs no permission (it is how a viewer asks to speak), and a moderator lowers it.

mod common;

use common::sse::{is, EventStream};
use common::{join, next_of_type, send_json, spawn_test_server, Api};
use serde_json::{json, Value};

/// The next `participant_updated` about `identity`.
async fn update_of(ws: &mut common::Ws, identity: &str) -> Value {
    loop {
        let msg = next_of_type(ws, "participant_updated").await;
        if msg["participant"]["identity"] == identity {
            return msg["participant"].clone();
        }
    }
}

#[tokio::test]
async fn a_raised_hand_reaches_everyone_the_api_and_the_event_stream_and_a_moderator_lowers_it() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("town-hall", Value::Null).await;
    let mut events = EventStream::open(&server, "", &[]).await;
    let mut host = join(&server, "town-hall", "host").await;
    let mut viewer = join(&server, "town-hall", "viewer").await;
    // A viewer who may neither publish nor send data may still raise its hand.
    let muted = json!({"permissions": {"can_publish": false, "can_publish_data": false}});
    api.patch("/api/v1/rooms/town-hall/participants/viewer", muted).await.expect(200);
    let _ = update_of(&mut host, "viewer").await;
    let _ = update_of(&mut viewer, "viewer").await;

    send_json(&mut viewer, json!({"type": "set_hand_raised", "raised": true})).await;
    let seen_by_host = update_of(&mut host, "viewer").await;
    assert_eq!(seen_by_host["hand_raised"], true, "{seen_by_host}");
    assert!(seen_by_host["hand_raised_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{seen_by_host}");
    assert_eq!(update_of(&mut viewer, "viewer").await["hand_raised"], true, "the participant sees its own hand");

    let view = api.get("/api/v1/rooms/town-hall/participants/viewer").await.expect(200);
    assert_eq!(view["hand_raised"], true, "{view}");
    assert_eq!(view["hand_raised_at"], seen_by_host["hand_raised_at"]);
    let listed = api.get("/api/v1/rooms/town-hall/participants").await.expect(200);
    let hands: Vec<(&str, bool)> = listed["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["identity"].as_str().unwrap(), p["hand_raised"].as_bool().unwrap()))
        .collect();
    assert_eq!(hands, [("host", false), ("viewer", true)]);
    let raised = events
        .until(|e| is(e, "participant_updated", "viewer") && e.data["data"]["hand_raised"] == true)
        .await;
    assert_eq!(raised.last().unwrap().data["data"]["hand_raised_at"], seen_by_host["hand_raised_at"]);

    // Raising twice changes nothing (no second announcement, same time).
    send_json(&mut viewer, json!({"type": "set_hand_raised", "raised": true})).await;
    // A moderator cannot raise someone's hand, only lower it.
    api.patch("/api/v1/rooms/town-hall/participants/viewer", json!({"hand_raised": true}))
        .await
        .expect_error(422, "invalid_request");
    let lowered = api.patch("/api/v1/rooms/town-hall/participants/viewer", json!({"hand_raised": false})).await.expect(200);
    assert_eq!(lowered["hand_raised"], false, "{lowered}");
    assert!(lowered.get("hand_raised_at").is_none(), "{lowered}");
    let update = update_of(&mut viewer, "viewer").await;
    assert_eq!(update["hand_raised"], false, "the moderator's lowering reached the participant: {update}");
    let seen_by_host = update_of(&mut host, "viewer").await;
    assert_eq!(seen_by_host["hand_raised"], false, "{seen_by_host}");
    events.until(|e| is(e, "participant_updated", "viewer") && e.data["data"]["hand_raised"] == false).await;

    // The participant lowers its own hand too; a malformed message is a clear error.
    send_json(&mut viewer, json!({"type": "set_hand_raised", "raised": true})).await;
    assert_eq!(update_of(&mut host, "viewer").await["hand_raised"], true);
    send_json(&mut viewer, json!({"type": "set_hand_raised", "raised": false})).await;
    assert_eq!(update_of(&mut host, "viewer").await["hand_raised"], false);
    send_json(&mut viewer, json!({"type": "set_hand_raised", "raised": "yes"})).await;
    let error = next_of_type(&mut viewer, "error").await;
    assert_eq!(error["code"], "invalid_message", "{error}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_room_admin_lowers_a_hand_with_moderate() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("class", Value::Null).await;
    let mut teacher = join(&server, "class", "teacher").await;
    let mut pupil = join(&server, "class", "pupil").await;
    let admin = json!({"permissions": {"room_admin": true}});
    api.patch("/api/v1/rooms/class/participants/teacher", admin).await.expect(200);
    send_json(&mut pupil, json!({"type": "set_hand_raised", "raised": true})).await;
    loop {
        if update_of(&mut teacher, "pupil").await["hand_raised"] == true {
            break;
        }
    }
    send_json(&mut teacher, json!({"type": "moderate", "action": "lower_hand", "identity": "pupil"})).await;
    let result = next_of_type(&mut teacher, "moderate_result").await;
    assert_eq!(result["result"]["hand_raised"], false, "{result}");
    loop {
        if update_of(&mut pupil, "pupil").await["hand_raised"] == false {
            break;
        }
    }
    server.shutdown().await;
}
