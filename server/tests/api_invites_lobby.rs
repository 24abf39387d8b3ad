//! Invites, minted tokens and the lobby over the admin API: an invite returns a working join token
//! and `/join?token=…` link and lists the invitee as `invited`; `POST /api/v1/tokens` mints a join
//! token; lobby members are listed, admitted (200) or denied (204).

mod common;

use common::{closed, connect, next, next_of_type, Api};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, UNIX_EPOCH};
use switchboard::auth::verify;
use common::spawn_test_server;

fn state_of(list: &Value, identity: &str) -> Option<String> {
    list["participants"]
        .as_array()?
        .iter()
        .find(|p| p["identity"] == identity)
        .map(|p| p["state"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_invite_is_a_working_link_and_lists_the_invitee() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("party", Value::Null).await;
    let body = json!({"identity": "zoe", "name": "Zoe", "permissions": {"can_publish": false}, "ttl_s": 600});
    let invite = api.post("/api/v1/rooms/party/invites", body).await.expect(201);
    let token = invite["token"].as_str().unwrap();
    assert_eq!(invite["url"], format!("http://{}/join?token={token}", server.http_addr()));
    let claims = verify(token, "devkey", "secret").expect("the invite token verifies");
    assert_eq!(
        (claims.room.as_deref(), claims.sub.as_str(), claims.name.as_deref()),
        (Some("party"), "zoe", Some("Zoe"))
    );
    assert!(!claims.admin && !claims.permissions.can_publish && claims.permissions.can_subscribe);
    assert_eq!(claims.exp - claims.nbf, 600);
    let expires = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(claims.exp)).to_string();
    assert_eq!(invite["expires_at"], expires);

    let list = api.get("/api/v1/rooms/party/participants").await.expect(200);
    assert_eq!(state_of(&list, "zoe").as_deref(), Some("invited"), "{list}");
    let mut zoe = connect(&server, token).await;
    assert_eq!(next(&mut zoe).await.unwrap()["type"], "joined");
    let list = api.get("/api/v1/rooms/party/participants").await.expect(200);
    assert_eq!(state_of(&list, "zoe").as_deref(), Some("joining"), "{list}");
    assert_eq!(list["participants"].as_array().unwrap().len(), 1, "the invite entry became the participant: {list}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_invite_link_uses_the_host_the_caller_used() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("hosted", Value::Null).await;
    let body = Some(("application/json", br#"{"identity": "yan"}"#.to_vec()));
    let headers = [("host", "meet.example.com:8443"), ("x-forwarded-proto", "https")];
    let invite = api.raw(Method::POST, "/api/v1/rooms/hosted/invites", body, &headers).await.expect(201);
    let url = invite["url"].as_str().unwrap();
    assert!(url.starts_with("https://meet.example.com:8443/join?token="), "{url}");
    let claims = verify(invite["token"].as_str().unwrap(), "devkey", "secret").unwrap();
    assert_eq!(claims.exp - claims.nbf, 24 * 3600, "invites last a day by default");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_invites_are_refused() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("strict", Value::Null).await;
    let path = "/api/v1/rooms/strict/invites";
    api.post(path, json!({})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"identity": "a", "permissions": {"can_teleport": true}}))
        .await
        .expect_error(400, "invalid_request");
    api.post(path, json!({"identity": "a", "ttl_s": "1h"})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"identity": "a", "ttl_s": 0})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"identity": "a", "ttl_s": 31 * 24 * 3600})).await.expect_error(400, "invalid_request");
    api.post(path, json!({"identity": ""})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/nowhere/invites", json!({"identity": "a"})).await.expect_error(404, "room_not_found");
    let list = api.get("/api/v1/rooms/strict/participants").await.expect(200);
    assert_eq!(list, json!({"participants": []}), "no refused invite is listed");
    server.shutdown().await;
}

#[tokio::test]
async fn tokens_are_minted_for_any_room() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    let reply =
        api.post("/api/v1/tokens", json!({"room": "adhoc", "identity": "ivan", "name": "Ivan"})).await.expect(201);
    assert_eq!(reply.as_object().unwrap().len(), 1, "just {{token}}: {reply}");
    let token = reply["token"].as_str().unwrap();
    let claims = verify(token, "devkey", "secret").unwrap();
    assert_eq!((claims.room.as_deref(), claims.sub.as_str(), claims.admin), (Some("adhoc"), "ivan", false));
    assert_eq!(claims.exp - claims.nbf, 3600, "an hour by default");
    let mut ivan = connect(&server, token).await;
    assert_eq!(next(&mut ivan).await.unwrap()["type"], "joined");

    let ttl = api
        .post("/api/v1/tokens", json!({"room": "r", "identity": "i", "ttl_s": 60, "permissions": {"room_admin": true}}))
        .await
        .expect(201);
    let claims = verify(ttl["token"].as_str().unwrap(), "devkey", "secret").unwrap();
    assert!(claims.exp - claims.nbf == 60 && claims.permissions.room_admin);

    api.post("/api/v1/tokens", json!({"identity": "i"})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/tokens", json!({"room": "r", "identity": "i", "admin": true}))
        .await
        .expect_error(400, "invalid_request");
    api.post("/api/v1/tokens", json!({"room": "", "identity": "i"})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/tokens", json!({"room": "r", "identity": "i", "ttl_s": 0}))
        .await
        .expect_error(400, "invalid_request");
    server.shutdown().await;
}

#[tokio::test]
async fn the_lobby_lists_admits_and_denies() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("gated", json!({"lobby": true})).await;
    let mut alice = connect(&server, &server.token("gated", "alice")).await;
    assert_eq!(next(&mut alice).await.unwrap()["type"], "lobby_waiting");
    let mut bob = connect(&server, &server.token("gated", "bob")).await;
    assert_eq!(next(&mut bob).await.unwrap()["type"], "lobby_waiting");

    let lobby = api.get("/api/v1/rooms/gated/lobby").await.expect(200);
    let waiting: Vec<(&str, &str)> = lobby["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["identity"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(waiting, [("alice", "lobby"), ("bob", "lobby")]);
    assert_eq!(api.get("/api/v1/rooms/gated").await.expect(200)["num_waiting"], 2);

    let admitted = api.post_empty("/api/v1/rooms/gated/lobby/alice/admit").await.expect(200);
    assert_eq!((admitted["identity"].as_str(), admitted["state"].as_str()), (Some("alice"), Some("joining")));
    next_of_type(&mut alice, "admitted").await;
    next_of_type(&mut alice, "joined").await;

    let denied = api.post_empty("/api/v1/rooms/gated/lobby/bob/deny").await;
    assert_eq!((denied.status, denied.body), (204, Value::Null));
    next_of_type(&mut bob, "denied").await;
    assert_eq!(closed(&mut bob).await, 1000);

    assert_eq!(api.get("/api/v1/rooms/gated/lobby").await.expect(200), json!({"participants": []}));
    api.post_empty("/api/v1/rooms/gated/lobby/bob/admit").await.expect_error(404, "participant_not_found");
    api.post_empty("/api/v1/rooms/gated/lobby/alice/deny").await.expect_error(404, "participant_not_found");
    api.get("/api/v1/rooms/nowhere/lobby").await.expect_error(404, "room_not_found");
    server.shutdown().await;
}
