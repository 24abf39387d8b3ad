//! Test client kit for Switchboard: a WebSocket signalling client and WebRTC test participants
//! (async `webrtc` 0.21.1) that publish synthetic Opus/VP8 media and record what they receive.
//!
//! - [`signal`]: [`signal::SignalClient`], the raw protocol client (JSON, raw text, binary frames,
//!   close codes).
//! - [`peer`]: [`peer::TestParticipant`], a signalling client plus a [`peer::PeerPair`] (a
//!   publisher and a subscriber peer connection), with media pumps and per-track receive
//!   statistics; the load generator's options (video pacing, measure mode) are knobs of
//!   [`peer::ParticipantConfig`].
//! - [`hist`]: the log-linear histogram of the measure mode's delays.
//! - [`local`]: the tracks the kit and the load generator send (codecs, static RTP tracks, packets).
//! - [`media`]: the synthetic payload format (VP8 descriptor + frame header, integrity stamps).
//! - [`sdp`]: the small SDP reader used to learn the SSRCs a remote description declared.
//!
//! The wire protocol is `docs/protocol.md`.

pub mod hist;
pub mod local;
pub mod media;
pub mod peer;
pub mod sdp;
pub mod signal;

use serde::Deserialize;
use serde_json::Value;

pub use peer::{
    ArrivalGap, ConnectionStates, FixedVideoPackets, MediaKind, Measured, MeasuredTrack, Pacing,
    ParticipantConfig, PeerPair, PublishedTrackInfo, ReceivedTrack, TestParticipant, VideoPacing,
    Window, AUDIO_LEVEL_URI,
};
pub use signal::{Message, SignalClient, SignalReceiver, SignalSender};
pub use webrtc::peer_connection::RTCPeerConnectionState;

/// Builds the WebSocket URL for `GET /ws?access_token=…` from an HTTP base such as
/// `http://127.0.0.1:7880` (a trailing slash is allowed; `https` maps to `wss`).
pub fn ws_url(http_base: &str, token: &str) -> String {
    let base = http_base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        format!("ws://{base}")
    };
    format!("{base}/ws?access_token={}", percent_encode(token))
}

/// Percent-encodes everything outside the URL-safe unreserved set (a JWT normally needs none).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `joined` message (first message of a session), typed. Unknown fields are ignored and
/// optional ones default, so the parse is lenient; `raw` keeps the whole message.
#[derive(Debug, Clone, Deserialize)]
pub struct Joined {
    pub protocol: u32,
    pub room: RoomInfo,
    pub participant: ParticipantInfo,
    #[serde(default)]
    pub participants: Vec<ParticipantInfo>,
    #[serde(default)]
    pub ice_servers: Vec<Value>,
    #[serde(skip)]
    pub raw: Value,
}

impl Joined {
    /// Parses a `joined` message; errors if `type` is not `joined` or fields are missing.
    pub fn parse(msg: &Value) -> anyhow::Result<Joined> {
        let ty = msg.get("type").and_then(Value::as_str);
        anyhow::ensure!(ty == Some("joined"), "expected a `joined` message, got {msg}");
        let mut joined: Joined = serde_json::from_value(msg.clone())
            .map_err(|e| anyhow::anyhow!("cannot parse `joined` ({e}): {msg}"))?;
        joined.raw = msg.clone();
        Ok(joined)
    }
}

/// `room{name, sid}` of `joined`.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomInfo {
    pub name: String,
    #[serde(default)]
    pub sid: String,
}

/// `ParticipantInfo` of the protocol.
#[derive(Debug, Clone, Deserialize)]
pub struct ParticipantInfo {
    pub sid: String,
    pub identity: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub joined_at: Option<String>,
    #[serde(default)]
    pub permissions: Value,
    #[serde(default)]
    pub tracks: Vec<TrackInfo>,
}

/// `TrackInfo` of the protocol.
#[derive(Debug, Clone, Deserialize)]
pub struct TrackInfo {
    pub sid: String,
    pub kind: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub muted: bool,
}

/// The `type` field of a protocol message, if any.
pub fn msg_type(msg: &Value) -> Option<&str> {
    msg.get("type").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_url_maps_schemes() {
        assert_eq!(
            ws_url("http://127.0.0.1:80/", "a.b-c_d"),
            "ws://127.0.0.1:80/ws?access_token=a.b-c_d"
        );
        assert_eq!(ws_url("https://h", "x y"), "wss://h/ws?access_token=x%20y");
    }

    #[test]
    fn joined_parses_leniently() {
        let v = serde_json::json!({
            "type": "joined", "protocol": 1,
            "room": {"name": "r", "sid": "RM_1"},
            "participant": {"sid": "PA_1", "identity": "a", "tracks": []},
            "participants": [{"sid": "PA_2", "identity": "b",
                "tracks": [{"sid": "TR_1", "kind": "audio", "source": "microphone"}]}],
            "ice_servers": []
        });
        let j = Joined::parse(&v).unwrap();
        assert_eq!(j.participant.sid, "PA_1");
        assert_eq!(j.participants[0].tracks[0].kind, "audio");
        assert!(Joined::parse(&serde_json::json!({"type": "error"})).is_err());
    }
}
