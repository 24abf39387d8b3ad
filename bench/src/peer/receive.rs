//! The receive path (peer connection handlers, stamp reading, latency) and the signalling loop.

use super::*;

// ---------------------------------------------------------------------------------------------
// PC handlers, receive path, signalling
// ---------------------------------------------------------------------------------------------

pub(super) struct Handler {
    pub(super) shared: Arc<Shared>,
    pub(super) publisher: bool,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let slot = if self.publisher {
            &self.shared.publisher_state
        } else {
            &self.shared.subscriber_state
        };
        *slot.lock().unwrap() = state;
        if matches!(
            state,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected
        ) {
            let which = if self.publisher {
                "publisher"
            } else {
                "subscriber"
            };
            self.shared.error(format!("{which} PC {state}"));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.shared.gathered[usize::from(!self.publisher)].store(true, Ordering::Release);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = Arc::clone(&self.shared);
        self.shared.spawn(read_track(shared, track));
    }
}

/// The stamp's send time, if the payload carries a stamp header (VP8 descriptor skipped for
/// video).
pub(super) fn stamp_time(video: bool, payload: &[u8]) -> Option<u64> {
    let region = if video {
        &payload[media::parse_vp8(payload)?.data_offset..]
    } else {
        payload
    };
    if region.len() < STAMP_HEADER_LEN || region[0..4] != STAMP_MAGIC {
        return None;
    }
    Some(u64::from_be_bytes(region[12..20].try_into().ok()?))
}

pub(super) async fn read_track(shared: Arc<Shared>, track: Arc<dyn TrackRemote>) {
    let track_id = shared.next_track.fetch_add(1, Ordering::Relaxed);
    let publisher_sid = track.stream_id().await;
    let video = matches!(track.kind().await, RtpCodecKind::Video);
    while let Some(evt) = track.poll().await {
        match evt {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                let now = media::now_micros();
                let sent = stamp_time(video, &pkt.payload);
                let mut r = shared.recv.lock().unwrap();
                r.packets += 1;
                let seq = pkt.header.sequence_number;
                let (gap, fresh) = match r.tracks.get_mut(&track_id) {
                    Some(t) => t.seen.observe(seq),
                    None => {
                        let mut seen = SeqWindow::default();
                        seen.observe(seq);
                        r.tracks.insert(
                            track_id,
                            RecvTrack {
                                publisher_sid: publisher_sid.clone(),
                                first_at: Instant::now(),
                                seen,
                            },
                        );
                        (0, true)
                    }
                };
                r.seq_gap_packets += gap;
                if !fresh {
                    // A retransmission of something already received (or far too old).
                    r.duplicates += 1;
                    continue;
                }
                match sent {
                    Some(sent) => {
                        if shared.window.contains(sent) {
                            r.in_window += 1;
                            r.latency.record(now.saturating_sub(sent));
                        }
                    }
                    None => r.bad_payloads += 1,
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

pub(super) async fn signal_loop(
    shared: Arc<Shared>,
    mut rx: SignalReceiver,
    tx: SignalSender,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
) {
    loop {
        let Some(msg) = rx.recv_message(Duration::from_secs(3600)).await else {
            continue;
        };
        let v = match msg {
            Message::Closed { code, reason } => {
                shared.error(format!("signalling closed: {code:?} {reason}"));
                return;
            }
            Message::Json(v) => v,
            _ => continue,
        };
        match msg_type(&v) {
            Some("subscribe_offer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    continue;
                };
                if let Err(e) = answer(subscriber.as_ref(), &tx, sdp).await {
                    shared.error(format!("answering subscribe_offer: {e:#}"));
                }
            }
            Some("publish_answer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    continue;
                };
                match switchboard_tests::local::apply_answer(publisher.as_ref(), sdp).await {
                    Ok(()) => {
                        shared.publish_answers.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => shared.error(format!("applying publish_answer: {e}")),
                }
            }
            Some("error") => shared.error(format!("server error: {v}")),
            Some("removed") | Some("going_away") => shared.error(format!("server said: {v}")),
            _ => {}
        }
    }
}

pub(super) async fn answer(pc: &dyn PeerConnection, tx: &SignalSender, sdp: &str) -> Result<()> {
    let sdp = switchboard_tests::local::answer_offer(pc, sdp).await?;
    tx.send(json!({"type": "subscribe_answer", "sdp": sdp}))
        .await
}
