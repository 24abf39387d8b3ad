//! Publishing: the publisher offer, local tracks and their pumps, what was sent.

use super::*;

impl TestParticipant {
    /// Adds the configured tracks to the publisher PC, offers (`publish_offer` with `sources`),
    /// applies the `publish_answer`, waits for the publisher PC to connect and starts the media
    /// pumps and the PLI/FIR readers.
    pub async fn publish(&mut self) -> Result<()> {
        anyhow::ensure!(self.published.is_empty(), "already published");
        anyhow::ensure!(!self.stopped, "participant stopped");
        let stream_id = format!("{}-stream-{}", self.identity(), random_suffix());
        let mut kinds = vec![];
        if self.config.publish_audio {
            kinds.push(MediaKind::Audio);
        }
        if self.config.publish_video {
            kinds.push(MediaKind::Video);
        }
        anyhow::ensure!(!kinds.is_empty(), "nothing to publish");

        let mut sources = serde_json::Map::new();
        let mut published = vec![];
        for kind in kinds {
            let track_id = format!("{}-{}-{}", self.identity(), kind, random_suffix());
            let ssrc = loop {
                let s: u32 = rand::random();
                if s != 0 {
                    break s;
                }
            };
            let source = match kind {
                MediaKind::Audio => self.config.audio_source.as_deref().unwrap_or("microphone"),
                MediaKind::Video => "camera",
            };
            let label = format!("{kind}-label");
            let track = crate::local::static_track(kind == MediaKind::Audio, &stream_id, &track_id, &label, ssrc);
            let sender = self
                .publisher
                .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
                .await
                .map_err(|e| anyhow!("add_track({kind}): {e}"))?;
            sources.insert(track_id.clone(), Value::from(source));
            published.push(PublishedTrack {
                state: Arc::new(LocalTrackState {
                    kind,
                    origin: media::origin_tag(&track_id),
                    track_id,
                    stream_id: stream_id.clone(),
                    ssrc,
                    payload_type: std::sync::atomic::AtomicU8::new(0),
                    packets_sent: AtomicU64::new(0),
                    write_errors: AtomicU64::new(0),
                    keyframes_sent: AtomicU64::new(0),
                    plis: AtomicU64::new(0),
                    firs: AtomicU64::new(0),
                    keyframe_requested: AtomicBool::new(false),
                    payload_bytes_sent: AtomicU64::new(0),
                    packets_dropped: AtomicU64::new(0),
                    audio_level_ext: std::sync::atomic::AtomicU8::new(0),
                    audio_level: std::sync::atomic::AtomicU8::new(
                        self.config.audio_level.unwrap_or(127).min(127),
                    ),
                    drop_every_nth: self.config.drop_every_nth.filter(|n| *n > 0),
                    packets_numbered: AtomicU64::new(0),
                }),
                track,
                sender,
            });
        }

        let offer = crate::local::create_offer(self.publisher.as_ref()).await?;
        let before = self.inner.publish_answers_applied.load(Ordering::Acquire);
        let errors_before = self.inner.errors.lock().unwrap().len();
        self.sender
            .send(json!({"type": "publish_offer", "sdp": offer.sdp, "sources": sources}))
            .await?;

        // Wait for the loop to apply the publish_answer (or for an error).
        let deadline = Instant::now() + self.config.timeout;
        loop {
            if self.inner.publish_answers_applied.load(Ordering::Acquire) > before {
                break;
            }
            if let Some(e) = self.inner.errors.lock().unwrap().get(errors_before) {
                bail!("publish failed: {e}");
            }
            if Instant::now() >= deadline {
                bail!(
                    "no publish_answer within {:?}; last error message: {:?}",
                    self.config.timeout,
                    self.last_message_of_type("error")
                );
            }
            tokio::time::sleep(POLL).await;
        }

        self.wait_publisher_connected(self.config.timeout)
            .await
            .context("publisher PC did not connect")?;

        for p in &published {
            let mime = match p.state.kind {
                MediaKind::Audio => MIME_TYPE_OPUS,
                MediaKind::Video => MIME_TYPE_VP8,
            };
            let params = p
                .sender
                .get_parameters()
                .await
                .map_err(|e| anyhow!("get_parameters: {e}"))?;
            let pt = params
                .rtp_parameters
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                .map(|c| c.payload_type)
                .with_context(|| format!("{mime} not negotiated on the publisher PC"))?;
            p.state.payload_type.store(pt, Ordering::Relaxed);
            if p.state.kind == MediaKind::Audio && self.config.audio_level.is_some() {
                let id = params
                    .rtp_parameters
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == AUDIO_LEVEL_URI)
                    .and_then(|e| u8::try_from(e.id).ok())
                    .filter(|id| (1..=14).contains(id))
                    .with_context(|| {
                        format!(
                            "{AUDIO_LEVEL_URI} not negotiated on the audio sender; negotiated: {:?}",
                            params.rtp_parameters.header_extensions
                        )
                    })?;
                p.state.audio_level_ext.store(id, Ordering::Relaxed);
            }

            self.inner
                .spawn(rtcp_reader(Arc::clone(&p.state), Arc::clone(&p.track)));
            match p.state.kind {
                MediaKind::Audio => self.inner.spawn(audio_pump(
                    Arc::clone(&p.state),
                    Arc::clone(&p.track),
                    self.config.audio_payload_len,
                )),
                MediaKind::Video => self.inner.spawn(video_pump(
                    Arc::clone(&p.state),
                    Arc::clone(&p.track),
                    self.config.video_fps,
                    self.config.video_size,
                    self.config.keyframe_interval,
                    self.config.fixed_video_packets,
                )),
            };
        }
        self.published = published;
        Ok(())
    }

    /// What this participant publishes (with PLI/FIR counts).
    pub fn published(&self) -> Vec<PublishedTrackInfo> {
        self.published
            .iter()
            .map(|p| {
                let s = &p.state;
                PublishedTrackInfo {
                    kind: s.kind,
                    track_id: s.track_id.clone(),
                    stream_id: s.stream_id.clone(),
                    ssrc: s.ssrc,
                    origin_tag: s.origin,
                    payload_type: s.payload_type.load(Ordering::Relaxed),
                    packets_sent: s.packets_sent.load(Ordering::Relaxed),
                    write_errors: s.write_errors.load(Ordering::Relaxed),
                    keyframes_sent: s.keyframes_sent.load(Ordering::Relaxed),
                    plis_received: s.plis.load(Ordering::Acquire),
                    firs_received: s.firs.load(Ordering::Acquire),
                    payload_bytes_sent: s.payload_bytes_sent.load(Ordering::Relaxed),
                    packets_dropped: s.packets_dropped.load(Ordering::Relaxed),
                    audio_level_ext_id: match s.audio_level_ext.load(Ordering::Relaxed) {
                        0 => None,
                        id => Some(id),
                    },
                }
            })
            .collect()
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
            self.config.audio_level.is_some(),
            "audio levels are not enabled (ParticipantConfig::audio_level)"
        );
        let audio = self
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
        self.published
            .iter()
            .map(|p| p.state.plis.load(Ordering::Acquire))
            .sum()
    }

    /// FIRs received by the publisher, over all its tracks.
    pub fn firs_received(&self) -> u64 {
        self.published
            .iter()
            .map(|p| p.state.firs.load(Ordering::Acquire))
            .sum()
    }
}
