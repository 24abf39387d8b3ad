//! SIGTERM, or the admin call `POST /api/v1/server/drain`, drains the real binary: readiness
//! drops at once, new joins are refused, the running call keeps its media until it ends or the
//! deadline passes, then everyone left gets `server_shutdown`, the session records are closed and
//! the process exits 0.

use std::process::Stdio;
use std::time::{Duration, Instant};
use switchboard::auth::Claims;
use switchboard_tests::TestParticipant;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const KEY: &str = "drainkey";
const SECRET: &str = "a-drain-test-secret-of-enough-length";

fn token(room: &str, identity: &str) -> String {
    Claims::join(KEY, room, identity, Some(identity), Duration::from_secs(600)).sign(SECRET)
}

/// Starts the binary on ephemeral ports and returns it with its HTTP base URL.
async fn start(store: &std::path::Path, drain_timeout_s: u64) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--bind", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "0", "--ice-timeout-s", "30"])
        .args(["--drain-timeout-s", &drain_timeout_s.to_string()])
        .arg("--store-path")
        .arg(store)
        .env("SWITCHBOARD_API_KEY", KEY)
        .env("SWITCHBOARD_API_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let base = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("open http://").nth(1) {
                return format!("http://{}", rest.split('/').next().unwrap_or_default());
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server announces its address");
    // keep draining stdout so the server never blocks on a full pipe
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

fn admin_token() -> String {
    Claims::admin(KEY, "ops", Duration::from_secs(600)).sign(SECRET)
}

async fn status(url: &str) -> Option<u16> {
    let client = reqwest::Client::new();
    client.get(url).timeout(Duration::from_secs(2)).send().await.ok().map(|r| r.status().as_u16())
}

fn received_packets(p: &TestParticipant) -> u64 {
    p.received().iter().map(|t| t.packets).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_disconnects_with_server_shutdown_and_exits_zero() {
    let dir = std::env::temp_dir().join(format!("sb-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("drain.db");
    let (mut child, base) = start(&store, 4).await;

    let mut alice = TestParticipant::join(&base, &token("call", "alice")).await.expect("alice joins");
    let mut bob = TestParticipant::join(&base, &token("call", "bob")).await.expect("bob joins");
    alice.publish().await.expect("alice publishes");
    bob.publish().await.expect("bob publishes");
    media_flows(&alice, &bob).await;
    assert_eq!(status(&format!("{base}/readyz")).await, Some(200));

    let pid = child.id().expect("running").to_string();
    let sent = Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    // Readiness drops within a second.
    loop {
        if status(&format!("{base}/readyz")).await == Some(503) {
            break;
        }
        assert!(sent.elapsed() < Duration::from_secs(1), "readyz still ready 1 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    draining_as_announced(&base, [&alice, &bob], 4).await;
    // At the deadline everyone is disconnected with server_shutdown and the process exits 0.
    for p in [&alice, &bob] {
        p.wait_for_message(|m| m["type"] == "removed" && m["reason"] == "server_shutdown", Duration::from_secs(8))
            .await
            .expect("server_shutdown at the deadline");
    }
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits").unwrap();
    assert_eq!(exit.code(), Some(0));
    assert!(sent.elapsed() >= Duration::from_secs(4), "not before the deadline");

    // The session records were closed: a new server on the same store shows the legs ended.
    let (mut again, base) = start(&store, 4).await;
    let admin = Claims::admin(KEY, "tester", Duration::from_secs(600)).sign(SECRET);
    let sessions: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/sessions?room=call"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = sessions["sessions"][0]["id"].as_str().expect("the call's session").to_owned();
    assert!(sessions["sessions"][0]["ended_at"].is_string(), "{sessions}");
    let session: serde_json::Value =
        reqwest::Client::new().get(format!("{base}/api/v1/sessions/{id}")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let legs = session["participants"].as_array().expect("legs");
    assert_eq!(legs.len(), 2, "{session}");
    for leg in legs {
        assert_eq!(leg["leave_reason"], "server_shutdown", "{leg}");
        assert!(leg["left_at"].is_string());
    }
    again.kill().await.ok();
    let _ = std::fs::remove_dir_all(&dir);
}

/// While draining: a new join is refused with a clear code, the participants were told
/// `going_away` with the deadline, and the call keeps flowing.
async fn draining_as_announced(base: &str, participants: [&TestParticipant; 2], deadline_s: u64) {
    let refused = TestParticipant::join(base, &token("call", "carol")).await;
    let err = format!("{:#}", refused.err().expect("joins are refused while draining"));
    assert!(err.contains("server_draining"), "{err}");
    for p in participants {
        p.wait_for_message(|m| m["type"] == "going_away" && m["deadline_s"] == deadline_s, Duration::from_secs(2))
            .await
            .expect("going_away announced");
    }
    let before = received_packets(participants[1]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(received_packets(participants[1]) > before + 20, "media still flows during the drain");
}

/// Waits until media flows both ways between two publishers.
async fn media_flows(a: &TestParticipant, b: &TestParticipant) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while received_packets(a) < 50 || received_packets(b) < 50 {
        assert!(Instant::now() < deadline, "media flows before the drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_call_drains_and_the_server_exits_once_the_rooms_are_empty() {
    let dir = std::env::temp_dir().join(format!("sb-admin-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut child, base) = start(&dir.join("drain.db"), 30).await;
    let http = reqwest::Client::new();
    let drain_url = format!("{base}/api/v1/server/drain");

    let mut alice = TestParticipant::join(&base, &token("call", "alice")).await.expect("alice joins");
    let mut bob = TestParticipant::join(&base, &token("call", "bob")).await.expect("bob joins");
    alice.publish().await.expect("alice publishes");
    bob.publish().await.expect("bob publishes");
    media_flows(&alice, &bob).await;

    // Only an admin may drain; a participant's token is refused and nothing changes.
    let anonymous = http.post(&drain_url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let participant = http.post(&drain_url).bearer_auth(token("call", "alice")).send().await.unwrap();
    assert_eq!(participant.status().as_u16(), 403);
    assert_eq!(status(&format!("{base}/readyz")).await, Some(200));
    let bad = http.post(format!("{drain_url}?timeout_s=soon")).bearer_auth(admin_token()).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400, "a malformed timeout is refused");
    assert_eq!(status(&format!("{base}/readyz")).await, Some(200));

    // The deadline asked for is capped by the server's own (what the pod's grace period allows).
    let sent = Instant::now();
    let reply = http.post(format!("{drain_url}?timeout_s=600")).bearer_auth(admin_token()).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 202);
    let started: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(started["draining"], true, "{started}");
    assert_eq!(started["drain"]["timeout_s"], 30, "{started}");
    assert_eq!(started["drain"]["started_by"], "admin:ops", "{started}");
    assert_eq!(started["participants"], 2, "{started}");
    // Idempotent: a second call reports the same drain.
    let again: serde_json::Value =
        http.post(&drain_url).bearer_auth(admin_token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["drain"], started["drain"]);
    let shown: serde_json::Value =
        http.get(format!("{base}/api/v1/server")).bearer_auth(admin_token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["drain"], started["drain"], "{shown}");

    assert_eq!(status(&format!("{base}/readyz")).await, Some(503), "readiness drops at once");
    draining_as_announced(&base, [&alice, &bob], 30).await;

    // The call ends by itself: the server does not wait for the deadline.
    alice.leave().await.expect("alice leaves");
    bob.leave().await.expect("bob leaves");
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exits").unwrap();
    assert_eq!(exit.code(), Some(0));
    assert!(sent.elapsed() < Duration::from_secs(25), "exited when the rooms emptied, not at the deadline");
    let _ = std::fs::remove_dir_all(&dir);
}
