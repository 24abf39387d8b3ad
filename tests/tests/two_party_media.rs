//! Two participants publish audio + video; each receives the other's media through the server,
//! on the SSRC and payload type its subscriber SDP declared, with continuous sequence numbers
//! and intact payloads.

mod common;

use anyhow::Context;
use common::{bounded, check_media_from, check_no_echo, has_media_from, http_base, MEDIA_TIMEOUT};
use switchboard_tests::TestParticipant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_participants_exchange_audio_and_video() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());

        let mut alice = TestParticipant::join(&base, &server.token("two-party", "alice"))
            .await
            .context("alice joins")?;
        let mut bob = TestParticipant::join(&base, &server.token("two-party", "bob"))
            .await
            .context("bob joins")?;
        alice.publish().await.context("alice publishes")?;
        bob.publish().await.context("bob publishes")?;

        alice
            .wait_for(|t| has_media_from(t, &[bob.sid()]), MEDIA_TIMEOUT)
            .await
            .context("alice receives bob")?;
        bob.wait_for(|t| has_media_from(t, &[alice.sid()]), MEDIA_TIMEOUT)
            .await
            .context("bob receives alice")?;

        // Let more media through so the checks cover a longer stretch.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let at_alice = alice.received();
        let at_bob = bob.received();

        check_media_from(&alice, &at_alice, &bob)?;
        check_media_from(&bob, &at_bob, &alice)?;
        check_no_echo(&alice, &at_alice)?;
        check_no_echo(&bob, &at_bob)?;
        anyhow::ensure!(
            at_alice.len() == 2 && at_bob.len() == 2,
            "each side must receive exactly the other's two tracks: alice {at_alice:#?} bob {at_bob:#?}"
        );
        anyhow::ensure!(
            alice.errors().is_empty() && bob.errors().is_empty(),
            "client-side signalling errors: alice {:?} bob {:?}",
            alice.errors(),
            bob.errors()
        );

        alice.leave().await?;
        bob.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
