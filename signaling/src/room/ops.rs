//! The room's side of each admin operation (`admin/ops.rs`): what it does, what it returns, and
//! the `moderator_action` record it leaves. Reads record nothing.

use super::{AdminTask, Room};
use crate::admin::ops::{
    Admit, Delivered, Deny, EndRoom, GetParticipant, GetRoom, Hold, Invite, LiftBan, ListBans, ListLobby,
    ListParticipants, ModeratorRecord, Move, Mute, MuteRequest, MuteRoom, RemoveParticipant, Resume, SendData,
    UpdateParticipant, UpdateRoom,
};
use crate::admin::{AdminError, ParticipantView, RoomView};
use crate::call_state::{CallState, DisconnectReason};
use crate::events::EventKind;
use crate::ids::Identity;
use crate::protocol::ServerMessage;
use serde::Serialize;
use serde_json::json;
use std::time::SystemTime;
use tokio::sync::oneshot;
use tracing::info;

/// An operation a room carries out for a moderator, with its own reply type.
pub trait AdminOp: Send + Sized + 'static {
    /// What the operation returns.
    type Reply: Serialize + Send + 'static;

    /// The `moderator_action` event a successful state-changing operation leaves (reads: none).
    fn record(&self) -> Option<ModeratorRecord>;

    /// Carries the operation out on `room` for moderator `by`.
    fn apply(self, room: &mut Room, by: &Identity) -> Result<Self::Reply, AdminError>;
}

impl Room {
    /// Runs `op` for `by`, recording it when it changed something.
    pub(crate) fn run_admin<Op: AdminOp>(&mut self, op: Op, by: &Identity) -> Result<Op::Reply, AdminError> {
        let record = op.record();
        let result = op.apply(self, by);
        if let (Some(r), Ok(_)) = (record, &result) {
            let data = json!({ "action": r.action, "by": by, "details": r.details });
            self.emit(EventKind::ModeratorAction, r.target.as_ref(), data);
        }
        result
    }
}

/// A task that runs `op` on the room it reaches and sends the result to `reply`.
pub(crate) fn task<Op: AdminOp>(op: Op, by: Identity, reply: oneshot::Sender<Result<Op::Reply, AdminError>>) -> AdminTask {
    Box::new(move |room: &mut Room| {
        let _ = reply.send(room.run_admin(op, &by));
    })
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl AdminOp for GetRoom {
    type Reply = RoomView;
    fn record(&self) -> Option<ModeratorRecord> {
        None
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<RoomView, AdminError> {
        Ok(room.view())
    }
}

impl AdminOp for UpdateRoom {
    type Reply = RoomView;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("update_room", None, json!({}))
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<RoomView, AdminError> {
        self.0.apply(&mut room.settings);
        Ok(room.view())
    }
}

impl AdminOp for EndRoom {
    type Reply = ();
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("end_room", None, json!({}))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<(), AdminError> {
        info!(room = %room.name, %by, "room ended by a moderator");
        room.disconnect_all(DisconnectReason::RoomEnded, 1000);
        room.life.ended = true;
        Ok(())
    }
}

impl AdminOp for ListParticipants {
    type Reply = Vec<ParticipantView>;
    fn record(&self) -> Option<ModeratorRecord> {
        None
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<Vec<ParticipantView>, AdminError> {
        Ok(room.all_views())
    }
}

impl AdminOp for GetParticipant {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        None
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<ParticipantView, AdminError> {
        room.all_views().into_iter().find(|v| v.identity == self.0.as_str()).ok_or(AdminError::ParticipantNotFound(self.0.to_string()))
    }
}

impl AdminOp for UpdateParticipant {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("update_participant", Some(&self.identity), json!({ "permissions": self.patch.permissions, "name": self.patch.name }))
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<ParticipantView, AdminError> {
        room.update_participant(&self.identity, self.patch)
    }
}

impl AdminOp for RemoveParticipant {
    type Reply = ();
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("remove", Some(&self.identity), json!({ "reason": self.reason, "ban": self.ban }))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<(), AdminError> {
        room.remove_by_moderator(&self.identity, self.reason, self.ban, by)
    }
}

impl AdminOp for ListBans {
    type Reply = Vec<Identity>;
    fn record(&self) -> Option<ModeratorRecord> {
        None
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<Vec<Identity>, AdminError> {
        Ok(room.bans.list())
    }
}

impl AdminOp for LiftBan {
    type Reply = ();
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("lift_ban", Some(&self.0), json!({}))
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<(), AdminError> {
        if room.bans.lift(&self.0) {
            Ok(())
        } else {
            Err(AdminError::ParticipantNotFound(self.0.to_string()))
        }
    }
}

impl AdminOp for Mute {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        let action = if self.request.muted { "mute" } else { "unmute" };
        ModeratorRecord::new(action, Some(&self.identity), json!({ "track": self.request.track, "kind": self.request.kind }))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<ParticipantView, AdminError> {
        room.mute(&self.identity, &self.request, by)
    }
}

impl AdminOp for MuteRoom {
    type Reply = Vec<ParticipantView>;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("mute_room", None, json!({ "kind": self.kind, "except": self.except }))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<Vec<ParticipantView>, AdminError> {
        let targets: Vec<Identity> =
            room.participants.iter().map(|p| p.member.identity.clone()).filter(|i| !self.except.contains(i)).collect();
        let request = MuteRequest { track: None, kind: Some(self.kind), muted: true };
        targets.iter().map(|identity| room.mute(identity, &request, by)).collect()
    }
}

impl AdminOp for Hold {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("hold", Some(&self.0), json!({}))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<ParticipantView, AdminError> {
        room.set_hold(&self.0, true, by)
    }
}

impl AdminOp for Resume {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("resume", Some(&self.0), json!({}))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<ParticipantView, AdminError> {
        room.set_hold(&self.0, false, by)
    }
}

impl AdminOp for Move {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("move", Some(&self.identity), json!({ "to_room": self.to_room }))
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<ParticipantView, AdminError> {
        room.move_out(&self.identity, &self.to_room)
    }
}

impl AdminOp for ListLobby {
    type Reply = Vec<ParticipantView>;
    fn record(&self) -> Option<ModeratorRecord> {
        None
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<Vec<ParticipantView>, AdminError> {
        Ok(room.lobby.iter().map(|m| m.view(CallState::Lobby, None, vec![], vec![], None)).collect())
    }
}

impl AdminOp for Admit {
    type Reply = ParticipantView;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("admit", Some(&self.0), json!({}))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<ParticipantView, AdminError> {
        let member = room.lobby.take_identity(&self.0).ok_or_else(|| AdminError::ParticipantNotFound(self.0.to_string()))?;
        let sid = room.admit(member, Some(by));
        room.view_of(&sid)
    }
}

impl AdminOp for Deny {
    type Reply = ();
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("deny", Some(&self.0), json!({}))
    }
    fn apply(self, room: &mut Room, by: &Identity) -> Result<(), AdminError> {
        let member = room.lobby.take_identity(&self.0).ok_or_else(|| AdminError::ParticipantNotFound(self.0.to_string()))?;
        info!(room = %room.name, identity = %self.0, %by, "denied from the lobby");
        room.remove_from_lobby(member, DisconnectReason::Denied, Some(ServerMessage::Denied), 1000);
        Ok(())
    }
}

impl AdminOp for Invite {
    type Reply = ();
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("invite", Some(&self.identity), json!({ "expires_at": self.expires_at }))
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<(), AdminError> {
        room.invites.add(self.identity, self.name, self.expires_at);
        Ok(())
    }
}

impl AdminOp for SendData {
    type Reply = Delivered;
    fn record(&self) -> Option<ModeratorRecord> {
        ModeratorRecord::new("send_data", None, json!({ "to": self.to }))
    }
    fn apply(self, room: &mut Room, _by: &Identity) -> Result<Delivered, AdminError> {
        Ok(Delivered { delivered: room.send_data(None, self.payload, &self.to) })
    }
}

impl Room {
    /// Participants (oldest first), lobby members and unexpired invitees.
    fn all_views(&mut self) -> Vec<ParticipantView> {
        let mut views: Vec<ParticipantView> = self.participants.in_joining_order().into_iter().map(|p| p.view()).collect();
        views.extend(self.lobby.iter().map(|m| m.view(CallState::Lobby, None, vec![], vec![], None)));
        views.extend(self.invites.pending(unix_now()).map(|(identity, invite)| ParticipantView {
            sid: String::new(),
            identity: identity.to_string(),
            name: invite.name.clone().unwrap_or_else(|| identity.to_string()),
            state: CallState::Invited.as_str(),
            disconnect_reason: None,
            joined_at: None,
            permissions: Default::default(),
            metadata: serde_json::Value::Null,
            remote_address: None,
            tracks: vec![],
            subscriptions: vec![],
            connection_quality: "unknown",
            estimated_bitrate_bps: None,
            hand_raised: false,
            hand_raised_at: None,
        }));
        views
    }
}
