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

/// One participant's session. Dropping it tells the room the participant vanished (reason
/// `timeout`); after `leave` that is a no-op.
pub struct Session {
    /// The participant's sid.
    pub sid: ParticipantSid,
    /// Messages for the client, in order; ends after a [`Outbound::Close`].
    pub outbound: mpsc::Receiver<Outbound>,
    shared: Shared,
}

impl Session {
    pub(crate) fn new(sid: ParticipantSid, outbound: mpsc::Receiver<Outbound>, shared: Shared) -> Self {
        shared.sessions.fetch_add(1, Ordering::Relaxed);
        Self { sid, outbound, shared }
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

    /// Hands a client message to the participant's current room.
    pub fn handle(&self, msg: ClientMessage) {
        self.send(RoomCommand::Client { sid: self.sid.clone(), msg });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.send(RoomCommand::Disconnected { sid: self.sid.clone(), reason: DisconnectReason::Timeout });
        self.shared.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}
