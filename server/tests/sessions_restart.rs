//! Session records and the event log live in the SQLite file: they survive a restart (numbering
//! continues after the stored events), and the legs a crash (SIGKILL of the real binary) left
//! open are closed at the next start with the reason `error`.

mod common;

use common::sse::{is, EventStream};
use common::{join, Api, TempDir};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};
use switchboard::auth::Claims;
use switchboard::config::Config;
use switchboard::testing::{spawn_test_server_with, test_config};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

async fn eventually(client: &reqwest::Client, url: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{url} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn records_and_events_survive_a_restart() {
    let dir = TempDir::new("restart");
    let config = || Config { store_path: dir.0.join("switchboard.db"), ..test_config() };

    let server = spawn_test_server_with(config()).await.unwrap();
    let mut events = EventStream::open(&server, "", &[]).await;
    let mut alice = join(&server, "persist", "alice").await;
    alice.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    let before = events.until(|e| e.event == "room_ended").await;
    let api = Api::new(&server);
    let list = api.get("/api/v1/sessions").await.expect(200);
    let id = list["sessions"][0]["id"].as_str().unwrap().to_owned();
    let detail = api.get(&format!("/api/v1/sessions/{id}")).await.expect(200);
    assert_eq!(detail["participants"][0]["leave_reason"], "left");
    drop(events);
    server.shutdown().await;

    let server = spawn_test_server_with(config()).await.unwrap();
    let api = Api::new(&server);
    assert_eq!(api.get("/api/v1/sessions").await.expect(200), list);
    assert_eq!(api.get(&format!("/api/v1/sessions/{id}")).await.expect(200), detail);
    // The event log too: replayed from the start, then numbering goes on after it.
    let mut replay = EventStream::open(&server, "?last_event_id=0", &[]).await;
    for expected in &before {
        assert_eq!(&replay.next().await, expected);
    }
    let _bob = join(&server, "persist", "bob").await;
    let after = replay.until(|e| is(e, "participant_joined", "bob")).await;
    assert_eq!(after[0].id, before.last().unwrap().id + 1, "{after:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_leg_left_open_by_a_crash_is_closed_at_the_next_start() {
    let dir = TempDir::new("crash");
    let db = dir.0.join("switchboard.db");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--bind", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "0", "--empty-timeout-s", "60", "--log-format", "json"])
        .arg("--store-path")
        .arg(&db)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");

    // Its address, from the JSON log line announcing it; then keep draining the log.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let Ok(log) = serde_json::from_str::<Value>(&line) else { continue };
            if let Some(addr) = log["fields"]["http"].as_str() {
                return addr.to_owned();
            }
        }
        panic!("the server exited without listening");
    })
    .await
    .expect("the server listens within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let join_token = Claims::join("devkey", "crashed", "alice", Some("alice"), Duration::from_secs(600)).sign("secret");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws?access_token={join_token}")).await.unwrap();
    let first = ws.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("\"joined\""), "{first:?}");
    let admin = Claims::admin("devkey", "tester", Duration::from_secs(600)).sign("secret");
    let http = reqwest::Client::new();
    let open = eventually(&http, &format!("http://{addr}/api/v1/sessions?room=crashed"), &admin, |page| {
        page["sessions"][0]["participants"] == 1
    })
    .await;
    assert!(open["sessions"][0]["ended_at"].is_null());

    // SIGKILL: no departure, no room end, no clean close of the database.
    child.kill().await.unwrap();
    drop(ws);

    let server = spawn_test_server_with(Config { store_path: db.clone(), ..test_config() }).await.unwrap();
    let api = Api::new(&server);
    let id = open["sessions"][0]["id"].as_str().unwrap();
    let session = api.get(&format!("/api/v1/sessions/{id}")).await.expect(200);
    assert!(session["ended_at"].as_str().is_some(), "the session is closed: {session}");
    let leg = &session["participants"][0];
    assert_eq!(leg["identity"], "alice");
    assert_eq!(leg["leave_reason"], "error", "{leg}");
    assert!(leg["left_at"].as_str().unwrap() >= leg["joined_at"].as_str().unwrap(), "{leg}");
    assert!(leg["duration_s"].as_f64().unwrap() >= 0.0, "{leg}");
    server.shutdown().await;
}
