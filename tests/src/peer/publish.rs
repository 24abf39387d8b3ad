//! Publishing over Switchboard's signalling: the `publish_offer` round trip, then the pair's
//! media; what was sent and the keyframe requests the publisher heard.

use super::*;

impl TestParticipant {
    /// Adds the configured tracks to the publisher PC, offers (`publish_offer` with `sources`),
    /// applies the `publish_answer`, waits for the publisher PC to connect and starts the media
    /// pumps and the PLI/FIR readers.
    pub async fn publish(&mut self) -> Result<()> {
        let identity = self.identity().to_owned();
        let sources = self.pair.add_tracks(&identity).await?;
        let offer = crate::local::create_offer(self.pair.publisher()).await?;
        let inner = &self.pair.inner;
        let before = inner.publish_answers_applied.load(Ordering::Acquire);
        let errors_before = inner.errors.lock().unwrap().len();
        self.sender
            .send(json!({"type": "publish_offer", "sdp": offer.sdp, "sources": sources}))
            .await?;

        // Wait for the loop to apply the publish_answer (or for an error).
        let timeout = self.pair.config.timeout;
        let deadline = Instant::now() + timeout;
        loop {
            if inner.publish_answers_applied.load(Ordering::Acquire) > before {
                break;
            }
            if let Some(e) = inner.errors.lock().unwrap().get(errors_before) {
                bail!("publish failed: {e}");
            }
            if Instant::now() >= deadline {
                bail!(
                    "no publish_answer within {timeout:?}; last error message: {:?}",
                    self.last_message_of_type("error")
                );
            }
            tokio::time::sleep(POLL).await;
        }

        self.wait_publisher_connected(timeout)
            .await
            .context("publisher PC did not connect")?;
        self.pair.start_media().await
    }

    /// What this participant publishes (with PLI/FIR counts).
    pub fn published(&self) -> Vec<PublishedTrackInfo> {
        self.pair.published()
    }

    /// The published track of `kind`, if any.
    pub fn published_track(&self, kind: MediaKind) -> Option<PublishedTrackInfo> {
        self.published().into_iter().find(|t| t.kind == kind)
    }

    /// Changes the RFC 6464 level (0 = loudest … 127 = silence, -dBov) put on every audio
    /// packet from now on. Needs [`ParticipantConfig::audio_level`] and a published audio
    /// track.
    pub fn set_audio_level(&self, level: u8) -> Result<()> {
        anyhow::ensure!(
            self.pair.config.audio_level.is_some(),
            "audio levels are not enabled (ParticipantConfig::audio_level)"
        );
        let audio = self
            .pair
            .published
            .iter()
            .find(|p| p.state.kind == MediaKind::Audio)
            .context("no published audio track")?;
        audio
            .state
            .audio_level
            .store(level.min(127), Ordering::Relaxed);
        Ok(())
    }

    /// PLIs received by the publisher, over all its tracks.
    pub fn plis_received(&self) -> u64 {
        self.pair
            .published
            .iter()
            .map(|p| p.state.plis.load(Ordering::Acquire))
            .sum()
    }

    /// FIRs received by the publisher, over all its tracks.
    pub fn firs_received(&self) -> u64 {
        self.pair
            .published
            .iter()
            .map(|p| p.state.firs.load(Ordering::Acquire))
            .sum()
    }
}
