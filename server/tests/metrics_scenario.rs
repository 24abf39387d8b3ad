//! `GET /metrics` after a scripted scenario, read with an independent, strict parser of the
//! Prometheus text format (`prom_text_format_parser`: any malformed line fails the parse).
//!
//! Two webrtc-rs kit participants publish audio and video in one room; the admin API is called a
//! known number of times with known statuses (404s among them) and mutes one participant's audio.
//! The scrape must show exactly that: one room, two connected participants, four tracks, two
//! `publish_offer`s in, two join latencies, each API call under its route template and status,
//! media forwarded (no more than was received), muted packets dropped after the mute, and at
//! least one keyframe request sent to a publisher.

mod common;

use common::{kit_base, Api, Reply};
use prom_text_format_parser::{Metric, Scrape, Type, ValueType};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use switchboard::RunningServer;
use switchboard_tests::{MediaKind, TestParticipant};

const ROOM: &str = "metrics";
/// Audio packets a kit participant may have counted as sent that the server has not received yet.
const IN_FLIGHT: u64 = 10;

/// Admin API calls of the scenario, counted by (route template, status) as the test makes them.
struct Calls {
    api: Api,
    made: BTreeMap<(String, String), u64>,
}

impl Calls {
    /// `method path` (matching `route`), with an optional JSON body; returns the reply.
    async fn call(&mut self, method: Method, route: &str, path: &str, body: Option<Value>) -> Reply {
        let reply = self.api.send(method, path, body).await;
        *self.made.entry((route.to_owned(), reply.status.to_string())).or_default() += 1;
        reply
    }

    async fn get(&mut self, route: &str, path: &str) -> Reply {
        self.call(Method::GET, route, path, None).await
    }

    /// How many calls returned `status`.
    fn with_status(&self, status: &str) -> u64 {
        self.made.iter().filter(|((_, s), _)| s == status).map(|(_, n)| n).sum()
    }
}

/// A parsed scrape.
struct Scraped {
    text: String,
    metrics: Vec<Metric>,
}

impl Scraped {
    async fn fetch(server: &RunningServer) -> Self {
        let response = reqwest::get(format!("http://{}/metrics", server.http_addr())).await.expect("the server answers");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = response.text().await.unwrap();
        let metrics = match Scrape::parse(&text) {
            Ok(scrape) => scrape.metrics,
            Err(e) => panic!("the exposition does not parse: {e:?}\n{text}"),
        };
        // Every sample line became a sample: nothing was skipped.
        let sample_lines = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
        let samples: usize = metrics.iter().map(|m| m.samples.len()).sum();
        assert_eq!(sample_lines, samples, "sample lines vs parsed samples:\n{text}");
        Self { text, metrics }
    }

    /// The family `name`, which must be there with type `kind`.
    #[track_caller]
    fn family(&self, name: &str, kind: Type) -> &Metric {
        let m = self.metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name} in\n{}", self.text));
        assert_eq!(m.kind, kind, "type of {name}");
        assert!(m.help_desc.as_deref().is_some_and(|h| !h.is_empty()), "{name} has a HELP line");
        m
    }

    /// The plain sample of `name` with exactly `labels`, if any.
    #[track_caller]
    fn get(&self, name: &str, kind: Type, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeSet<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.family(name, kind)
            .samples
            .iter()
            .filter(|s| s.value.value_type == ValueType::Sample)
            .find(|s| s.labels.iter().map(|l| (l.key.clone(), l.value.clone())).collect::<BTreeSet<_>>() == want)
            .map(|s| s.value.value.as_f64())
    }

    /// Like [`get`](Self::get), but the sample must exist.
    #[track_caller]
    fn value(&self, name: &str, kind: Type, labels: &[(&str, &str)]) -> f64 {
        self.get(name, kind, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", self.text))
    }

    /// Every plain sample of `name` as (labels, value).
    fn series(&self, name: &str, kind: Type) -> Vec<(BTreeMap<String, String>, f64)> {
        self.family(name, kind)
            .samples
            .iter()
            .filter(|s| s.value.value_type == ValueType::Sample)
            .map(|s| (s.labels.iter().map(|l| (l.key.clone(), l.value.clone())).collect(), s.value.value.as_f64()))
            .collect()
    }

    /// `_count` or `_sum` of histogram `name`.
    #[track_caller]
    fn histogram(&self, name: &str, which: ValueType) -> f64 {
        let family = self.family(name, Type::Histogram);
        let found: Vec<f64> =
            family.samples.iter().filter(|s| s.value.value_type == which).map(|s| s.value.value.as_f64()).collect();
        let [v] = found[..] else { panic!("one {which:?} of {name}: {found:?}") };
        v
    }
}

/// Waits until `p` has received `min` packets of each kind from publisher `sid`.
async fn wait_media(p: &TestParticipant, sid: &str, min: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while [MediaKind::Audio, MediaKind::Video].iter().any(|k| p.packets_from(sid, *k) < min) {
        assert!(Instant::now() < deadline, "{} never got media from {sid}: {:#?}", p.identity(), p.received());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reflect_a_scripted_scenario() {
    let server = switchboard::testing::spawn_test_server().await.unwrap();
    let mut calls = Calls { api: Api::as_caller(&server, "ops"), made: BTreeMap::new() };
    let created = calls
        .call(Method::POST, "/api/v1/rooms", "/api/v1/rooms", Some(json!({"name": ROOM, "empty_timeout_s": 60})))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let base = kit_base(&server);
    let mut alice = TestParticipant::join(&base, &server.token(ROOM, "alice")).await.expect("alice joins");
    let mut bob = TestParticipant::join(&base, &server.token(ROOM, "bob")).await.expect("bob joins");
    alice.publish().await.expect("alice publishes");
    bob.publish().await.expect("bob publishes");
    wait_media(&alice, bob.sid(), 20).await;
    wait_media(&bob, alice.sid(), 20).await;
    let participant = "/api/v1/rooms/{room}/participants/{identity}";
    for who in ["alice", "bob"] {
        let view = calls.get(participant, &format!("/api/v1/rooms/{ROOM}/participants/{who}")).await.expect(200);
        assert_eq!(view["state"], "connected", "{view}");
    }

    // Known admin API calls, 404s among them (each counted under its route template).
    for (route, path) in [
        ("/api/v1/rooms/{room}", "/api/v1/rooms/nowhere".to_owned()),
        (participant, format!("/api/v1/rooms/{ROOM}/participants/ghost")),
        (participant, format!("/api/v1/rooms/{ROOM}/participants/phantom")),
        ("/api/v1/sessions/{id}", "/api/v1/sessions/RM_nope".to_owned()),
    ] {
        assert_eq!(calls.get(route, &path).await.status, 404, "{path}");
    }
    let room = calls.get("/api/v1/rooms/{room}", &format!("/api/v1/rooms/{ROOM}")).await.expect(200);
    assert_eq!(room["num_participants"], 2);
    assert_eq!(calls.with_status("404"), 4);

    let before_mute = Scraped::fetch(&server).await;
    let muted_before =
        before_mute.get("switchboard_packets_dropped_total", Type::Counter, &[("reason", "muted")]).unwrap_or(0.0);
    assert_eq!(muted_before, 0.0, "nothing muted yet:\n{}", before_mute.text);

    // One admin mute: alice's audio is no longer forwarded, so its packets are dropped.
    let mute = "/api/v1/rooms/{room}/participants/{identity}/mute";
    let audio_sent = || alice.published_track(MediaKind::Audio).expect("alice's audio").packets_sent;
    let sent_before_mute = audio_sent();
    let muted = calls
        .call(
            Method::POST,
            mute,
            &format!("/api/v1/rooms/{ROOM}/participants/alice/mute"),
            Some(json!({"kind": "audio", "muted": true})),
        )
        .await
        .expect(200);
    assert!(muted["tracks"].as_array().unwrap().iter().any(|t| t["kind"] == "audio" && t["muted"] == true), "{muted}");
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let received_by_kits: u64 =
        [&alice, &bob].iter().flat_map(|p| p.received()).map(|t| t.packets).sum();
    let plis_at_kits = alice.plis_received() + bob.plis_received();
    let m = Scraped::fetch(&server).await;
    let sent_after_scrape = audio_sent();
    println!("{}", m.text);

    // Conference gauges.
    assert_eq!(m.value("switchboard_rooms", Type::Gauge, &[]), 1.0);
    assert_eq!(m.value("switchboard_participants", Type::Gauge, &[("state", "connected")]), 2.0);
    for state in ["lobby", "joining", "on_hold"] {
        assert_eq!(m.value("switchboard_participants", Type::Gauge, &[("state", state)]), 0.0, "{state}");
    }
    assert_eq!(m.value("switchboard_tracks", Type::Gauge, &[]), 4.0);
    assert_eq!(m.value("switchboard_sessions", Type::Gauge, &[]), 2.0, "two WebSocket sessions");
    assert_eq!(m.value("switchboard_media_peers", Type::Gauge, &[]), 4.0, "two PeerConnections each");

    // Media counters.
    let received = m.value("switchboard_packets_received_total", Type::Counter, &[]);
    let forwarded = m.value("switchboard_packets_forwarded_total", Type::Counter, &[]);
    assert!(forwarded > 0.0 && forwarded <= received, "forwarded {forwarded}, received {received}");
    assert!(
        forwarded >= received_by_kits as f64,
        "the kits received {received_by_kits} packets, the server counts only {forwarded} forwarded"
    );
    assert!(m.value("switchboard_bytes_forwarded_total", Type::Counter, &[]) > forwarded, "bytes > packets");
    // Every received datagram that produced a send is timed (publisher packets, and the STUN and
    // DTLS replies of the set-up), at least one per packet forwarded to one subscriber each here.
    let timed = m.histogram("switchboard_media_forward_seconds", ValueType::Count);
    assert!(timed >= forwarded / 2.0 && timed > 0.0, "{timed} datagrams timed, {forwarded} packets forwarded");
    let mean = m.histogram("switchboard_media_forward_seconds", ValueType::Sum) / timed;
    assert!(mean > 0.0 && mean < 1.0, "mean time in the server {mean} s");
    let dropped_muted = m.value("switchboard_packets_dropped_total", Type::Counter, &[("reason", "muted")]);
    assert!(dropped_muted > 0.0, "alice's audio is muted: its packets are dropped");
    // Only alice's audio is muted: no more dropped than she sent from the mute to the scrape,
    // give or take the few packets (10 = 200 ms of audio) the kit had counted as sent but that
    // were still on their way when the mute applied. A muted video track as well would add
    // about 45 packets per second.
    let audio_since_mute = sent_after_scrape - sent_before_mute;
    assert!(
        dropped_muted <= (audio_since_mute + IN_FLIGHT) as f64,
        "{dropped_muted} dropped as muted, alice sent only {audio_since_mute} audio packets meanwhile"
    );
    let keyframes_sent = m.value("switchboard_keyframe_requests_total", Type::Counter, &[("direction", "sent")]);
    assert!(keyframes_sent >= 1.0, "a keyframe was requested for each new video subscriber");
    assert!(keyframes_sent >= plis_at_kits as f64, "the kits got {plis_at_kits} PLIs, the server sent {keyframes_sent}");

    // Signalling and join latency.
    let ws = |direction: &str, ty: &str| {
        m.get("switchboard_ws_messages_total", Type::Counter, &[("direction", direction), ("type", ty)])
    };
    assert_eq!(ws("in", "publish_offer"), Some(2.0));
    assert_eq!(ws("out", "publish_answer"), Some(2.0));
    assert_eq!(ws("out", "joined"), Some(2.0));
    assert_eq!(m.histogram("switchboard_join_latency_seconds", ValueType::Count), 2.0);
    assert!(m.histogram("switchboard_join_latency_seconds", ValueType::Sum) > 0.0);

    // The admin API, by route template and status: exactly the calls made (the scrape itself is
    // not an API route).
    let counted: BTreeMap<(String, String), u64> = m
        .series("switchboard_api_requests_total", Type::Counter)
        .into_iter()
        .map(|(labels, v)| ((labels["route"].clone(), labels["status"].clone()), v as u64))
        .collect();
    assert_eq!(counted, calls.made, "switchboard_api_requests_total vs the calls made");
    let counted_404: u64 = counted.iter().filter(|((_, s), _)| s == "404").map(|(_, n)| n).sum();
    assert_eq!(counted_404, 4);
    let not_found =
        |route: &str| m.value("switchboard_api_requests_total", Type::Counter, &[("route", route), ("status", "404")]);
    assert_eq!(not_found(participant), 2.0);
    assert_eq!(not_found("/api/v1/rooms/{room}"), 1.0);
    assert_eq!(not_found("/api/v1/sessions/{id}"), 1.0);

    // The other families are exposed with their types.
    m.family("switchboard_nacks_total", Type::Counter);
    m.family("switchboard_events_dropped_total", Type::Counter);
    assert_eq!(m.value("switchboard_events_dropped_total", Type::Counter, &[]), 0.0);

    alice.leave().await.expect("alice leaves");
    bob.leave().await.expect("bob leaves");
    server.shutdown().await;
}
