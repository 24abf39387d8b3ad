//! `room_admin` is scoped to the token's room: a moderator that moves itself elsewhere gets its
//! `moderate_result`, but cannot moderate the room it moved into.

mod common;

use anyhow::Context;
use common::{bounded, http_base, moderate, moderator_token};
use serde_json::json;
use switchboard_tests::TestParticipant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_admin_does_not_follow_a_move_into_another_room() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server().await.expect("spawn test server");
        let base = http_base(server.http_addr());
        let m = TestParticipant::join(&base, &moderator_token(&server, "home", "mod")).await.context("mod joins")?;
        let _other = TestParticipant::join(&base, &server.token("elsewhere", "victim")).await.context("victim joins")?;

        let moved = moderate(&m, json!({"type": "moderate", "action": "move", "identity": "mod", "to_room": "elsewhere"}))
            .await
            .context("moving itself is answered")?;
        anyhow::ensure!(moved["identity"] == "mod", "the result names the moved moderator: {moved}");

        let refused = moderate(&m, json!({"type": "moderate", "action": "list"})).await;
        let err = refused.err().context("listing the other room must be refused")?;
        anyhow::ensure!(format!("{err:#}").contains("permission_denied"), "{err:#}");
        let refused = moderate(&m, json!({"type": "moderate", "action": "remove", "identity": "victim"})).await;
        anyhow::ensure!(refused.is_err(), "removing someone in the other room must be refused");
        server.shutdown().await;
        Ok(())
    })
    .await;
}
