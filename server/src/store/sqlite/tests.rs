//! The SQLite store on its own: records from changes, paging, filters, pruning, crash recovery.

use super::*;
use serde_json::json;

fn event(seq: u64, room: &str, at_ms: i64) -> StoredEvent {
    StoredEvent {
        seq,
        kind: "room_started".into(),
        at: format_ms(at_ms),
        at_ms,
        room: room.into(),
        room_sid: format!("RM_{room}"),
        participant: None,
        data: json!({"n": seq}),
    }
}

fn opened(session: &str, identity: &str, sid: &str, at_ms: i64) -> RecordChange {
    RecordChange::LegOpened {
        session: session.into(),
        room: "r".into(),
        identity: identity.into(),
        sid: sid.into(),
        name: Some(identity.to_uppercase()),
        at_ms,
    }
}

fn closed(session: &str, identity: &str, sid: &str, at_ms: i64, reason: &str) -> RecordChange {
    RecordChange::LegClosed {
        session: session.into(),
        room: "r".into(),
        identity: identity.into(),
        sid: sid.into(),
        name: None,
        at_ms,
        summary: LegSummary {
            duration_s: Some(2.5),
            reason: Some(reason.into()),
            remote_address: Some("127.0.0.1:5000".into()),
            codecs: vec!["audio/opus".into()],
            bytes_in: 100,
            bytes_out: 200,
            packets_in: 3,
            packets_out: 4,
        },
    }
}

fn started(id: &str, room: &str, at_ms: i64) -> RecordChange {
    RecordChange::SessionStarted { id: id.into(), room: room.into(), at_ms }
}

#[test]
fn a_session_records_legs_actions_and_its_end() {
    let store = SqliteStore::open_in_memory().unwrap();
    let action = json!({"action": "mute", "by": "ops", "at": format_ms(1_500), "details": {}});
    store
        .append(
            &[event(1, "r", 1_000)],
            &[
                started("RM_1", "r", 1_000),
                opened("RM_1", "alice", "PA_a", 1_100),
                opened("RM_1", "bob", "PA_b", 1_200),
                RecordChange::ModeratorAction {
                    session: "RM_1".into(),
                    identity: "alice".into(),
                    action: action.clone(),
                },
                closed("RM_1", "alice", "PA_a", 3_600, "left"),
                // Recorded after the leg closed (a remove): lands on that leg all the same.
                RecordChange::ModeratorAction {
                    session: "RM_1".into(),
                    identity: "alice".into(),
                    action: action.clone(),
                },
                RecordChange::SessionEnded {
                    id: "RM_1".into(),
                    room: "r".into(),
                    at_ms: 5_000,
                    peak_participants: Some(2),
                },
            ],
        )
        .unwrap();
    let s = store.session("RM_1").unwrap().unwrap();
    assert_eq!((s.room.as_str(), s.peak_participants), ("r", 2));
    assert_eq!(s.ended_at.as_deref(), Some("1970-01-01T00:00:05.000Z"));
    let [alice, bob] = &s.participants[..] else { panic!("two legs: {:?}", s.participants) };
    assert_eq!(
        (alice.identity.as_str(), alice.leave_reason.as_deref(), alice.duration_s),
        ("alice", Some("left"), Some(2.5))
    );
    assert_eq!((alice.bytes_in, alice.bytes_out, alice.packets_in, alice.packets_out), (100, 200, 3, 4));
    assert_eq!(alice.codecs, ["audio/opus"]);
    assert_eq!(alice.moderator_actions, [action.clone(), action]);
    assert_eq!(alice.name.as_deref(), Some("ALICE"));
    // Bob's own departure never arrived: the room's end closes his leg.
    assert_eq!((bob.leave_reason.as_deref(), bob.duration_s), (Some("room_ended"), Some(3.8)));
    assert!(store.session("RM_none").unwrap().is_none());
}

#[test]
fn lost_joins_and_starts_still_give_complete_records() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.append(&[], &[closed("RM_x", "carol", "PA_c", 10_000, "timeout")]).unwrap();
    let s = store.session("RM_x").unwrap().expect("the session is created from the departure");
    assert_eq!(s.participants.len(), 1);
    assert_eq!(s.participants[0].joined_at, "1970-01-01T00:00:07.500Z");
    assert_eq!(s.participants[0].leave_reason.as_deref(), Some("timeout"));
}

#[test]
fn sessions_page_newest_first_and_filter() {
    let store = SqliteStore::open_in_memory().unwrap();
    let mut changes = Vec::new();
    for i in 0..5 {
        let id = format!("RM_{i}");
        let room = if i % 2 == 0 { "even" } else { "odd" };
        changes.push(started(&id, room, 1_000 * i64::from(i)));
        changes.push(opened(&id, &format!("user{i}"), &format!("PA_{i}"), 1_000 * i64::from(i)));
        changes.push(RecordChange::SessionEnded {
            id,
            room: room.into(),
            at_ms: 1_000 * i64::from(i) + 500,
            peak_participants: None,
        });
    }
    store.append(&[], &changes).unwrap();

    let query = |q: SessionQuery| store.sessions(&q).unwrap();
    let ids = |p: &SessionPage| p.sessions.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    let first = query(SessionQuery { limit: 2, ..SessionQuery::default() });
    assert_eq!(ids(&first), ["RM_4", "RM_3"]);
    assert_eq!(first.sessions[0].participants, 1);
    assert_eq!(first.sessions[0].peak_participants, 1);
    let second = query(SessionQuery { limit: 2, cursor: first.next_cursor.clone(), ..SessionQuery::default() });
    assert_eq!(ids(&second), ["RM_2", "RM_1"]);
    let last = query(SessionQuery { limit: 2, cursor: second.next_cursor.clone(), ..SessionQuery::default() });
    assert_eq!((ids(&last), last.next_cursor), (vec!["RM_0".to_owned()], None));

    let all = |q: SessionQuery| ids(&query(SessionQuery { limit: 100, ..q }));
    assert_eq!(all(SessionQuery { room: Some("odd".into()), ..SessionQuery::default() }), ["RM_3", "RM_1"]);
    assert_eq!(all(SessionQuery { identity: Some("user2".into()), ..SessionQuery::default() }), ["RM_2"]);
    // Running at or after 2.6 s (RM_2 ended at 2.5 s), started by 3 s.
    assert_eq!(all(SessionQuery { from_ms: Some(2_600), to_ms: Some(3_000), ..SessionQuery::default() }), ["RM_3"]);
}

#[test]
fn numbering_survives_pruning_and_replay_filters_by_room() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(store.last_seq().unwrap(), 0);
    store.append(&[event(1, "a", 1_000), event(2, "b", 2_000), event(3, "a", 3_000)], &[]).unwrap();
    let seqs = |v: Vec<StoredEvent>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(store.events_after(1, None, 10).unwrap()), [2, 3]);
    assert_eq!(seqs(store.events_after(0, Some("a"), 10).unwrap()), [1, 3]);
    assert_eq!(seqs(store.events_after(0, None, 2).unwrap()), [1, 2]);
    let back = &store.events_after(2, None, 1).unwrap()[0];
    assert_eq!((back.room_sid.as_str(), &back.data), ("RM_a", &json!({"n": 3})));
    assert_eq!(store.prune_events(3_000).unwrap(), 2);
    assert_eq!(seqs(store.events_after(0, None, 10).unwrap()), [3]);
    assert_eq!(store.prune_events(10_000).unwrap(), 1);
    assert_eq!(store.last_seq().unwrap(), 3, "numbering never goes back");
}

#[test]
fn a_crash_leaves_nothing_open_after_recovery() {
    let dir = std::env::temp_dir().join(format!("sb-store-{}-{}", std::process::id(), now_ms()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("crash.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let mut e = event(1, "r", 4_000);
        e.room_sid = "RM_1".into();
        store.append(&[e], &[started("RM_1", "r", 1_000), opened("RM_1", "alice", "PA_a", 2_000)]).unwrap();
        // Dropped without any end: the process died here.
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.close_abandoned().unwrap(), Abandoned { sessions: 1, legs: 1 });
    let s = store.session("RM_1").unwrap().unwrap();
    assert_eq!(s.ended_at.as_deref(), Some("1970-01-01T00:00:04.000Z"), "ends at the last recorded event");
    let leg = &s.participants[0];
    assert_eq!((leg.leave_reason.as_deref(), leg.duration_s), (Some("error"), Some(2.0)));
    assert_eq!(store.close_abandoned().unwrap(), Abandoned::default(), "idempotent");
    assert_eq!(store.last_seq().unwrap(), 1);
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}
