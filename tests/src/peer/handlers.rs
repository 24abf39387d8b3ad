//! Peer connection event handlers and the reader of each remote track (verify mode here, measure
//! mode in `measure.rs`).

use super::*;

// ---------------------------------------------------------------------------------------------
// PC event handlers
// ---------------------------------------------------------------------------------------------

pub(super) struct PublisherHandler {
    pub(super) inner: Arc<Inner>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PublisherHandler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!("publisher pc: {state}");
        self.inner.publisher_states.lock().unwrap().push(state);
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.inner.gathered[0].store(true, Ordering::Release);
        }
    }
}

pub(super) struct SubscriberHandler {
    pub(super) inner: Arc<Inner>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for SubscriberHandler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!("subscriber pc: {state}");
        self.inner.subscriber_states.lock().unwrap().push(state);
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.inner.gathered[1].store(true, Ordering::Release);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Runs on the PC's driver: hand off at once.
        let inner = Arc::clone(&self.inner);
        self.inner.spawn(read_remote_track(inner, track));
    }
}

pub(super) async fn read_remote_track(inner: Arc<Inner>, track: Arc<dyn TrackRemote>) {
    let track_id = track.track_id().await;
    let stream_id = track.stream_id().await;
    let Some(kind) = MediaKind::from_codec_kind(track.kind().await) else {
        return;
    };
    if let Some(measurement) = &inner.measurement {
        inner
            .remote_tracks
            .lock()
            .unwrap()
            .insert(track_id, Arc::clone(&track));
        read_measured(measurement, track.as_ref(), stream_id, kind).await;
        return;
    }
    let ssrcs = track.ssrcs().await;
    let mime_type = match ssrcs.first() {
        Some(ssrc) => track.codec(*ssrc).await.map(|c| c.mime_type),
        None => None,
    };
    tracing::debug!("on_track {kind} {stream_id} {track_id} ssrcs={ssrcs:?}");
    {
        let mut stats = ReceivedTrack::new(stream_id, track_id.clone(), kind);
        stats.reported_ssrcs = ssrcs;
        stats.mime_type = mime_type;
        inner.tracks.lock().unwrap().push(TrackRecord {
            stats,
            state: RecvState::default(),
        });
    }
    inner
        .remote_tracks
        .lock()
        .unwrap()
        .insert(track_id.clone(), Arc::clone(&track));
    while let Some(evt) = track.poll().await {
        match evt {
            TrackRemoteEvent::OnRtpPacket(pkt) => inner.on_rtp(&track_id, &pkt, Instant::now()),
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    let mut tracks = inner.tracks.lock().unwrap();
    if let Some(rec) = tracks
        .iter_mut()
        .rev()
        .find(|r| r.stats.track_id == track_id)
    {
        rec.stats.ended = true;
    }
}
