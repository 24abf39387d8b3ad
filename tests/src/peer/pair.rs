//! [`PeerPair`]: a participant's two peer connections (publisher and subscriber) without
//! signalling: how they are built, the local tracks and their pumps, the remote tracks' readers,
//! the PC states, and the tasks they own. [`TestParticipant`] drives one over Switchboard's
//! WebSocket protocol; the load generator's Janus peer drives one over Janus' HTTP API.

use super::*;

/// Two peer connections on one shared state, with what they publish.
pub struct PeerPair {
    pub(super) config: ParticipantConfig,
    pub(super) publisher: Arc<dyn PeerConnection>,
    pub(super) subscriber: Arc<dyn PeerConnection>,
    pub(super) inner: Arc<Inner>,
    pub(super) published: Vec<PublishedTrack>,
    pub(super) stopped: bool,
}

async fn build_pc(
    handler: Arc<dyn PeerConnectionEventHandler>,
    with_keyframe_forwarder: bool,
    config: &ParticipantConfig,
) -> Result<Arc<dyn PeerConnection>> {
    let mut media_engine = MediaEngine::default();
    media_engine
        .register_default_codecs()
        .map_err(|e| anyhow!("register_default_codecs: {e}"))?;
    // Opt-in: offer RFC 6464 audio levels on the publisher PC (the only one built with the
    // keyframe-request forwarder).
    if with_keyframe_forwarder && config.audio_level.is_some() {
        media_engine
            .register_header_extension(
                RTCRtpHeaderExtensionCapability {
                    uri: AUDIO_LEVEL_URI.to_owned(),
                },
                RtpCodecKind::Audio,
                None,
            )
            .map_err(|e| anyhow!("register_header_extension({AUDIO_LEVEL_URI}): {e}"))?;
    }
    let mut registry = register_default_interceptors(Registry::new(), &mut media_engine)
        .map_err(|e| anyhow!("register_default_interceptors: {e}"))?;
    if with_keyframe_forwarder {
        registry = registry.with(
            Slot::from(14_000),
            switchboard_media::interceptor::RtcpTap::keyframe_requests_only(),
        );
    }
    let mut settings =
        SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    if let Some((disconnected, failed, keepalive)) = config.ice_timeouts {
        settings = settings.with_ice_timeouts(Some(disconnected), Some(failed), Some(keepalive));
    }
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(vec![])
                .build(),
        )
        .with_media_engine(media_engine)
        .with_setting_engine(settings.build())
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![SocketAddr::new(config.bind_ip, 0).to_string()])
        .build()
        .await
        .map_err(|e| anyhow!("building peer connection: {e}"))?;
    Ok(Arc::new(pc))
}

impl PeerPair {
    /// Builds both PCs (UDP on [`ParticipantConfig::bind_ip`], mDNS off, no ICE servers); the
    /// subscriber PC reads every remote track it gets, in the configured receive mode.
    pub async fn new(config: ParticipantConfig) -> Result<PeerPair> {
        let inner = Arc::new(Inner {
            measurement: config.measure.clone().map(Measurement::new),
            ..Inner::default()
        });
        let publisher = build_pc(
            Arc::new(PublisherHandler {
                inner: Arc::clone(&inner),
            }),
            true,
            &config,
        )
        .await?;
        let subscriber = build_pc(
            Arc::new(SubscriberHandler {
                inner: Arc::clone(&inner),
            }),
            false,
            &config,
        )
        .await?;
        Ok(PeerPair {
            config,
            publisher,
            subscriber,
            inner,
            published: Vec::new(),
            stopped: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ParticipantConfig {
        &self.config
    }

    /// The publisher PC (offers).
    pub fn publisher(&self) -> &dyn PeerConnection {
        self.publisher.as_ref()
    }

    /// The subscriber PC (answers).
    pub fn subscriber(&self) -> &dyn PeerConnection {
        self.subscriber.as_ref()
    }

    /// Adds the configured tracks (audio `microphone`, video `camera`) of stream
    /// `<identity>-stream-<random>` to the publisher PC; returns the `sources` map of a
    /// `publish_offer` (track id → source). Offer next, then [`start_media`](Self::start_media).
    pub async fn add_tracks(&mut self, identity: &str) -> Result<serde_json::Map<String, Value>> {
        anyhow::ensure!(self.published.is_empty(), "already published");
        anyhow::ensure!(!self.stopped, "participant stopped");
        let stream_id = format!("{identity}-stream-{}", random_suffix());
        let mut kinds = vec![];
        if self.config.publish_audio {
            kinds.push(MediaKind::Audio);
        }
        if self.config.publish_video {
            kinds.push(MediaKind::Video);
        }
        anyhow::ensure!(!kinds.is_empty(), "nothing to publish");
        // Fail before anything is offered if the video timing cannot be built.
        VideoPlan::new(&self.config)?;

        let mut sources = serde_json::Map::new();
        for kind in kinds {
            let track_id = format!("{identity}-{kind}-{}", random_suffix());
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
            let track = crate::local::static_track(
                kind == MediaKind::Audio,
                &stream_id,
                &track_id,
                &label,
                ssrc,
            );
            let sender = self
                .publisher
                .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
                .await
                .map_err(|e| anyhow!("add_track({kind}): {e}"))?;
            sources.insert(track_id.clone(), Value::from(source));
            self.published.push(PublishedTrack {
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
                    keyframe_requests: AtomicU64::new(0),
                    window: self.config.measure.clone(),
                    sent_in_window: AtomicU64::new(0),
                }),
                track,
                sender,
            });
        }
        Ok(sources)
    }

    /// Once the publisher PC is connected: learns the negotiated payload types (and the audio
    /// level extension id, when configured) and starts the media pumps and the PLI/FIR readers.
    pub async fn start_media(&self) -> Result<()> {
        let plan = VideoPlan::new(&self.config)?;
        for p in &self.published {
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
                    plan,
                )),
            };
        }
        Ok(())
    }

    /// The local description of the publisher (`true`) or subscriber PC once its ICE gathering
    /// completed (for a full-ICE server such as Janus, which needs our candidates in the SDP).
    pub async fn gathered_local_sdp(&self, publisher: bool, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        while !self.inner.gathered[usize::from(!publisher)].load(Ordering::Acquire) {
            if Instant::now() >= deadline {
                bail!("ICE gathering did not complete within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pc = if publisher { &self.publisher } else { &self.subscriber };
        pc.local_description()
            .await
            .map(|d| d.sdp)
            .context("no local description")
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
                    keyframe_requests: s.keyframe_requests.load(Ordering::Relaxed),
                    payload_bytes_sent: s.payload_bytes_sent.load(Ordering::Relaxed),
                    packets_dropped: s.packets_dropped.load(Ordering::Relaxed),
                    packets_sent_in_window: s.sent_in_window.load(Ordering::Relaxed),
                    audio_level_ext_id: match s.audio_level_ext.load(Ordering::Relaxed) {
                        0 => None,
                        id => Some(id),
                    },
                }
            })
            .collect()
    }

    /// Measure mode: runs `f` on what arrived so far (`None` without
    /// [`ParticipantConfig::measure`]).
    pub fn with_measured<R>(&self, f: impl FnOnce(&Measured) -> R) -> Option<R> {
        let m = self.inner.measurement.as_ref()?;
        Some(f(&m.measured.lock().unwrap()))
    }

    /// Local failures (SDP that could not be applied, sends that failed, …).
    pub fn errors(&self) -> Vec<String> {
        self.inner.errors.lock().unwrap().clone()
    }

    /// Current state and history of both PCs.
    pub fn connection_states(&self) -> ConnectionStates {
        let publisher_history = self.inner.publisher_states.lock().unwrap().clone();
        let subscriber_history = self.inner.subscriber_states.lock().unwrap().clone();
        ConnectionStates {
            publisher: publisher_history
                .last()
                .copied()
                .unwrap_or(RTCPeerConnectionState::New),
            subscriber: subscriber_history
                .last()
                .copied()
                .unwrap_or(RTCPeerConnectionState::New),
            publisher_history,
            subscriber_history,
        }
    }

    /// Waits for the publisher (`true`) or subscriber PC to reach `want`; fails early when it
    /// failed or closed instead.
    pub async fn wait_state(
        &self,
        publisher: bool,
        want: RTCPeerConnectionState,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let states = self.connection_states();
            let current = if publisher {
                states.publisher
            } else {
                states.subscriber
            };
            if current == want {
                return Ok(());
            }
            if matches!(
                current,
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
            ) && want != current
            {
                bail!(
                    "{} PC is {current}, waiting for {want}: {states:?}",
                    if publisher { "publisher" } else { "subscriber" }
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} PC not {want} within {timeout:?}: {states:?}; local errors: {:?}",
                    if publisher { "publisher" } else { "subscriber" },
                    self.errors()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) fn abort_tasks(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        for task in self.inner.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub(super) async fn close_pcs(&self) {
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
    }

    /// Stops every task and closes both PCs, each close bounded by `limit`.
    pub async fn close(&mut self, limit: Duration) {
        self.stopped = true;
        self.abort_tasks();
        let _ = tokio::time::timeout(limit, self.publisher.close()).await;
        let _ = tokio::time::timeout(limit, self.subscriber.close()).await;
    }
}

impl Drop for PeerPair {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.abort_tasks();
        let publisher = Arc::clone(&self.publisher);
        let subscriber = Arc::clone(&self.subscriber);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = publisher.close().await;
                let _ = subscriber.close().await;
            });
        }
    }
}
