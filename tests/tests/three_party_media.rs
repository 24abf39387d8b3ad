//! Three participants publish audio + video; each receives four tracks (audio and video of both
//! others), all on the negotiated SSRC and payload type, with continuous sequence numbers and
//! intact payloads.

mod common;

use anyhow::Context;
use common::{bounded, check_media_from, check_no_echo, has_media_from, http_base, MEDIA_TIMEOUT};
use switchboard_tests::TestParticipant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_participants_each_receive_four_tracks() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());

        let mut peers = Vec::new();
        for name in ["alice", "bob", "carol"] {
            let p = TestParticipant::join(&base, &server.token("three-party", name))
                .await
                .with_context(|| format!("{name} joins"))?;
            peers.push(p);
        }
        for p in peers.iter_mut() {
            let name = p.identity().to_owned();
            p.publish()
                .await
                .with_context(|| format!("{name} publishes"))?;
        }

        let sids: Vec<String> = peers.iter().map(|p| p.sid().to_owned()).collect();
        for (i, p) in peers.iter().enumerate() {
            let others: Vec<&str> = sids
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, s)| s.as_str())
                .collect();
            p.wait_for(|t| has_media_from(t, &others), MEDIA_TIMEOUT)
                .await
                .with_context(|| format!("{} receives both others", p.identity()))?;
        }

        for (i, p) in peers.iter().enumerate() {
            let tracks = p.received();
            anyhow::ensure!(
                tracks.len() == 4,
                "{} must receive exactly 4 tracks, got {}: {tracks:#?}",
                p.identity(),
                tracks.len()
            );
            check_no_echo(p, &tracks)?;
            for (j, other) in peers.iter().enumerate() {
                if i != j {
                    check_media_from(p, &tracks, other)?;
                }
            }
            anyhow::ensure!(
                p.errors().is_empty(),
                "{}: client-side signalling errors {:?}",
                p.identity(),
                p.errors()
            );
        }

        for p in peers {
            p.leave().await?;
        }
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
