//! A client that reconnects with `Last-Event-ID` (or `?last_event_id=`) receives exactly the
//! events it missed, in order, then the live ones with no gap and no duplicate; numbering starts
//! at 1.

mod common;

use common::sse::{is, EventStream, SseEvent};
use common::{join, Api};
use futures_util::SinkExt;
use serde_json::Value;
use switchboard::testing::spawn_test_server;
use tokio_tungstenite::tungstenite::Message;

fn leave() -> Message {
    Message::text(r#"{"type":"leave"}"#)
}

#[tokio::test]
async fn reconnecting_with_last_event_id_replays_exactly_the_missed_events_then_goes_live() {
    let server = spawn_test_server().await.unwrap();
    // Connected throughout: what a client that never dropped would have seen.
    let mut reference = EventStream::open(&server, "", &[]).await;
    let mut client = EventStream::open(&server, "", &[]).await;
    Api::new(&server).create_room("replay", Value::Null).await;
    let mut alice = join(&server, "replay", "alice").await;
    let last_seen = client.until(|e| is(e, "participant_joined", "alice")).await.last().unwrap().id;
    drop(client);

    // While the client is away: bob comes and goes, alice leaves.
    let mut bob = join(&server, "replay", "bob").await;
    bob.send(leave()).await.unwrap();
    alice.send(leave()).await.unwrap();
    let all = reference.until(|e| is(e, "participant_left", "alice")).await;
    assert_eq!(all[0].id, 1, "numbering starts at 1: {:?}", all[0]);
    let missed: Vec<SseEvent> = all.into_iter().filter(|e| e.id > last_seen).collect();
    assert!(missed.iter().any(|e| is(e, "participant_joined", "bob")), "{missed:?}");
    assert!(missed.iter().any(|e| is(e, "participant_left", "bob")), "{missed:?}");

    // Reconnect the way EventSource does.
    let mut client = EventStream::open(&server, "", &[("last-event-id", &last_seen.to_string())]).await;
    let mut replayed = Vec::new();
    for _ in 0..missed.len() {
        replayed.push(client.next().await);
    }
    assert_eq!(replayed, missed, "exactly the missed events, in order");

    // Then live: the same events as the reference, one after the other, nothing twice.
    let _carol = join(&server, "replay", "carol").await;
    let live = client.until(|e| is(e, "participant_joined", "carol")).await;
    let reference_live = reference.until(|e| is(e, "participant_joined", "carol")).await;
    assert_eq!(live, reference_live);
    assert_eq!(live[0].id, missed.last().unwrap().id + 1, "no gap after the replay");

    // The query parameter does the same, and the header wins over it.
    let mut by_query = EventStream::open(&server, &format!("?last_event_id={last_seen}"), &[]).await;
    assert_eq!(by_query.next().await, missed[0]);
    let mut both = EventStream::open(&server, "?last_event_id=0", &[("last-event-id", &last_seen.to_string())]).await;
    assert_eq!(both.next().await, missed[0]);
    let mut from_start = EventStream::open(&server, "?last_event_id=0", &[]).await;
    assert_eq!(from_start.next().await.id, 1);
    server.shutdown().await;
}
