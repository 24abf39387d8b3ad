//! One participant's session: the handle a connection holds ([`Session`]: its sid, the queue of
//! messages for the client, and the way to its current room), and the loop that drives it over
//! any transport of frames ([`drive`], with the size limit, rate limit, keep-alive and error
//! replies of docs/protocol.md). The server adapts its WebSocket to [`Frame`]s; tests drive
//! sessions in memory.

mod driver;
mod rate;

pub use driver::{drive, refuse, Frame, MessageCounter, SessionLimits};

use crate::call_state::DisconnectReason;
use crate::ids::{ParticipantSid, RoomName};
use crate::protocol::{ClientMessage, Outbound};
use crate::room::{RoomCommand, Shared};
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// One participant's session. Dropping it tells the room this connection vanished: the
/// participant becomes `reconnecting` for its resume window (or leaves with reason `timeout` if
/// there is none); after `leave`, or once another connection resumed it, that is a no-op.
pub struct Session {
    /// The participant's sid.
    pub sid: ParticipantSid,
    /// This connection of the participant (a resume makes a new one).
    connection: u64,
    /// How it ended: lost (the participant may resume) unless the client closed it or the
    /// server closed it for a protocol violation.
    lost: bool,
    /// Messages for the client, in order; ends after a [`Outbound::Close`].
    pub outbound: mpsc::Receiver<Outbound>,
    shared: Shared,
}

impl Session {
    pub(crate) fn new(sid: ParticipantSid, connection: u64, outbound: mpsc::Receiver<Outbound>, shared: Shared) -> Self {
        shared.sessions.fetch_add(1, Ordering::Relaxed);
        Self { sid, connection, lost: true, outbound, shared }
    }

    /// The room the participant is in now (a move changes it).
    pub fn room(&self) -> Option<RoomName> {
        self.shared.locations.get(&self.sid).map(|r| r.value().clone())
    }

    fn send(&self, cmd: RoomCommand) {
        if let Some(tx) = self.room().and_then(|room| self.shared.room(&room)) {
            let _ = tx.send(cmd);
        }
    }

    /// The connection ended on purpose (the client's close frame, or ours after a protocol
    /// violation), not by a network loss: the participant leaves instead of waiting for a resume.
    pub(crate) fn closed_on_purpose(&mut self) {
        self.lost = false;
    }

    /// Hands a client message to the participant's current room.
    pub fn handle(&self, msg: ClientMessage) {
        self.send(RoomCommand::Client { sid: self.sid.clone(), msg });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let cmd = RoomCommand::Disconnected {
            sid: self.sid.clone(),
            connection: self.connection,
            reason: DisconnectReason::Timeout,
            resumable: self.lost,
        };
        self.send(cmd);
        self.shared.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}
