//! One scripted scenario seen through every information channel at once: the live event stream,
//! an event-stream client that drops out and comes back with `Last-Event-ID`, a webhook receiver
//! (which refuses the first delivery), and the session records, before and after a restart on the
//! same database file.
//!
//! Scenario (signalling-only WebSocket participants, admin API as caller `ops`): room `townhall`
//! is created; alice, bob and carol join; bob's audio is muted; carol is moved to `breakout`;
//! alice leaves; bob is kicked (`reason=spam`); `townhall` is ended; carol leaves `breakout`.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::sse::{is, EventStream, SseEvent};
use common::{closed, connect, eventually, next, next_of_type, Api, TempDir, Ws};
use futures_util::SinkExt;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use switchboard::config::{Config, WebhookConfig};
use switchboard::testing::{spawn_test_server_with, test_config};
use switchboard::RunningServer;
use tokio_tungstenite::tungstenite::Message;

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
struct Delivery {
    body: Value,
    /// `Ok` when `Switchboard-Signature` verified (independently of the server's code).
    signature: Result<(), String>,
    /// What the receiver answered.
    answered: u16,
}

impl Delivery {
    fn seq(&self) -> u64 {
        self.body["seq"].as_u64().expect("a seq")
    }
}

/// Checks `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with `secret`.
fn verify(secret: &str, header: &str, body: &[u8]) -> Result<(), String> {
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .ok_or_else(|| format!("signature format: {header:?}"))?;
    let t: u64 = t.parse().map_err(|_| format!("t is not a number: {header:?}"))?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    if now.abs_diff(t) > 60 {
        return Err(format!("stale t={t}, now {now}"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let v1 = hex::decode(v1).map_err(|_| format!("v1 is not hex: {header:?}"))?;
    mac.verify_slice(&v1).map_err(|_| format!("v1 does not verify: {header:?}"))
}

/// A webhook receiver on 127.0.0.1 that answers 500 to the very first delivery and 200 to every
/// other one, verifying each signature and recording each body.
struct Receiver {
    url: String,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    async fn start() -> Self {
        type Shared = Arc<Mutex<Vec<Delivery>>>;
        async fn handle(State(deliveries): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let header = headers.get("switchboard-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let signature = verify("secret", header, &body);
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let signature = signature.and_then(|()| {
                (content_type == "application/json").then_some(()).ok_or(format!("content type {content_type:?}"))
            });
            let body: Value = serde_json::from_slice(&body).expect("a JSON body");
            let mut deliveries = deliveries.lock().unwrap();
            let status = if deliveries.is_empty() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
            deliveries.push(Delivery { body, signature, answered: status.as_u16() });
            status
        }
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().route("/hook", post(handle)).with_state(deliveries.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, deliveries }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    /// Waits until every seq in `1..=last` was accepted (10 s at most), then a little longer for
    /// anything extra; returns every delivery.
    async fn settle(&self, last: u64) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let accepted: std::collections::BTreeSet<u64> =
                self.deliveries().iter().filter(|d| d.answered == 200).map(Delivery::seq).collect();
            if (1..=last).all(|s| accepted.contains(&s)) {
                break;
            }
            assert!(Instant::now() < deadline, "accepted so far {accepted:?} of 1..={last}: {:#?}", self.deliveries());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.deliveries()
    }
}

async fn join_with_sid(server: &RunningServer, room: &str, identity: &str) -> (Ws, String) {
    let mut ws = connect(server, &server.token(room, identity)).await;
    let joined = next(&mut ws).await.expect("a first message");
    assert_eq!(joined["type"], "joined", "{joined}");
    (ws, joined["participant"]["sid"].as_str().unwrap().to_owned())
}

/// `(type, room, participant)` of an event, with what identifies the step: the reason of a
/// departure, the action of a moderator action, `moved` of a join.
fn step(e: &SseEvent) -> (String, String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let d = &e.data["data"];
    let detail = match e.event.as_str() {
        "participant_left" => s(&d["reason"]),
        "moderator_action" => format!("{} by {}", s(&d["action"]), s(&d["by"])),
        "participant_joined" if d["moved"] == true => "moved in".into(),
        _ => String::new(),
    };
    (e.event.clone(), s(&e.data["room"]), s(&e.data["participant"]), detail)
}

fn steps(room: &str, expected: &[(&str, &str, &str)]) -> Vec<(String, String, String, String)> {
    expected.iter().map(|(ty, who, detail)| (ty.to_string(), room.to_owned(), who.to_string(), detail.to_string())).collect()
}

/// The one event matching `pred`.
#[track_caller]
fn the<'a>(all: &'a [SseEvent], what: &str, pred: impl Fn(&SseEvent) -> bool) -> &'a SseEvent {
    let found: Vec<&SseEvent> = all.iter().filter(|e| pred(e)).collect();
    assert_eq!(found.len(), 1, "exactly one {what}: {found:#?}");
    found[0]
}

/// The leg a session record must hold for a stay that the event stream shows as `joined` …
/// `left`, with `actions` (the moderator-action events on it).
fn expected_leg(joined: &SseEvent, left: &SseEvent, actions: &[&SseEvent]) -> Value {
    let d = &left.data["data"];
    json!({
        "identity": joined.data["participant"],
        "sid": joined.data["data"]["sid"],
        "name": joined.data["participant"],
        "joined_at": joined.data["at"],
        "left_at": left.data["at"],
        "duration_s": d["duration_s"],
        "leave_reason": d["reason"],
        "remote_address": null,
        "codecs": [],
        "bytes_in": 0, "bytes_out": 0, "packets_in": 0, "packets_out": 0,
        "moderator_actions": actions.iter().map(|a| json!({
            "action": a.data["data"]["action"],
            "by": a.data["data"]["by"],
            "at": a.data["at"],
            "details": a.data["data"]["details"],
        })).collect::<Vec<_>>(),
    })
}

/// Milliseconds of an RFC 3339 `…T12:00:03.512Z` timestamp within its day (tests stay well
/// within a day; a stay across midnight would fail loudly rather than silently pass).
fn ms_of_day(at: &Value) -> i64 {
    let at = at.as_str().expect("a timestamp");
    let time = at.split_once('T').expect("RFC 3339").1.trim_end_matches('Z');
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().unwrap());
    let (h, m, s) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    ((h * 60 + m) * 60 + s) * 1000 + format!("{ms:0<3}")[..3].parse::<i64>().unwrap()
}

#[tokio::test]
async fn a_scenario_reaches_webhooks_streams_and_records_exactly_once() {
    let receiver = Receiver::start().await;
    let dir = TempDir::new("events-scenario");
    let config = || Config {
        store_path: dir.0.join("switchboard.db"),
        // Signalling-only participants: no ICE timeout while the scenario runs.
        ice_timeout_s: 120,
        webhooks: WebhookConfig {
            urls: vec![receiver.url.clone()],
            max_attempts: 5,
            initial_backoff_ms: 50,
            ..WebhookConfig::default()
        },
        ..test_config()
    };
    let server = spawn_test_server_with(config()).await.unwrap();
    let api = Api::as_caller(&server, "ops");
    // Connected throughout.
    let mut reference = EventStream::open(&server, "", &[]).await;
    // Drops out mid-scenario and comes back.
    let mut intermittent = EventStream::open(&server, "", &[]).await;

    api.create_room("townhall", Value::Null).await;
    let (mut alice, _) = join_with_sid(&server, "townhall", "alice").await;
    let (mut bob, _) = join_with_sid(&server, "townhall", "bob").await;
    let (mut carol, _) = join_with_sid(&server, "townhall", "carol").await;
    let before_drop = intermittent.until(|e| is(e, "participant_joined", "carol")).await;
    let last_seen = before_drop.last().unwrap().id;
    drop(intermittent);

    // While the intermittent client is away: a mute, a move, a departure.
    api.post("/api/v1/rooms/townhall/participants/bob/mute", json!({"kind": "audio", "muted": true})).await.expect(200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.post("/api/v1/rooms/townhall/participants/carol/move", json!({"to_room": "breakout"})).await.expect(200);
    assert_eq!(next_of_type(&mut carol, "moved").await["room"]["name"], "breakout");
    alice.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    assert_eq!(closed(&mut alice).await, 1000);
    let mut live = reference.until(|e| is(e, "participant_left", "alice")).await;
    let missed_upto = live.last().unwrap().id;

    // Back, the way EventSource reconnects.
    let mut intermittent = EventStream::open(&server, "", &[("last-event-id", &last_seen.to_string())]).await;

    // A kick, the end of the room, the last departure.
    api.delete("/api/v1/rooms/townhall/participants/bob?reason=spam").await.expect(204);
    assert_eq!(next_of_type(&mut bob, "removed").await["reason"], "spam");
    assert_eq!(closed(&mut bob).await, 1000);
    api.delete("/api/v1/rooms/townhall").await.expect(204);
    tokio::time::sleep(Duration::from_millis(200)).await;
    carol.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    assert_eq!(closed(&mut carol).await, 1000);

    let mut ended = 0;
    live.extend(
        reference
            .until(|e| {
                ended += usize::from(e.event == "room_ended");
                ended == 2
            })
            .await,
    );
    let all = live;
    let last = all.last().unwrap().id;
    let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=last).collect::<Vec<_>>(), "seq 1, 2, 3, … without gaps");
    // The store holds the same, in the same order.
    let mut replay = EventStream::open(&server, "?last_event_id=0", &[]).await;
    for expected in &all {
        assert_eq!(&replay.next().await, expected, "replayed from the store");
    }
    drop(replay);

    // The scenario, room by room, step by step (the two rooms' events may interleave).
    let of = |room: &str| all.iter().filter(|e| e.data["room"] == room).map(step).collect::<Vec<_>>();
    assert_eq!(
        of("townhall"),
        steps(
            "townhall",
            &[
                ("room_started", "", ""),
                ("participant_joined", "alice", ""),
                ("participant_joined", "bob", ""),
                ("participant_joined", "carol", ""),
                ("moderator_action", "bob", "mute by ops"),
                ("participant_left", "carol", "moved"),
                ("moderator_action", "carol", "move by ops"),
                ("participant_left", "alice", "left"),
                ("participant_left", "bob", "removed"),
                ("moderator_action", "bob", "remove by ops"),
                ("moderator_action", "", "end_room by ops"),
                ("room_ended", "", ""),
            ]
        ),
        "{all:#?}"
    );
    assert_eq!(
        of("breakout"),
        steps(
            "breakout",
            &[
                ("room_started", "", ""),
                ("participant_joined", "carol", "moved in"),
                ("participant_left", "carol", "left"),
                ("room_ended", "", ""),
            ]
        ),
        "{all:#?}"
    );
    assert_eq!(all.len(), 16, "nothing but the scenario: {all:#?}");

    // The intermittent client: what it saw before dropping, then exactly the missed events
    // (replayed from the store), then live up to the end: the whole sequence once, in order.
    let mut resumed = Vec::new();
    while resumed.last().is_none_or(|e: &SseEvent| e.id < last) {
        resumed.push(intermittent.next().await);
    }
    let missed: Vec<SseEvent> = all.iter().filter(|e| e.id > last_seen && e.id <= missed_upto).cloned().collect();
    assert!(missed.len() >= 4, "the mute, the move and alice's departure were missed: {missed:#?}");
    assert_eq!(resumed[..missed.len()], missed[..], "the missed events, replayed in order");
    let whole: Vec<SseEvent> = before_drop.iter().chain(&resumed).cloned().collect();
    assert_eq!(whole, all, "before the drop + after the reconnect = everything, once");
    assert!(intermittent.next_within(Duration::from_millis(300)).await.is_none(), "nothing more");
    drop(intermittent);

    // Webhooks: the first delivery was refused and retried; after that, every event once, each
    // signed, each body the event as streamed.
    let deliveries = receiver.settle(last).await;
    let bad: Vec<_> = deliveries.iter().filter(|d| d.signature.is_err()).collect();
    assert!(bad.is_empty(), "signatures that do not verify: {bad:#?}");
    let first = &deliveries[0];
    assert_eq!(first.answered, 500);
    let attempts_of_first: Vec<_> = deliveries.iter().filter(|d| d.seq() == first.seq()).collect();
    assert_eq!(attempts_of_first.len(), 2, "the refused delivery was retried once: {attempts_of_first:#?}");
    assert_eq!(attempts_of_first[1].answered, 200);
    assert_eq!(attempts_of_first[1].body, first.body, "the retry carries the same event");
    assert_eq!(deliveries.len(), all.len() + 1, "one POST per event, plus the one retry");
    let mut accepted: Vec<&Delivery> = deliveries.iter().filter(|d| d.answered == 200).collect();
    accepted.sort_by_key(|d| d.seq());
    let hooked: Vec<(u64, &Value)> = accepted.iter().map(|d| (d.seq(), &d.body)).collect();
    let streamed: Vec<(u64, &Value)> = all.iter().map(|e| (e.id, &e.data)).collect();
    assert_eq!(hooked, streamed, "each event delivered once (by seq), with the streamed JSON");
    let stats = server.webhook_stats();
    assert_eq!((stats.delivered, stats.retried, stats.failed, stats.dropped), (last, 1, 0, 0), "{stats:?}");

    // Session records, exact: each leg is what the events say, with the moderator actions on it.
    let ev = |ty: &str, room: &str, who: &str| {
        the(&all, &format!("{ty} {who} in {room}"), |e| is(e, ty, who) && e.data["room"] == room).clone()
    };
    let action = |what: &str, who: &str| {
        let pred = |e: &SseEvent| is(e, "moderator_action", who) && e.data["data"]["action"] == what;
        the(&all, &format!("{what} on {who}"), pred).clone()
    };
    let (mute, mv, remove) = (action("mute", "bob"), action("move", "carol"), action("remove", "bob"));
    assert_eq!(mute.data["data"]["details"]["kind"], "audio", "{:?}", mute.data);
    assert_eq!(mv.data["data"]["details"]["to_room"], "breakout", "{:?}", mv.data);
    let removal = &remove.data["data"]["details"];
    assert_eq!((&removal["reason"], &removal["ban"]), (&json!("spam"), &json!(false)));
    let townhall_legs = [
        expected_leg(&ev("participant_joined", "townhall", "alice"), &ev("participant_left", "townhall", "alice"), &[]),
        expected_leg(
            &ev("participant_joined", "townhall", "bob"),
            &ev("participant_left", "townhall", "bob"),
            &[&mute, &remove],
        ),
        expected_leg(&ev("participant_joined", "townhall", "carol"), &ev("participant_left", "townhall", "carol"), &[&mv]),
    ];
    let breakout_legs =
        [expected_leg(&ev("participant_joined", "breakout", "carol"), &ev("participant_left", "breakout", "carol"), &[])];

    let townhall = common::ended_session(&api, "townhall").await;
    let breakout = common::ended_session(&api, "breakout").await;
    let mut wrong_durations = Vec::new();
    for (session, room, legs) in [(&townhall, "townhall", &townhall_legs[..]), (&breakout, "breakout", &breakout_legs[..])] {
        let started = the(&all, "start", |e| e.event == "room_started" && e.data["room"] == room);
        let ended = the(&all, "end", |e| e.event == "room_ended" && e.data["room"] == room);
        assert_eq!(session["room"], room);
        assert_eq!(session["started_at"], started.data["at"], "{session:#}");
        assert_eq!(session["ended_at"], ended.data["at"], "{session:#}");
        assert_eq!(session["participants"].as_array().unwrap()[..], legs[..], "legs of {room}");
        // A stay's duration is the time between its own join and departure (checked last, so
        // that everything else is checked whatever this finds).
        for leg in legs {
            let stay_ms = ms_of_day(&leg["left_at"]) - ms_of_day(&leg["joined_at"]);
            let duration_ms = (leg["duration_s"].as_f64().unwrap() * 1000.0) as i64;
            if (duration_ms - stay_ms).abs() > 100 {
                wrong_durations.push(format!(
                    "{room}: {}'s leg says duration_s {duration_ms} ms, but it joined at {} and left at {} ({stay_ms} ms)",
                    leg["identity"], leg["joined_at"], leg["left_at"]
                ));
            }
        }
    }
    assert_eq!(townhall["peak_participants"], 3);
    assert_eq!(breakout["peak_participants"], 1);
    let list = eventually(&api, "/api/v1/sessions", |p| p["sessions"].as_array().is_some_and(|s| s.len() == 2)).await;
    let summary = |s: &Value| json!({
        "id": s["id"], "room": s["room"], "started_at": s["started_at"], "ended_at": s["ended_at"],
        "peak_participants": s["peak_participants"], "participants": s["participants"].as_array().unwrap().len(),
    });
    assert_eq!(list, json!({"sessions": [summary(&breakout), summary(&townhall)], "next_cursor": null}), "newest first");
    drop(reference);
    server.shutdown().await;

    // Restart on the same file: the same records, and the same event log.
    let server = spawn_test_server_with(config()).await.unwrap();
    let api = Api::as_caller(&server, "ops");
    assert_eq!(api.get("/api/v1/sessions").await.expect(200), list);
    for session in [&townhall, &breakout] {
        let id = session["id"].as_str().unwrap();
        assert_eq!(&api.get(&format!("/api/v1/sessions/{id}")).await.expect(200), session);
    }
    let mut replay = EventStream::open(&server, "?last_event_id=0", &[]).await;
    for expected in &all {
        assert_eq!(&replay.next().await, expected);
    }
    assert!(replay.next_within(Duration::from_millis(300)).await.is_none(), "no event since the restart");
    drop(replay);
    server.shutdown().await;
    assert_eq!(receiver.deliveries().len(), all.len() + 1, "nothing delivered twice across the restart");
    assert!(wrong_durations.is_empty(), "durations that are not the stay's: {wrong_durations:#?}");
}
