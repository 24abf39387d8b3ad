//! Media pumps (synthetic Opus and VP8 on a timer), RTCP readers, and peer connection set-up.

use super::*;
use crate::local::rtp_packet;

// ---------------------------------------------------------------------------------------------
// Media pumps
// ---------------------------------------------------------------------------------------------

/// RFC 6464 voice-activity flag is set for levels at or above this loudness (-40 dBov).
pub(super) const VOICE_LEVEL: u8 = 40;

pub(super) async fn write(
    state: &LocalTrackState,
    track: &TrackLocalStaticRTP,
    mut pkt: rtc::rtp::Packet,
) {
    // Opt-in simulated loss: the packet has its sequence number already; skip it.
    let numbered = state.packets_numbered.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(every) = state.drop_every_nth {
        if numbered.is_multiple_of(u64::from(every)) {
            state.packets_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // Opt-in RFC 6464 audio level (one byte: V flag, then the level in -dBov).
    let ext = state.audio_level_ext.load(Ordering::Relaxed);
    if ext != 0 {
        let level = state.audio_level.load(Ordering::Relaxed) & 0x7f;
        let voice = if level <= VOICE_LEVEL { 0x80 } else { 0 };
        if pkt
            .header
            .set_extension(ext, Bytes::from(vec![voice | level]))
            .is_err()
        {
            state.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    let len = pkt.payload.len() as u64;
    match track.write_rtp(pkt).await {
        Ok(()) => {
            state.packets_sent.fetch_add(1, Ordering::Relaxed);
            state.payload_bytes_sent.fetch_add(len, Ordering::Relaxed);
        }
        Err(_) => {
            state.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    };
}

pub(super) async fn audio_pump(
    state: Arc<LocalTrackState>,
    track: Arc<TrackLocalStaticRTP>,
    len: usize,
) {
    let pt = state.payload_type.load(Ordering::Relaxed);
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut counter: u32 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let stamp = Stamp {
            origin: state.origin,
            counter,
            sent_micros: media::now_micros(),
        };
        let payload = media::audio_payload(&stamp, len);
        write(
            &state,
            &track,
            rtp_packet(pt, seq, ts, state.ssrc, counter == 0, payload),
        )
        .await;
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(960);
        counter = counter.wrapping_add(1);
    }
}

pub(super) async fn video_pump(
    state: Arc<LocalTrackState>,
    track: Arc<TrackLocalStaticRTP>,
    fps: u32,
    size: (u16, u16),
    keyframe_interval: Option<Duration>,
    fixed: Option<FixedVideoPackets>,
) {
    let fps = fps.clamp(1, 120);
    let pt = state.payload_type.load(Ordering::Relaxed);
    let ts_step = 90_000 / fps;
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut counter: u32 = 0;
    let mut frame: u64 = 0;
    let mut last_keyframe: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / fps);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let requested = state.keyframe_requested.swap(false, Ordering::AcqRel);
        let periodic = match (keyframe_interval, last_keyframe) {
            (Some(every), Some(at)) => at.elapsed() >= every,
            _ => false,
        };
        let key = last_keyframe.is_none() || requested || periodic;
        let (packets, len) = match fixed {
            Some(f) => (f.packets_per_frame.max(1) as usize, f.payload_len.max(40)),
            None if key => (3, 1000),
            None => (1 + (frame % 2) as usize, 500),
        };
        for i in 0..packets {
            let stamp = Stamp {
                origin: state.origin,
                counter,
                sent_micros: media::now_micros(),
            };
            let payload = media::vp8_payload(i == 0, key, size, &stamp, len);
            write(
                &state,
                &track,
                rtp_packet(pt, seq, ts, state.ssrc, i + 1 == packets, payload),
            )
            .await;
            seq = seq.wrapping_add(1);
            counter = counter.wrapping_add(1);
        }
        if key {
            state.keyframes_sent.fetch_add(1, Ordering::Relaxed);
            last_keyframe = Some(Instant::now());
        }
        ts = ts.wrapping_add(ts_step);
        frame += 1;
    }
}

/// Reads RTCP feedback about a sent track (what the interceptor let through: PLI/FIR).
pub(super) async fn rtcp_reader(state: Arc<LocalTrackState>, track: Arc<TrackLocalStaticRTP>) {
    while let Some(evt) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = evt {
            for p in &packets {
                let any = p.as_any();
                if any.is::<PictureLossIndication>() {
                    state.plis.fetch_add(1, Ordering::AcqRel);
                    state.keyframe_requested.store(true, Ordering::Release);
                } else if any.is::<FullIntraRequest>() {
                    state.firs.fetch_add(1, Ordering::AcqRel);
                    state.keyframe_requested.store(true, Ordering::Release);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TestParticipant
// ---------------------------------------------------------------------------------------------

pub(super) async fn build_pc(
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
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .map_err(|e| anyhow!("building peer connection: {e}"))?;
    Ok(Arc::new(pc))
}

pub(super) fn random_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}
