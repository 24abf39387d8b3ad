//! Participants over the admin API: list (wrapped, with call state and permissions), get, live
//! patch, remove with a reason (the token stops working), ban and lift the ban, and the 400/404/422
//! answers to bad input.

mod common;

use common::{closed, connect, join, next, next_of_type, Api};
use serde_json::{json, Value};
use common::spawn_test_server;

#[tokio::test]
async fn list_and_get_show_state_permissions_and_tracks() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("crew", Value::Null).await;
    let _alice = join(&server, "crew", "alice").await;
    let _bob = join(&server, "crew", "bob").await;
    let list = api.get("/api/v1/rooms/crew/participants").await.expect(200);
    let participants = list["participants"].as_array().expect("wrapped in {\"participants\": [...]}");
    assert_eq!(participants.len(), 2);
    assert_eq!(api.identities("crew").await, ["alice", "bob"]);
    let alice = api.get("/api/v1/rooms/crew/participants/alice").await.expect(200);
    assert_eq!(alice["identity"], "alice");
    assert_eq!(alice["name"], "alice");
    assert!(alice["sid"].as_str().unwrap().starts_with("PA_"), "{alice}");
    assert_eq!(alice["state"], "joining", "no media transports yet");
    assert_eq!(alice["permissions"]["can_publish"], true);
    assert_eq!(alice["tracks"], json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_room_or_participant_is_404() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("empty", Value::Null).await;
    api.get("/api/v1/rooms/nowhere/participants").await.expect_error(404, "room_not_found");
    api.get("/api/v1/rooms/empty/participants/ghost").await.expect_error(404, "participant_not_found");
    api.patch("/api/v1/rooms/empty/participants/ghost", json!({"name": "G"}))
        .await
        .expect_error(404, "participant_not_found");
    api.delete("/api/v1/rooms/empty/participants/ghost").await.expect_error(404, "participant_not_found");
    api.get("/api/v1/rooms/nowhere/bans").await.expect_error(404, "room_not_found");
    server.shutdown().await;
}

#[tokio::test]
async fn patch_changes_name_metadata_and_permissions_live() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("live", Value::Null).await;
    let mut alice = join(&server, "live", "alice").await;
    let mut bob = join(&server, "live", "bob").await;
    let _ = next_of_type(&mut alice, "participant_joined").await;
    let body = json!({"name": "Bob B.", "metadata": {"hand": "raised"}, "permissions": {"can_publish": false, "can_publish_data": false}});
    let bob_view = api.patch("/api/v1/rooms/live/participants/bob", body).await.expect(200);
    assert_eq!(bob_view["name"], "Bob B.");
    assert_eq!(bob_view["metadata"], json!({"hand": "raised"}));
    assert_eq!(bob_view["permissions"]["can_publish"], false);
    assert_eq!(bob_view["permissions"]["can_subscribe"], true, "omitted permission fields take their defaults");
    let updated = next_of_type(&mut alice, "participant_updated").await;
    assert_eq!(updated["participant"]["name"], "Bob B.");
    let own = next_of_type(&mut bob, "participant_updated").await;
    assert_eq!(own["participant"]["permissions"]["can_publish"], false);
    // Bad input changes nothing.
    api.patch("/api/v1/rooms/live/participants/bob", json!({"permissions": {"can_fly": true}}))
        .await
        .expect_error(400, "invalid_request");
    api.patch("/api/v1/rooms/live/participants/bob", json!({"nickname": "b"}))
        .await
        .expect_error(400, "invalid_request");
    api.patch("/api/v1/rooms/live/participants/bob", json!({"name": ""})).await.expect_error(422, "invalid_request");
    assert_eq!(api.get("/api/v1/rooms/live/participants/bob").await.expect(200)["name"], "Bob B.");
    server.shutdown().await;
}

#[tokio::test]
async fn remove_tells_the_reason_and_revokes_the_token() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("kick", Value::Null).await;
    let token = server.token("kick", "mallory");
    let mut mallory = connect(&server, &token).await;
    assert_eq!(next(&mut mallory).await.unwrap()["type"], "joined");
    let _bob = join(&server, "kick", "bob").await;
    let reply = api.delete("/api/v1/rooms/kick/participants/mallory?reason=spamming%20the%20chat").await;
    assert_eq!((reply.status, reply.body), (204, Value::Null));
    let removed = next_of_type(&mut mallory, "removed").await;
    assert_eq!(removed["reason"], "spamming the chat");
    assert_eq!(closed(&mut mallory).await, 1000);
    assert_eq!(api.identities("kick").await, ["bob"]);
    // The same token no longer admits mallory.
    let mut again = connect(&server, &token).await;
    let refused = next(&mut again).await.unwrap();
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("token_revoked")),
        "{refused}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn ban_keeps_an_identity_out_until_lifted() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("banned", Value::Null).await;
    let mut eve = join(&server, "banned", "eve").await;
    assert_eq!(api.delete("/api/v1/rooms/banned/participants/eve?ban=true").await.status, 204);
    assert_eq!(next_of_type(&mut eve, "removed").await["reason"], "removed");
    assert_eq!(api.get("/api/v1/rooms/banned/bans").await.expect(200), json!({"bans": ["eve"]}));
    // A fresh token does not help.
    let mut again = connect(&server, &server.token("banned", "eve")).await;
    assert_eq!(next(&mut again).await.unwrap()["code"], "banned");
    assert_eq!(closed(&mut again).await, 4003);
    // Lift it: the list empties and eve may come back.
    assert_eq!(api.delete("/api/v1/rooms/banned/bans/eve").await.status, 204);
    assert_eq!(api.get("/api/v1/rooms/banned/bans").await.expect(200), json!({"bans": []}));
    api.delete("/api/v1/rooms/banned/bans/eve").await.expect_error(404, "participant_not_found");
    let _eve = join(&server, "banned", "eve").await;
    // Banning someone absent is still a ban.
    assert_eq!(api.delete("/api/v1/rooms/banned/participants/trent?ban=true&reason=pre-emptive").await.status, 204);
    assert_eq!(api.get("/api/v1/rooms/banned/bans").await.expect(200), json!({"bans": ["trent"]}));
    server.shutdown().await;
}

#[tokio::test]
async fn remove_options_are_checked_as_query_parameters() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("query", Value::Null).await;
    let _carol = join(&server, "query", "carol").await;
    for query in ["ban=maybe", "ban=1", "ban=true&colour=red"] {
        api.delete(&format!("/api/v1/rooms/query/participants/carol?{query}")).await.expect_error(400, "invalid_query");
    }
    assert_eq!(api.identities("query").await, ["carol"], "a refused request removes no one");
    server.shutdown().await;
}
