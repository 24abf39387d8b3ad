//! The state a participant's tasks share: received tracks and messages, local tracks, tasks.

use super::*;

// ---------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
pub(super) struct RecvState {
    pub(super) last_seq: Option<u16>,
    pub(super) last_ts: Option<u32>,
    pub(super) started: bool,
}

pub(super) struct TrackRecord {
    pub(super) stats: ReceivedTrack,
    pub(super) state: RecvState,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Declared {
    pub(super) mid: Option<String>,
    pub(super) ssrcs: Vec<u32>,
    pub(super) payload_type: Option<u8>,
}

pub(super) struct LocalTrackState {
    pub(super) kind: MediaKind,
    pub(super) track_id: String,
    pub(super) stream_id: String,
    pub(super) ssrc: u32,
    pub(super) origin: u32,
    pub(super) payload_type: std::sync::atomic::AtomicU8,
    pub(super) packets_sent: AtomicU64,
    pub(super) write_errors: AtomicU64,
    pub(super) keyframes_sent: AtomicU64,
    pub(super) plis: AtomicU64,
    pub(super) firs: AtomicU64,
    pub(super) keyframe_requested: AtomicBool,
    pub(super) payload_bytes_sent: AtomicU64,
    pub(super) packets_dropped: AtomicU64,
    /// Negotiated RFC 6464 extension id; 0: none.
    pub(super) audio_level_ext: std::sync::atomic::AtomicU8,
    /// Level written in the RFC 6464 extension (0..=127).
    pub(super) audio_level: std::sync::atomic::AtomicU8,
    /// [`ParticipantConfig::drop_every_nth`].
    pub(super) drop_every_nth: Option<u32>,
    /// Packets numbered so far (sent or dropped).
    pub(super) packets_numbered: AtomicU64,
    /// RTCP batches with a PLI or FIR.
    pub(super) keyframe_requests: AtomicU64,
    /// [`ParticipantConfig::measure`], and the packets sent with a stamp inside it.
    pub(super) window: Option<Arc<Window>>,
    pub(super) sent_in_window: AtomicU64,
}

pub(super) struct PublishedTrack {
    pub(super) state: Arc<LocalTrackState>,
    pub(super) track: Arc<TrackLocalStaticRTP>,
    pub(super) sender: Arc<dyn RtpSender>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) messages: Mutex<Vec<Message>>,
    /// Remote tracks in arrival order.
    pub(super) tracks: Mutex<Vec<TrackRecord>>,
    pub(super) remote_tracks: Mutex<HashMap<String, Arc<dyn TrackRemote>>>,
    /// Declared SSRC/PT per msid track id, from the subscriber offers.
    pub(super) declared: Mutex<HashMap<String, Declared>>,
    pub(super) publisher_states: Mutex<Vec<RTCPeerConnectionState>>,
    pub(super) subscriber_states: Mutex<Vec<RTCPeerConnectionState>>,
    pub(super) publish_answers_applied: AtomicU64,
    pub(super) subscribe_offers_answered: AtomicU64,
    pub(super) errors: Mutex<Vec<String>>,
    pub(super) tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The signalling loop (also in `tasks`).
    pub(super) signal_task: Mutex<Option<tokio::task::AbortHandle>>,
    pub(super) stopping: AtomicBool,
    /// ICE gathering complete, per PC (publisher, subscriber).
    pub(super) gathered: [AtomicBool; 2],
    /// Measure mode ([`ParticipantConfig::measure`]).
    pub(super) measurement: Option<Measurement>,
}

impl Inner {
    pub(super) fn spawn<F>(&self, fut: F) -> tokio::task::AbortHandle
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut);
        let abort = handle.abort_handle();
        if self.stopping.load(Ordering::Acquire) {
            handle.abort();
        } else {
            self.tasks.lock().unwrap().push(handle);
        }
        abort
    }

    pub(super) fn error(&self, e: String) {
        tracing::warn!("test participant: {e}");
        self.errors.lock().unwrap().push(e);
    }

    pub(super) fn on_rtp(&self, track_id: &str, pkt: &rtc::rtp::Packet, now: Instant) {
        let mut tracks = self.tracks.lock().unwrap();
        let Some(rec) = tracks
            .iter_mut()
            .rev()
            .find(|r| r.stats.track_id == track_id)
        else {
            return;
        };
        let st = &mut rec.state;
        let s = &mut rec.stats;
        let h = &pkt.header;
        let first = s.packets == 0;
        let silence = s
            .last_packet_at
            .map(|t| now.saturating_duration_since(t))
            .filter(|d| *d >= ARRIVAL_GAP_THRESHOLD);
        let (prev_seq, prev_ts) = (st.last_seq, st.last_ts);
        s.packets += 1;
        s.bytes += pkt.payload.len() as u64;
        if !s.ssrcs_seen.contains(&h.ssrc) {
            s.ssrcs_seen.push(h.ssrc);
        }
        if !s.payload_types_seen.contains(&h.payload_type) {
            s.payload_types_seen.push(h.payload_type);
        }
        s.first_packet_at.get_or_insert(now);
        s.last_packet_at = Some(now);
        if h.marker {
            s.marker_packets += 1;
        }

        // Sequence numbers and timestamps.
        let mut in_order = true;
        match st.last_seq {
            None => st.last_seq = Some(h.sequence_number),
            Some(last) => {
                let expected = last.wrapping_add(1);
                if h.sequence_number != expected {
                    s.seq_discontinuities += 1;
                    if st.started {
                        s.seq_discontinuities_after_keyframe += 1;
                    }
                    let delta = h.sequence_number.wrapping_sub(expected) as i16;
                    if delta > 0 {
                        s.seq_gap_packets += delta as u64;
                    } else {
                        s.seq_backwards += 1;
                    }
                }
                if (h.sequence_number.wrapping_sub(last) as i16) > 0 {
                    st.last_seq = Some(h.sequence_number);
                } else {
                    in_order = false;
                }
            }
        }
        if in_order {
            if let Some(last_ts) = st.last_ts {
                if (h.timestamp.wrapping_sub(last_ts) as i32) < 0 {
                    s.timestamp_regressions += 1;
                }
            }
            st.last_ts = Some(h.timestamp);
        }

        // Payload: VP8 structure, then the stamp.
        let region: Option<&[u8]> = match s.kind {
            MediaKind::Audio => {
                st.started = true;
                Some(&pkt.payload[..])
            }
            MediaKind::Video => match media::parse_vp8(&pkt.payload) {
                Some(info) => {
                    let key = info.frame_start && info.keyframe;
                    if first {
                        s.started_with_keyframe = Some(key);
                    }
                    if key {
                        s.keyframes += 1;
                        s.first_keyframe_at.get_or_insert(now);
                        st.started = true;
                    }
                    Some(&pkt.payload[info.data_offset..])
                }
                None => {
                    if first {
                        s.started_with_keyframe = Some(false);
                    }
                    s.vp8_invalid += 1;
                    None
                }
            },
        };
        match region.map(media::read_stamp) {
            Some(Ok(stamp)) => {
                s.stamps_ok += 1;
                if !s.stamp_origins.contains(&stamp.origin) {
                    s.stamp_origins.push(stamp.origin);
                }
                let latency = media::now_micros().saturating_sub(stamp.sent_micros);
                s.max_latency_micros = s.max_latency_micros.max(latency);
            }
            Some(Err(_)) | None => s.stamps_bad += 1,
        }

        if let Some(silence) = silence {
            if s.gaps.len() < MAX_ARRIVAL_GAPS {
                let keyframe_start = s.kind == MediaKind::Video
                    && media::parse_vp8(&pkt.payload).is_some_and(|i| i.frame_start && i.keyframe);
                s.gaps.push(ArrivalGap {
                    silence,
                    at: now,
                    seq_continuous: prev_seq
                        .is_some_and(|last| h.sequence_number == last.wrapping_add(1)),
                    ts_delta: prev_ts
                        .map(|last| i64::from(h.timestamp.wrapping_sub(last) as i32))
                        .unwrap_or(0),
                    keyframe_start,
                });
            }
        }
    }

    pub(super) fn snapshot(&self) -> Vec<ReceivedTrack> {
        let declared = self.declared.lock().unwrap().clone();
        self.tracks
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                let mut s = r.stats.clone();
                if let Some(d) = declared.get(&s.track_id) {
                    s.mid = d.mid.clone();
                    s.declared_ssrcs = d.ssrcs.clone();
                    s.declared_payload_type = d.payload_type;
                }
                s
            })
            .collect()
    }

    pub(super) fn record_offer(&self, sdp: &str) {
        let mut declared = self.declared.lock().unwrap();
        for m in parse_media_sections(sdp) {
            let Some(track) = m.msid_track.clone() else {
                continue;
            };
            let codec = match m.kind.as_str() {
                "audio" => "opus",
                "video" => "VP8",
                _ => continue,
            };
            declared.insert(
                track,
                Declared {
                    mid: m.mid.clone(),
                    ssrcs: m.ssrcs.clone(),
                    payload_type: m.payload_type_of(codec),
                },
            );
        }
    }
}
