//! What a participant saw: received tracks, messages, connection states, and the waits on them.

use super::*;

impl TestParticipant {
    /// Snapshot of every remote track received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedTrack> {
        self.pair.inner.snapshot()
    }

    /// Remote tracks published by participant `sid` (msid stream id).
    pub fn received_from(&self, sid: &str) -> Vec<ReceivedTrack> {
        self.received()
            .into_iter()
            .filter(|t| t.stream_id == sid)
            .collect()
    }

    /// Packets received so far from publisher `sid` on tracks of `kind` (summed over every
    /// such track, e.g. after a renegotiation).
    pub fn packets_from(&self, sid: &str, kind: MediaKind) -> u64 {
        self.received()
            .iter()
            .filter(|t| t.stream_id == sid && t.kind == kind)
            .map(|t| t.packets)
            .sum()
    }

    /// Waits until `pred(received())` holds; returns that snapshot, or an error showing the last
    /// one.
    pub async fn wait_for(
        &self,
        mut pred: impl FnMut(&[ReceivedTrack]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<ReceivedTrack>> {
        let deadline = Instant::now() + timeout;
        loop {
            let snap = self.received();
            if pred(&snap) {
                return Ok(snap);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: condition on received tracks not met within {timeout:?}; tracks: {snap:#?}; local errors: {:?}",
                    self.identity(),
                    self.errors()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every JSON message received so far (starting with `joined`).
    pub fn messages(&self) -> Vec<Value> {
        self.pair
            .inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| m.json().cloned())
            .collect()
    }

    /// Every message received so far, including a final [`Message::Closed`].
    pub fn all_messages(&self) -> Vec<Message> {
        self.pair.inner.messages.lock().unwrap().clone()
    }

    pub(super) fn last_message_of_type(&self, ty: &str) -> Option<Value> {
        self.messages()
            .into_iter()
            .rev()
            .find(|m| msg_type(m) == Some(ty))
    }

    /// Waits until some message received so far (the whole history, not only new ones)
    /// satisfies `pred`; returns the first such message.
    pub async fn wait_for_message(
        &self,
        mut pred: impl FnMut(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| pred(m)) {
                return Ok(m);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: no matching message within {timeout:?}; got: {:?}",
                    self.identity(),
                    self.all_messages()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many JSON messages were received so far (an index for
    /// [`wait_for_message_after`](Self::wait_for_message_after)).
    pub fn message_count(&self) -> usize {
        self.messages().len()
    }

    /// Like [`wait_for_message`](Self::wait_for_message), but only considers the JSON messages
    /// from index `from` on (see [`message_count`](Self::message_count)).
    pub async fn wait_for_message_after(
        &self,
        from: usize,
        mut pred: impl FnMut(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().skip(from).find(|m| pred(m)) {
                return Ok(m);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: no matching message (after #{from}) within {timeout:?}; got: {:?}",
                    self.identity(),
                    self.messages().into_iter().skip(from).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The close code and reason, once the signalling socket has closed.
    pub fn close_info(&self) -> Option<(Option<u16>, String)> {
        self.pair
            .inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .find_map(|m| match m {
                Message::Closed { code, reason } => Some((*code, reason.clone())),
                _ => None,
            })
    }

    /// Local failures (SDP that could not be applied, sends that failed, …).
    pub fn errors(&self) -> Vec<String> {
        self.pair.errors()
    }

    /// The pair of peer connections (its configuration, PCs and measure mode).
    pub fn pair(&self) -> &PeerPair {
        &self.pair
    }

    /// Measure mode: runs `f` on what arrived so far (`None` without
    /// [`ParticipantConfig::measure`]).
    pub fn with_measured<R>(&self, f: impl FnOnce(&Measured) -> R) -> Option<R> {
        self.pair.with_measured(f)
    }

    /// How many `subscribe_offer`s were answered.
    pub fn subscribe_offers_answered(&self) -> u64 {
        self.pair.inner.subscribe_offers_answered.load(Ordering::Acquire)
    }

    /// Current state and history of both PCs.
    pub fn connection_states(&self) -> ConnectionStates {
        self.pair.connection_states()
    }

    pub(super) async fn wait_state(
        &self,
        publisher: bool,
        want: RTCPeerConnectionState,
        timeout: Duration,
    ) -> Result<()> {
        self.pair.wait_state(publisher, want, timeout).await
    }

    /// Waits for the publisher PC to be `Connected`.
    pub async fn wait_publisher_connected(&self, timeout: Duration) -> Result<()> {
        self.wait_state(true, RTCPeerConnectionState::Connected, timeout)
            .await
    }

    /// Waits for the subscriber PC to be `Connected`.
    pub async fn wait_subscriber_connected(&self, timeout: Duration) -> Result<()> {
        self.wait_state(false, RTCPeerConnectionState::Connected, timeout)
            .await
    }

    /// Sends a PLI for a received track (as a browser's decoder would).
    pub async fn request_keyframe(&self, track_id: &str) -> Result<()> {
        let track = self
            .pair
            .inner
            .remote_tracks
            .lock()
            .unwrap()
            .get(track_id)
            .cloned()
            .with_context(|| format!("no remote track {track_id}"))?;
        let media_ssrc = match track.ssrcs().await.first() {
            Some(s) => *s,
            None => {
                let snap = self.received();
                let t = snap
                    .iter()
                    .find(|t| t.track_id == track_id)
                    .context("no stats for track")?;
                *t.ssrcs_seen.first().context("no SSRC known for track")?
            }
        };
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            })])
            .await
            .map_err(|e| anyhow!("write_rtcp: {e}"))
    }
}
