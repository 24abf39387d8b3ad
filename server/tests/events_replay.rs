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

#[tokio::test]
async fn streams_opened_during_a_burst_neither_skip_nor_repeat_events() {
    let server = spawn_test_server().await.unwrap();
    let mut reference = EventStream::open(&server, "", &[]).await;
    Api::new(&server).create_room("burst", Value::Null).await;
    // Event 1 exists before any client claims to have seen it.
    assert_eq!(reference.next().await.id, 1);
    let addr = server.http_addr();
    let tokens: Vec<String> = (0..40).map(|i| server.token("burst", &format!("p{i}"))).collect();
    let burst = tokio::spawn(async move {
        let mut participants = Vec::new();
        for token in tokens {
            let url = format!("ws://{addr}/ws?access_token={token}");
            participants.push(tokio_tungstenite::connect_async(url).await.unwrap().0);
        }
        participants
    });
    // Each stream subscribes while events are being persisted and broadcast: some of them reach
    // it both from the store and live.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(EventStream::open(&server, "", &[("last-event-id", "1")]).await);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let _participants = burst.await.unwrap();
    let last = reference.until(|e| is(e, "participant_joined", "p39")).await.last().unwrap().id;
    for mut client in clients {
        let ids: Vec<u64> = client.until(|e| e.id >= last).await.iter().map(|e| e.id).collect();
        assert_eq!(ids, (2..=last).collect::<Vec<_>>());
    }
    server.shutdown().await;
}
