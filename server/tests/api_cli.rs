//! The `switchboard` CLI's admin subcommands against a running server: tables by default, the
//! API's JSON with `--json`, exit code 1 with the API's error on failure.

mod common;

use common::{join, Api};
use serde_json::Value;
use common::spawn_test_server;
use switchboard::RunningServer;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args` against `server` (a clean environment: no SWITCHBOARD_* leaks in).
async fn cli(server: &RunningServer, args: &[&str]) -> Run {
    let url = format!("http://{}", server.http_addr());
    // tokio's Command: the test server runs on this runtime and must keep answering meanwhile.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .args(["--url", &url])
        .env_clear()
        .output()
        .await
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn rooms_participants_and_moderation_from_the_command_line() {
    let server = spawn_test_server().await.unwrap();
    let run = cli(&server, &["rooms", "create", "cli-made", "--lobby", "--max-participants", "5"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row: Vec<&str> = run.stdout.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], ["cli-made", "0", "0", "5", "yes"], "{}", run.stdout);
    // (The test server closes empty rooms at once; this one stays open for a minute.)
    Api::new(&server).create_room("cli-room", serde_json::json!({"max_participants": 5})).await;

    let run = cli(&server, &["rooms", "--json"]).await;
    let json: Value = serde_json::from_str(&run.stdout).expect("--json prints the API's JSON");
    let room = json["rooms"].as_array().unwrap().iter().find(|r| r["name"] == "cli-room").expect("cli-room listed");
    assert_eq!(room["max_participants"], 5);

    let _alice = join(&server, "cli-room", "alice").await;
    let run = cli(&server, &["participants", "cli-room"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("IDENTITY") && run.stdout.contains("alice") && run.stdout.contains("joining"));
    let run = cli(&server, &["participants", "cli-room", "alice", "--json"]).await;
    assert_eq!(serde_json::from_str::<Value>(&run.stdout).unwrap()["identity"], "alice");

    let run = cli(&server, &["mute", "cli-room", "alice", "--kind", "audio"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cli(&server, &["invite", "cli-room", "bob", "--name", "Bob", "--ttl", "2h"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let url = run.stdout.lines().next().unwrap().trim_start_matches("url:").trim();
    assert!(url.starts_with(&format!("http://{}/join?token=", server.http_addr())), "{}", run.stdout);
    let run = cli(&server, &["lobby", "cli-room"]).await;
    assert_eq!((run.code, run.stdout.trim()), (0, "IDENTITY  NAME  STATE  TRACKS  REMOTE"));

    let run = cli(&server, &["kick", "cli-room", "alice", "--reason", "bye", "--ban"]).await;
    assert_eq!((run.code, run.stdout.trim()), (0, "removed alice from cli-room and banned it"));
    let run = cli(&server, &["rooms", "end", "cli-room"]).await;
    assert_eq!((run.code, run.stdout.trim()), (0, "ended room cli-room"));
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_lists_recorded_room_sessions() {
    let server = spawn_test_server().await.unwrap();
    let ws = common::join(&server, "history", "ada").await;
    drop(ws);
    let mut listed = String::new();
    for _ in 0..50 {
        let run = cli(&server, &["sessions", "--room", "history"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        listed = run.stdout;
        if listed.contains("history") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed.starts_with("ID") && listed.contains("history"), "{listed}");
    server.shutdown().await;
}

#[tokio::test]
async fn failures_exit_non_zero_with_the_reason() {
    let server = spawn_test_server().await.unwrap();
    let run = cli(&server, &["rooms", "get", "nowhere"]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("room_not_found") && run.stderr.contains("404"), "{}", run.stderr);
    let run = cli(&server, &["hold", "nowhere", "alice"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let run = cli(&server, &["sessions", "RM_nope"]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("session_not_found"), "{}", run.stderr);
    // Nobody listens on port 9 of loopback.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["rooms", "--url", "http://127.0.0.1:9"])
        .env_clear()
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the server"));
    server.shutdown().await;
}

#[tokio::test]
async fn status_and_drain_from_the_command_line() {
    let server = spawn_test_server().await.unwrap();
    let _ada = common::join(&server, "busy", "ada").await;
    let run = cli(&server, &["status"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("participants: 1") && run.stdout.contains("draining:     no"), "{}", run.stdout);
    let run = cli(&server, &["drain", "--timeout", "5m"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("draining:     since") && run.stdout.contains("by admin:"), "{}", run.stdout);
    let run = cli(&server, &["status", "--json"]).await;
    let json: Value = serde_json::from_str(&run.stdout).expect("--json prints the API's JSON");
    assert_eq!(json["draining"], true, "{json}");
    assert!(json["drain"]["timeout_s"].as_u64().unwrap() <= 300, "{json}");
    server.shutdown().await;
}
