//! What each publisher of a run sends ([`Traffic`], the report's `traffic` object), and the test
//! kit configuration that sends it in measure mode.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use switchboard_tests::{FixedVideoPackets, Pacing, ParticipantConfig, VideoPacing, Window};

/// How long publishing may take (answer applied and publisher PC connected).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(20);

/// What each publisher sends.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// An Opus track at 50 packets/s.
    pub audio: bool,
    pub audio_payload_bytes: usize,
    /// A VP8 track.
    pub video: bool,
    /// Video packets per second.
    pub video_pps: u32,
    /// Packets per video frame (frame rate = pps / packets per frame).
    pub video_packets_per_frame: u32,
    pub video_payload_bytes: usize,
    pub pacing: Pacing,
    /// A keyframe at least this often (and on every PLI/FIR).
    pub keyframe_interval_ms: u64,
}

impl Traffic {
    /// A camera: Opus 50 packets/s × 100 bytes and VP8 30 frames/s × 3 packets × 1,000 bytes,
    /// each frame's packets back to back, a keyframe every 2 s.
    pub fn camera() -> Traffic {
        Traffic {
            audio: true,
            audio_payload_bytes: 100,
            video: true,
            video_pps: 90,
            video_packets_per_frame: 3,
            video_payload_bytes: 1000,
            pacing: Pacing::Frames,
            keyframe_interval_ms: 2000,
        }
    }

    /// Published tracks per publisher.
    pub fn tracks(&self) -> usize {
        usize::from(self.audio) + usize::from(self.video)
    }

    /// Packets per second per publisher, all tracks.
    pub fn pps(&self) -> u64 {
        (if self.audio { 50 } else { 0 }) + if self.video { self.video_pps as u64 } else { 0 }
    }

    /// A test kit participant that publishes this traffic (when asked to), with both PCs bound
    /// to `bind_ip`, in measure mode over `window`.
    pub fn participant_config(&self, bind_ip: IpAddr, window: Arc<Window>) -> ParticipantConfig {
        ParticipantConfig {
            publish_audio: self.audio,
            publish_video: self.video,
            keyframe_interval: Some(Duration::from_millis(self.keyframe_interval_ms.max(1))),
            audio_payload_len: self.audio_payload_bytes,
            timeout: PUBLISH_TIMEOUT,
            fixed_video_packets: Some(FixedVideoPackets {
                packets_per_frame: self.video_packets_per_frame,
                payload_len: self.video_payload_bytes,
            }),
            video_pacing: Some(VideoPacing {
                packets_per_second: self.video_pps,
                pacing: self.pacing,
            }),
            measure: Some(window),
            bind_ip,
            ..ParticipantConfig::default()
        }
    }
}
