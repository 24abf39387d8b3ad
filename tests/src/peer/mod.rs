//! [`TestParticipant`]: a signalling client plus a [`PeerPair`] (publisher and subscriber peer
//! connections, async `webrtc` 0.21.1), publishing synthetic Opus + VP8 and recording what it
//! receives.
//!
//! Setup follows the protocol's two-PC model: the publisher PC offers (`publish_offer` with a
//! `sources` map), the subscriber PC answers every `subscribe_offer` right after
//! `set_local_description` (the server is ICE-lite, so nobody waits for gathering). Both PCs bind
//! UDP on `127.0.0.1:0` (or [`ParticipantConfig::bind_ip`]), have mDNS disabled and no ICE
//! servers. By default every payload is verified; [`ParticipantConfig::measure`] switches to the
//! load generator's measure mode, and [`ParticipantConfig::video_pacing`] to its video timing.
//!
//! Every task the participant starts (signalling loop, media pumps, RTCP readers, track readers)
//! is kept in one list and aborted by [`TestParticipant::leave`],
//! [`TestParticipant::drop_abruptly`] or `Drop`.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Slot;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpHeaderExtensionCapability, RtpCodecKind};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, Registry, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::media::{self, Stamp};
use crate::sdp::parse_media_sections;
use crate::signal::{Message, SignalClient, SignalReceiver, SignalSender};
use crate::{msg_type, ws_url, Joined};

/// Polling period of the `wait_*` helpers.
const POLL: Duration = Duration::from_millis(20);

mod handlers;
mod measure;
mod observe;
mod pair;
mod publish;
mod pumps;
mod signalling;
mod state;
mod types;

use handlers::*;
pub use measure::{Measured, MeasuredTrack, Window};
use measure::*;
pub use pair::PeerPair;
use pumps::*;
use signalling::*;
use state::*;
pub use types::*;

/// A participant for tests: WebSocket signalling, a publisher PC and a subscriber PC.
pub struct TestParticipant {
    joined: Joined,
    sender: SignalSender,
    pair: PeerPair,
}

impl TestParticipant {
    /// Connects to `http_base` (e.g. `http://127.0.0.1:7880`) with `token`, reads `joined`,
    /// builds both PCs and starts answering subscriber offers. Publishes nothing yet.
    pub async fn join(http_base: &str, token: &str) -> Result<TestParticipant> {
        Self::join_with(http_base, token, ParticipantConfig::default()).await
    }

    /// [`join`](Self::join) with a configuration.
    pub async fn join_with(
        http_base: &str,
        token: &str,
        config: ParticipantConfig,
    ) -> Result<TestParticipant> {
        let url = ws_url(http_base, token);
        let (client, joined) = SignalClient::connect(&url).await?;
        Self::from_joined(client, joined, config).await
    }

    /// Builds a participant on a connection that has already received `joined` (e.g. after
    /// waiting in a lobby with a [`SignalClient`]): builds both PCs and starts answering
    /// subscriber offers. Messages `client` has not read yet are handled as usual; `joined` is
    /// recorded as the first message.
    pub async fn from_joined(
        client: SignalClient,
        joined: Joined,
        config: ParticipantConfig,
    ) -> Result<TestParticipant> {
        let (sender, receiver) = client.split();
        let pair = PeerPair::new(config).await?;
        pair.inner
            .messages
            .lock()
            .unwrap()
            .push(Message::Json(joined.raw.clone()));
        let signal_task = pair.inner.spawn(signal_loop(
            Arc::clone(&pair.inner),
            receiver,
            sender.clone(),
            Arc::clone(&pair.publisher),
            Arc::clone(&pair.subscriber),
        ));
        *pair.inner.signal_task.lock().unwrap() = Some(signal_task);
        Ok(TestParticipant {
            joined,
            sender,
            pair,
        })
    }

    /// The `joined` message.
    pub fn joined(&self) -> &Joined {
        &self.joined
    }

    /// This participant's sid (from `joined`).
    pub fn sid(&self) -> &str {
        &self.joined.participant.sid
    }

    /// This participant's identity (from `joined`).
    pub fn identity(&self) -> &str {
        &self.joined.participant.identity
    }

    /// Sends a raw JSON message on the signalling socket.
    pub async fn send(&self, msg: Value) -> Result<()> {
        self.sender.send(msg).await
    }

    /// Sends `leave`, waits (up to 3 s) for the server to close the socket, then stops every
    /// task and closes both PCs. Returns the close code the server sent, if one was seen.
    pub async fn leave(mut self) -> Result<Option<u16>> {
        let sent = self.sender.send(json!({"type": "leave"})).await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.close_info().is_none() && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        let code = self.close_info().and_then(|(code, _)| code);
        self.shutdown().await;
        sent?;
        Ok(code)
    }

    /// Closes the WebSocket abruptly (TCP close, no close frame, no `leave`) and closes both
    /// PCs, so STUN checks go unanswered. Stops every task.
    pub async fn drop_abruptly(mut self) {
        self.pair.abort_tasks();
        self.sender.drop_sink().await;
        self.pair.close_pcs().await;
        self.pair.stopped = true;
    }

    /// Sends `leave` and stops at once, without waiting for the server to close the socket:
    /// drops the WebSocket, stops every task and closes both PCs, each step bounded by 2 s (a
    /// load generator leaves hundreds of participants at a time).
    pub async fn leave_now(mut self) {
        const STEP: Duration = Duration::from_secs(2);
        self.pair.inner.stopping.store(true, Ordering::Release);
        let _ = tokio::time::timeout(STEP, self.sender.send(json!({"type": "leave"}))).await;
        self.sender.drop_sink().await;
        self.pair.close(STEP).await;
    }

    /// Closes the WebSocket abruptly (no close frame, no `leave`) but keeps both PCs and the
    /// media pumps running.
    pub async fn drop_websocket(&self) {
        // Stopping the signalling loop drops the read half; dropping the sink drops the rest.
        let loop_task = self.pair.inner.signal_task.lock().unwrap().clone();
        if let Some(task) = loop_task {
            task.abort();
        }
        self.sender.drop_sink().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    /// Closes both PCs (DTLS close, no more STUN answers) and stops the media pumps; the
    /// WebSocket stays open.
    pub async fn close_peer_connections(&self) {
        let signal_task = self
            .pair
            .inner
            .signal_task
            .lock()
            .unwrap()
            .as_ref()
            .map(|t| t.id());
        for task in self.pair.inner.tasks.lock().unwrap().iter() {
            if Some(task.id()) != signal_task {
                task.abort();
            }
        }
        self.pair.close_pcs().await;
    }

    async fn shutdown(&mut self) {
        if self.pair.stopped {
            return;
        }
        self.pair.stopped = true;
        self.pair.abort_tasks();
        self.sender.drop_sink().await;
        self.pair.close_pcs().await;
    }
}

impl Drop for TestParticipant {
    fn drop(&mut self) {
        // The pair's own `Drop` stops the tasks and closes the PCs.
        if self.pair.stopped {
            return;
        }
        let sender = self.sender.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { sender.drop_sink().await });
        }
    }
}
