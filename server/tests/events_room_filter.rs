//! `?room=` narrows the event stream, live and replayed, to one room's events, and to all of them.

mod common;

use common::join;
use common::sse::{is, EventStream, SseEvent};
use switchboard::testing::spawn_test_server;

#[tokio::test]
async fn room_filter_passes_exactly_that_rooms_events() {
    let server = spawn_test_server().await.unwrap();
    let mut everything = EventStream::open(&server, "", &[]).await;
    let mut only_a = EventStream::open(&server, "?room=a", &[]).await;
    let _bob = join(&server, "b", "bob").await;
    let _alice = join(&server, "a", "alice").await;
    let _brian = join(&server, "b", "brian").await;

    let all = everything.until(|e| is(e, "participant_joined", "brian")).await;
    assert!(all.iter().any(|e| e.data["room"] == "b"), "room b had events: {all:?}");
    let of_a: Vec<SseEvent> = all.iter().filter(|e| e.data["room"] == "a").cloned().collect();
    assert!(of_a.iter().any(|e| is(e, "participant_joined", "alice")));

    let mut filtered = Vec::new();
    for _ in 0..of_a.len() {
        filtered.push(only_a.next().await);
    }
    assert_eq!(filtered, of_a);

    // Replayed from the store, the filter holds too.
    let mut replay_b = EventStream::open(&server, "?room=b&last_event_id=0", &[]).await;
    let of_b: Vec<SseEvent> = all.iter().filter(|e| e.data["room"] == "b").cloned().collect();
    for expected in &of_b {
        assert_eq!(&replay_b.next().await, expected);
    }
    server.shutdown().await;
}
