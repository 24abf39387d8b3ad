//! Every admin route needs a valid bearer token with the server-wide admin grant: no token, a bad
//! one or an expired one is 401 with `WWW-Authenticate: Bearer`; a valid token without the grant
//! is 403. The OpenAPI document, health, readiness and metrics need no token.

mod common;

use common::{Api, ROUTES};
use reqwest::Method;
use std::time::Duration;
use switchboard::auth::Claims;
use common::spawn_test_server;

fn concrete(path: &str) -> String {
    path.replace("{room}", "some-room").replace("{identity}", "someone")
}

#[tokio::test]
async fn every_admin_route_refuses_a_request_without_a_token() {
    let server = spawn_test_server().await.unwrap();
    let anonymous = Api::with_token(&server, None);
    for (method, path) in ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method == Method::POST || method == Method::PATCH).then(|| serde_json::json!({}));
        let reply = anonymous.send(method.clone(), &concrete(path), body).await;
        let reply = reply.expect_error(401, "unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer", "{method} {path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn bad_and_expired_tokens_are_401_with_a_precise_code() {
    let server = spawn_test_server().await.unwrap();
    let key = server.api_key().to_owned();
    let admin = Claims::admin(&key, "ops", Duration::from_secs(60));
    let now = admin.nbf;
    let cases = [
        ("not-a-jwt".to_owned(), "invalid_token"),
        (admin.sign("another-secret"), "invalid_token"),
        (server.sign(&Claims { iss: "other-key".into(), ..admin.clone() }), "invalid_token"),
        (server.sign(&Claims { exp: now - 5, nbf: now - 60, ..admin.clone() }), "token_expired"),
        (server.sign(&Claims { nbf: now + 600, ..admin.clone() }), "token_not_yet_valid"),
    ];
    for (token, code) in cases {
        let reply = Api::with_token(&server, Some(token)).get("/api/v1/rooms").await;
        let reply = reply.expect_error(401, code);
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    // Not the Bearer scheme at all.
    let reply = Api::with_token(&server, None)
        .raw(Method::GET, "/api/v1/rooms", None, &[("authorization", "Basic YWRtaW46YWRtaW4=")])
        .await;
    reply.expect_error(401, "unauthorized");
    server.shutdown().await;
}

#[tokio::test]
async fn tokens_without_the_admin_grant_are_403() {
    let server = spawn_test_server().await.unwrap();
    // A participant's join token, even one allowed to moderate its own room.
    let join = server.token("r", "alice");
    Api::with_token(&server, Some(join)).get("/api/v1/rooms").await.expect_error(403, "forbidden");
    let mut moderator = Claims::join(server.api_key(), "r", "mod", None, Duration::from_secs(60));
    moderator.permissions.room_admin = true;
    let reply = Api::with_token(&server, Some(server.sign(&moderator)))
        .post("/api/v1/rooms", serde_json::json!({"name": "x"}))
        .await;
    reply.expect_error(403, "forbidden");
    // The same request with an admin token goes through.
    Api::new(&server).get("/api/v1/rooms").await.expect(200);
    server.shutdown().await;
}

#[tokio::test]
async fn openapi_health_readiness_and_metrics_need_no_token() {
    let server = spawn_test_server().await.unwrap();
    let anonymous = Api::with_token(&server, None);
    for path in ["/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"] {
        let reply = anonymous.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    server.shutdown().await;
}
