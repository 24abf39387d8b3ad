//! Data messages from the admin API: to everyone or to listed identities, answered with how many
//! participants it reached; recipients see `data{from: null, payload}`.

mod common;

use common::{join, next_of_type, Api};
use serde_json::{json, Value};
use common::spawn_test_server;

#[tokio::test]
async fn data_reaches_everyone_or_the_listed_identities() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("news", Value::Null).await;
    let mut alice = join(&server, "news", "alice").await;
    let mut bob = join(&server, "news", "bob").await;

    let payload = json!({"poll": "lunch?", "options": ["pizza", "soup"]});
    let reply = api.post("/api/v1/rooms/news/data", json!({"payload": payload})).await.expect(200);
    assert_eq!(reply, json!({"delivered": 2}));
    for ws in [&mut alice, &mut bob] {
        let msg = next_of_type(ws, "data").await;
        assert_eq!((msg["from"].clone(), msg["payload"].clone()), (Value::Null, payload.clone()));
    }

    let reply = api.post("/api/v1/rooms/news/data", json!({"payload": "psst", "to": ["bob"]})).await.expect(200);
    assert_eq!(reply, json!({"delivered": 1}));
    assert_eq!(next_of_type(&mut bob, "data").await["payload"], "psst");
    // alice got nothing more: the next data she sees is a later broadcast.
    api.post("/api/v1/rooms/news/data", json!({"payload": 3, "to": []})).await.expect(200);
    assert_eq!(next_of_type(&mut alice, "data").await["payload"], 3);

    let reply = api.post("/api/v1/rooms/news/data", json!({"payload": 1, "to": ["nobody"]})).await.expect(200);
    assert_eq!(reply, json!({"delivered": 0}));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_data_requests_are_refused() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.create_room("noise", Value::Null).await;
    api.post("/api/v1/rooms/noise/data", json!({})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/noise/data", json!({"payload": 1, "to": "bob"})).await.expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/noise/data", json!({"payload": 1, "from": "me"}))
        .await
        .expect_error(400, "invalid_request");
    api.post("/api/v1/rooms/nowhere/data", json!({"payload": 1})).await.expect_error(404, "room_not_found");
    server.shutdown().await;
}
