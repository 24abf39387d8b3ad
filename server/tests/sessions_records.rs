//! Session records: a room session with one leg per participant — who, when, how long, why they
//! left, moderator actions on them — listed newest first with filters and an opaque cursor, and
//! shaped as the OpenAPI document says; unknown ids are 404, bad filters 400.

mod common;

use common::{assert_matches_schema, join, Api};
use futures_util::SinkExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use switchboard::testing::spawn_test_server;
use tokio_tungstenite::tungstenite::Message;

/// Polls `GET path` until `done` accepts the body (10 s at most).
async fn eventually(api: &Api, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = api.get(path).await.expect(200);
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ended(page: &Value) -> bool {
    page["sessions"].as_array().is_some_and(|s| !s.is_empty() && s.iter().all(|s| !s["ended_at"].is_null()))
}

#[tokio::test]
async fn two_participants_leave_legs_with_reasons_durations_and_actions() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    let mut alice = join(&server, "records", "alice").await;
    let mut bob = join(&server, "records", "bob").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    api.delete("/api/v1/rooms/records/participants/alice?reason=spam").await.expect(204);
    let _ = alice.close(None).await;

    // The room closes once empty (test servers use no empty timeout).
    let page = eventually(&api, "/api/v1/sessions?room=records", ended).await;
    let [summary] = &page["sessions"].as_array().unwrap()[..] else { panic!("one session: {page}") };
    assert_eq!(summary["room"], "records");
    assert_eq!(summary["participants"], 2);
    assert_eq!(summary["peak_participants"], 2);
    assert!(page["next_cursor"].is_null());
    let id = summary["id"].as_str().unwrap();
    assert!(id.starts_with("RM_"), "{id}");
    assert!(summary["started_at"].as_str().unwrap() <= summary["ended_at"].as_str().unwrap());

    let detail = api.get(&format!("/api/v1/sessions/{id}")).await.expect(200);
    assert_eq!((&detail["id"], &detail["ended_at"]), (&summary["id"], &summary["ended_at"]));
    let legs = detail["participants"].as_array().unwrap();
    let leg = |who: &str| legs.iter().find(|l| l["identity"] == who).unwrap_or_else(|| panic!("{who}'s leg: {detail}"));
    let (alice_leg, bob_leg) = (leg("alice"), leg("bob"));
    assert_eq!(bob_leg["leave_reason"], "left");
    assert_eq!(alice_leg["leave_reason"], "removed");
    for l in [alice_leg, bob_leg] {
        assert!(l["duration_s"].as_f64().unwrap() >= 0.3, "{l}");
        assert!(l["sid"].as_str().unwrap().starts_with("PA_"));
        assert!(l["joined_at"].as_str().unwrap() < l["left_at"].as_str().unwrap(), "{l}");
        assert_eq!(l["name"], l["identity"]);
        assert_eq!(l["codecs"], serde_json::json!([]), "no media was sent");
    }
    let actions = alice_leg["moderator_actions"].as_array().unwrap();
    let [remove] = &actions[..] else { panic!("one action on alice: {actions:?}") };
    assert_eq!((&remove["action"], &remove["by"]), (&"remove".into(), &"tester".into()));
    assert_eq!(remove["details"]["reason"], "spam");
    assert!(remove["at"].as_str().is_some_and(|at| at.ends_with('Z')));
    assert_eq!(bob_leg["moderator_actions"], serde_json::json!([]));

    let doc = Api::with_token(&server, None).get("/api/v1/openapi.json").await.expect(200);
    assert_matches_schema(&doc, "SessionList", &page);
    assert_matches_schema(&doc, "SessionSummary", summary);
    assert_matches_schema(&doc, "Session", &detail);
    assert_matches_schema(&doc, "ParticipantLeg", alice_leg);
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_are_listed_newest_first_filtered_and_paged() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    for (room, who) in [("first", "ann"), ("second", "ben"), ("third", "ann")] {
        let ws = join(&server, room, who).await;
        drop(ws);
        eventually(&api, &format!("/api/v1/sessions?room={room}"), ended).await;
        // Distinct start times, so that "newest first" is observable.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rooms = |page: &Value| -> Vec<String> {
        page["sessions"].as_array().unwrap().iter().map(|s| s["room"].as_str().unwrap().to_owned()).collect()
    };
    let all = api.get("/api/v1/sessions").await.expect(200);
    assert_eq!(rooms(&all), ["third", "second", "first"]);

    let mut paged = Vec::new();
    let mut path = "/api/v1/sessions?limit=2".to_owned();
    loop {
        let page = api.get(&path).await.expect(200);
        paged.extend(rooms(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/sessions?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, ["third", "second", "first"]);

    let ann = api.get("/api/v1/sessions?identity=ann").await.expect(200);
    assert_eq!(rooms(&ann), ["third", "first"]);
    assert_eq!(rooms(&api.get("/api/v1/sessions?room=second").await.expect(200)), ["second"]);
    assert!(rooms(&api.get("/api/v1/sessions?identity=nobody").await.expect(200)).is_empty());
    let started = all["sessions"][1]["started_at"].as_str().unwrap();
    let until_second = api.get(&format!("/api/v1/sessions?to={started}")).await.expect(200);
    assert_eq!(rooms(&until_second), ["second", "first"]);
    assert!(rooms(&api.get("/api/v1/sessions?from=2999-01-01T00:00:00Z").await.expect(200)).is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_sessions_are_404_and_bad_filters_400() {
    let server = spawn_test_server().await.unwrap();
    let api = Api::new(&server);
    api.get("/api/v1/sessions/RM_nope").await.expect_error(404, "session_not_found");
    for query in [
        "from=yesterday",
        "to=2024-13-01T00:00:00Z",
        "from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z",
        "limit=0",
        "limit=501",
        "limit=many",
        "cursor=zz",
        "room=",
        "colour=red",
    ] {
        api.get(&format!("/api/v1/sessions?{query}")).await.expect_error(400, "invalid_query");
    }
    server.shutdown().await;
}
