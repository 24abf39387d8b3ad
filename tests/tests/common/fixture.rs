//! [`ModerationRoom`]: the three-party set-up the moderation tests share: a test server, two
//! participants (alice and bob) publishing and receiving each other, a moderator (`room_admin`,
//! receiving nothing), an admin API client, and the tokens each joined with.

use anyhow::{ensure, Context, Result};
use switchboard_tests::TestParticipant;

use super::{has_media_from, http_base, moderator_token, AdminApi, MEDIA_TIMEOUT};

/// Identity of the moderator.
pub const MODERATOR: &str = "mod";

/// A room with alice and bob exchanging media and a moderator in it.
pub struct ModerationRoom {
    pub server: switchboard::RunningServer,
    /// `http://…` of the server.
    pub base: String,
    pub room: String,
    /// Publishes, receives bob.
    pub alice: TestParticipant,
    /// Publishes, receives alice.
    pub bob: TestParticipant,
    /// `room_admin`, `can_subscribe: false`.
    pub moderator: TestParticipant,
    /// The admin API, with an admin token.
    pub admin: AdminApi,
    /// The join tokens alice and bob used (e.g. to check one is revoked after a removal).
    pub alice_token: String,
    pub bob_token: String,
}

impl ModerationRoom {
    /// Starts a test server; alice and bob join `room` and publish, the moderator joins; returns
    /// once each of alice and bob receives the other's audio and video.
    pub async fn start(room: &str) -> Result<ModerationRoom> {
        let server = switchboard::testing::spawn_test_server().await.context("spawn test server")?;
        let base = http_base(server.http_addr());
        let (alice_token, bob_token) = (server.token(room, "alice"), server.token(room, "bob"));
        let mut alice = TestParticipant::join(&base, &alice_token).await.context("alice joins")?;
        let mut bob = TestParticipant::join(&base, &bob_token).await.context("bob joins")?;
        let moderator = TestParticipant::join(&base, &moderator_token(&server, room, MODERATOR))
            .await
            .context("the moderator joins")?;
        alice.publish().await.context("alice publishes")?;
        bob.publish().await.context("bob publishes")?;
        alice.wait_for(|t| has_media_from(t, &[bob.sid()]), MEDIA_TIMEOUT).await.context("alice receives bob")?;
        bob.wait_for(|t| has_media_from(t, &[alice.sid()]), MEDIA_TIMEOUT).await.context("bob receives alice")?;
        let admin = AdminApi::new(&server);
        Ok(ModerationRoom { server, base, room: room.to_owned(), alice, bob, moderator, admin, alice_token, bob_token })
    }

    /// Another participant joining `room` (this one or another) and publishing.
    pub async fn join_publishing(&self, room: &str, identity: &str) -> Result<TestParticipant> {
        let mut p = TestParticipant::join(&self.base, &self.server.token(room, identity))
            .await
            .with_context(|| format!("{identity} joins {room}"))?;
        p.publish().await.with_context(|| format!("{identity} publishes"))?;
        Ok(p)
    }

    /// Checks that none of `participants` saw a client-side error.
    pub fn ensure_no_client_errors(participants: &[&TestParticipant]) -> Result<()> {
        for p in participants {
            ensure!(p.errors().is_empty(), "{}: client errors {:?}", p.identity(), p.errors());
        }
        Ok(())
    }

    /// Checks that nobody saw a client error, then everyone leaves and the server stops.
    pub async fn finish(self) -> Result<()> {
        Self::ensure_no_client_errors(&[&self.alice, &self.bob, &self.moderator])?;
        self.moderator.leave().await?;
        self.alice.leave().await?;
        self.bob.leave().await?;
        let _ = self.server.shutdown().await;
        Ok(())
    }
}
