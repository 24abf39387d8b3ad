//! Removal delivers its notice and a clean close even while the removed client is talking: a
//! participant that sends a message every 50 ms (as a client trickling candidates or pinging
//! does) and is removed by a moderator must read `removed{reason}` and then a close frame with
//! 1000 — not a TCP reset that swallows them. Repeated, since it is a race.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context};
use common::{bounded, http_base, moderate, moderator_token, MESSAGE_TIMEOUT};
use serde_json::json;
use switchboard_tests::{msg_type, ws_url, Message, SignalClient, TestParticipant};

const ROOM: &str = "moderation-remove-close";
const ROUNDS: usize = 40;
/// How often the removed client sends a `ping`: for the ~0.2 s it talks that is ~50 messages,
/// within the protocol's burst of 100.
const CHATTER: Duration = Duration::from_millis(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_participant_gets_notice_and_close_while_sending() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());
        let m = TestParticipant::join(&base, &moderator_token(&server, ROOM, "mod"))
            .await
            .context("the moderator joins")?;

        let mut failures = vec![];
        for round in 0..ROUNDS {
            let identity = format!("talker-{round}");
            let (mut client, _joined) =
                SignalClient::connect(&ws_url(&base, &server.token(ROOM, &identity)))
                    .await
                    .with_context(|| format!("{identity} joins"))?;
            let tx = client.sender();
            let chatter = tokio::spawn(async move {
                let mut n = 0u64;
                while tx.send(json!({"type": "ping", "ts": n})).await.is_ok() {
                    n += 1;
                    tokio::time::sleep(CHATTER).await;
                }
            });
            tokio::time::sleep(Duration::from_millis(60)).await;
            moderate(
                &m,
                json!({"type": "moderate", "action": "remove", "identity": identity, "reason": "bye"}),
            )
            .await
            .with_context(|| format!("remove {identity}"))?;

            let mut seen = vec![];
            let closed = loop {
                match client.recv_message(MESSAGE_TIMEOUT).await {
                    Some(Message::Json(v)) => {
                        if msg_type(&v) != Some("pong") {
                            seen.push(v);
                        }
                    }
                    Some(Message::Closed { code, reason }) => break Some((code, reason)),
                    Some(_) => {}
                    None => break None,
                }
            };
            chatter.abort();
            let got_notice = seen.iter().any(|v| {
                msg_type(v) == Some("removed") && v.get("reason") == Some(&json!("bye"))
            });
            let clean = matches!(closed, Some((Some(1000), _)));
            if !(got_notice && clean) {
                failures.push(format!("round {round}: messages {seen:?}, then {closed:?}"));
            }
        }
        ensure!(
            failures.is_empty(),
            "{} of {ROUNDS} removals did not deliver `removed` + close 1000:\n{}",
            failures.len(),
            failures.join("\n")
        );

        m.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
