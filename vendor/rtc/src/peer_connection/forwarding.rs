//! switchboard patch (not in upstream rtc 0.21.1): a send path for a selective forwarding unit.
//!
//! An SFU forwards RTP it has already parsed and rewritten; taking every such packet through the
//! whole write pipeline (endpoint, interceptors, SRTP, data channel, SCTP, DTLS and ICE handlers,
//! each with its own queue) costs it more than the encryption itself. These two calls let the
//! caller encrypt with the connection's outbound SRTP context and address the datagram to the
//! selected candidate pair itself. RTCP (sender reports, feedback) still goes through the
//! pipeline; SRTP and SRTCP keep separate indexes in the shared context, so the two never clash.

use super::RTCPeerConnection;
use bytes::BytesMut;
use shared::error::Result;
use shared::TransportProtocol;
use std::net::SocketAddr;

impl RTCPeerConnection {
    /// Encrypts a complete RTP packet (`plaintext`, whose header is `header`) with this
    /// connection's outbound SRTP context. `None` until the DTLS handshake has completed.
    pub fn encrypt_rtp_for_forwarding(
        &mut self,
        plaintext: &[u8],
        header: &rtp::Header,
    ) -> Option<Result<BytesMut>> {
        let context = self.pipeline_context.srtp_handler_context.local_srtp_context.as_mut()?;
        Some(context.encrypt_rtp_with_header(plaintext, header))
    }

    /// The ICE credentials the next ICE restart (`create_offer` with `ice_restart`) offers, in
    /// place of the ones given to the setting engine. An ICE-lite server restarting from its side
    /// must change them: a full-agent answerer restarts (and gathers candidates anew, e.g. on its
    /// new network) only when the offer's credentials change (RFC 8445 §9).
    pub fn set_next_ice_credentials(&mut self, ufrag: String, pwd: String) {
        self.setting_engine.candidates.username_fragment = ufrag;
        self.setting_engine.candidates.password = pwd;
    }

    /// The remote address of the selected ICE candidate pair, where media must go, and the
    /// transport of its local candidate (UDP, or TCP for ICE over TCP).
    pub fn selected_remote(&self) -> Option<(SocketAddr, TransportProtocol)> {
        let agent = &self.pipeline_context.ice_handler_context.ice_transport.agent;
        agent
            .get_selected_candidate_pair()
            .map(|(local, remote)| (remote.addr(), local.network_type().to_protocol()))
    }
}
