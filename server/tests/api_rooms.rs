//! Rooms over the admin API: create (201 with the object), list (wrapped), get, patch (200 with
//! the updated object), end (204, everyone disconnected with `room_ended`), and each class of bad
//! input: 400 malformed or ill-shaped JSON, 415 without a JSON content type, 404 unknown room,
//! 409 existing room, 400 values against their rules, 422 requests the room cannot carry out, JSON 405 for a wrong method.

mod common;

use common::{closed, join, next_of_type, Api};
use reqwest::Method;
use serde_json::{json, Value};
use common::spawn_test_server;

#[tokio::test]
async fn create_list_get_patch_and_end_a_room() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    let created =
        api.create_room("standup", json!({"max_participants": 8, "lobby": true, "metadata": {"team": "media"}})).await;
    assert_eq!(created["name"], "standup");
    assert_eq!(created["max_participants"], 8);
    assert_eq!(created["lobby"], true);
    assert_eq!(created["allow_remote_unmute"], false, "absent settings take the defaults");
    assert_eq!(created["metadata"], json!({"team": "media"}));
    assert_eq!(created["num_participants"], 0);
    let created_at = created["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z') && created_at.contains('T'), "RFC 3339 UTC: {created_at}");

    let list = api.get("/api/v1/rooms").await.expect(200);
    let names: Vec<&str> = list["rooms"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["standup"]);

    assert_eq!(api.get("/api/v1/rooms/standup").await.expect(200), created);

    let patched =
        api.patch("/api/v1/rooms/standup", json!({"lobby": false, "allow_remote_unmute": true})).await.expect(200);
    assert_eq!((patched["lobby"].clone(), patched["allow_remote_unmute"].clone()), (json!(false), json!(true)));
    assert_eq!(patched["max_participants"], 8, "absent fields stay as they are");
    assert_eq!(api.get("/api/v1/rooms/standup").await.expect(200)["allow_remote_unmute"], true);

    let end = api.delete("/api/v1/rooms/standup").await;
    assert_eq!((end.status, end.body), (204, Value::Null));
    api.get("/api/v1/rooms/standup").await.expect_error(404, "room_not_found");
    assert_eq!(api.get("/api/v1/rooms").await.expect(200), json!({"rooms": []}));
    server.shutdown().await;
}

#[tokio::test]
async fn ending_a_room_disconnects_everyone_with_room_ended() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("town-hall", Value::Null).await;
    let mut alice = join(&server, "town-hall", "alice").await;
    let mut bob = join(&server, "town-hall", "bob").await;
    assert_eq!(api.get("/api/v1/rooms/town-hall").await.expect(200)["num_participants"], 2);
    assert_eq!(api.delete("/api/v1/rooms/town-hall").await.status, 204);
    for ws in [&mut alice, &mut bob] {
        let removed = next_of_type(ws, "removed").await;
        assert_eq!(removed["reason"], "room_ended");
        assert_eq!(closed(ws).await, 1000);
    }
    api.delete("/api/v1/rooms/town-hall").await.expect_error(404, "room_not_found");
    server.shutdown().await;
}

#[tokio::test]
async fn an_existing_room_is_409_and_bad_names_are_400() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("dup", Value::Null).await;
    api.post("/api/v1/rooms", json!({"name": "dup"})).await.expect_error(409, "room_exists");
    for bad in ["", "has space", "a/b", &"x".repeat(65)] {
        api.post("/api/v1/rooms", json!({"name": bad})).await.expect_error(400, "invalid_request");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_and_ill_shaped_bodies_are_400_never_500() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("shape", Value::Null).await;
    let json_body = |s: &str| Some(("application/json", s.as_bytes().to_vec()));
    let cases: [(&str, &str, &str); 9] = [
        ("/api/v1/rooms", "{\"name\": ", "invalid_json"),
        ("/api/v1/rooms", "not json at all", "invalid_json"),
        ("/api/v1/rooms", "[]", "invalid_request"),
        ("/api/v1/rooms", "{}", "invalid_request"),
        ("/api/v1/rooms", r#"{"name": 42}"#, "invalid_request"),
        ("/api/v1/rooms", r#"{"name": "x", "lobby": "yes"}"#, "invalid_request"),
        ("/api/v1/rooms", r#"{"name": "x", "max_participants": -1}"#, "invalid_request"),
        ("/api/v1/rooms", r#"{"name": "x", "colour": "blue"}"#, "invalid_request"),
        ("/api/v1/rooms", r#"{"name": "x", "empty_timeout_s": 1.5}"#, "invalid_request"),
    ];
    for (path, body, code) in cases {
        api.raw(Method::POST, path, json_body(body), &[]).await.expect_error(400, code);
    }
    for (body, code) in [
        ("{lobby", "invalid_json"),
        (r#"{"lobby": 1}"#, "invalid_request"),
        (r#"{"name": "renamed"}"#, "invalid_request"),
    ] {
        api.raw(Method::PATCH, "/api/v1/rooms/shape", json_body(body), &[]).await.expect_error(400, code);
    }
    // A body that is not declared as JSON.
    let reply = api.raw(Method::POST, "/api/v1/rooms", Some(("text/plain", b"{\"name\":\"t\"}".to_vec())), &[]).await;
    reply.expect_error(415, "unsupported_media_type");
    let reply = api.raw(Method::POST, "/api/v1/rooms", None, &[]).await;
    reply.expect_error(415, "unsupported_media_type");
    // Nothing was created by any of these.
    let names = api.get("/api/v1/rooms").await.expect(200);
    assert_eq!(names["rooms"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn numeric_settings_outside_their_range_are_400_naming_the_field() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    // u64::MAX seconds once panicked the room's task (an Instant overflow) after the room was made.
    let huge = json!({"name": "big", "empty_timeout_s": u64::MAX});
    let reply = api.post("/api/v1/rooms", huge).await;
    let body = reply.expect_error(400, "invalid_request").body;
    assert!(body["error"]["message"].as_str().unwrap().contains("empty_timeout_s"), "{body}");
    let body = api.post("/api/v1/rooms", json!({"name": "big", "max_participants": 100_001})).await.expect_error(400, "invalid_request").body;
    assert!(body["error"]["message"].as_str().unwrap().contains("max_participants"), "{body}");
    api.create_room("small", json!({"empty_timeout_s": 604_800, "max_participants": 100_000})).await;
    let body = api.patch("/api/v1/rooms/small", json!({"empty_timeout_s": 604_801})).await.expect_error(400, "invalid_request").body;
    assert!(body["error"]["message"].as_str().unwrap().contains("between 0 and 604800"), "{body}");
    // The room is unharmed: it answers with its settings as they were.
    let room = api.get("/api/v1/rooms/small").await.expect(200);
    assert_eq!(room["empty_timeout_s"], 604_800);
    assert_eq!(api.get("/api/v1/rooms").await.expect(200)["rooms"].as_array().unwrap().len(), 1, "no room \"big\"");
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_rooms_are_404_and_bad_paths_400() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.get("/api/v1/rooms/nowhere").await.expect_error(404, "room_not_found");
    api.patch("/api/v1/rooms/nowhere", json!({"lobby": true})).await.expect_error(404, "room_not_found");
    api.delete("/api/v1/rooms/nowhere").await.expect_error(404, "room_not_found");
    // A path segment that is not UTF-8 once percent-decoded.
    api.get("/api/v1/rooms/%FF%FE").await.expect_error(400, "invalid_path");
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    let reply = api.send(Method::PUT, "/api/v1/rooms", Some(json!({"name": "x"}))).await;
    reply.expect_error(405, "method_not_allowed");
    api.get("/api/v1/tokens").await.expect_error(405, "method_not_allowed");
    server.shutdown().await;
}
