//! The per-participant call state (TAPI session model) and its legal transitions:
//! `Invited → Lobby → Joining → Connected ⇄ OnHold`, `Joining | Connected | OnHold ⇄
//! Reconnecting` (its connection was lost; it may resume within the resume window, back to the
//! state it had), and any state → `Disconnected(reason)`.

use serde::Serialize;

/// Why a participant left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectReason {
    /// Sent `leave`.
    Left,
    /// Removed by a moderator.
    Removed,
    /// The room was ended.
    RoomEnded,
    /// Moved to another room.
    Moved,
    /// Denied from the lobby.
    Denied,
    /// ICE or WebSocket lost.
    Timeout,
    /// The same identity joined again.
    Replaced,
    /// The server is shutting down.
    ServerShutdown,
    /// A server-side failure (e.g. the client could not keep up).
    Error,
}

impl DisconnectReason {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Left => "left",
            DisconnectReason::Removed => "removed",
            DisconnectReason::RoomEnded => "room_ended",
            DisconnectReason::Moved => "moved",
            DisconnectReason::Denied => "denied",
            DisconnectReason::Timeout => "timeout",
            DisconnectReason::Replaced => "replaced",
            DisconnectReason::ServerShutdown => "server_shutdown",
            DisconnectReason::Error => "error",
        }
    }
}

/// A participant's call state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// An invite exists; the invitee has not joined.
    Invited,
    /// Waiting for a moderator in the lobby.
    Lobby,
    /// In the room, transports not yet up.
    Joining,
    /// In the room with media.
    Connected,
    /// Transports up, nothing forwarded either way.
    OnHold,
    /// Its WebSocket or its media transport was lost; it stays in the room (tracks published,
    /// nothing flowing) until it resumes or its resume window passes.
    Reconnecting,
    /// Gone, with the reason.
    Disconnected(DisconnectReason),
}

/// An illegal transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal call-state transition {from:?} → {to:?}")]
pub struct IllegalTransition {
    /// From.
    pub from: CallState,
    /// To.
    pub to: CallState,
}

impl CallState {
    /// The JSON name (`"on_hold"` etc.).
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Invited => "invited",
            CallState::Lobby => "lobby",
            CallState::Joining => "joining",
            CallState::Connected => "connected",
            CallState::OnHold => "on_hold",
            CallState::Reconnecting => "reconnecting",
            CallState::Disconnected(_) => "disconnected",
        }
    }

    /// Is `self → to` allowed?
    pub fn can_become(self, to: CallState) -> bool {
        use CallState::*;
        match (self, to) {
            (Disconnected(_), _) => false,
            (_, Disconnected(_)) => true,
            (Invited, Lobby | Joining) => true,
            (Lobby, Joining) => true,
            (Joining, Connected) => true,
            (Connected, OnHold) | (OnHold, Connected) => true,
            (Joining | Connected | OnHold, Reconnecting) | (Reconnecting, Joining | Connected | OnHold) => true,
            _ => false,
        }
    }

    /// Moves to `to` if allowed.
    pub fn transition(&mut self, to: CallState) -> Result<(), IllegalTransition> {
        if self.can_become(to) {
            *self = to;
            Ok(())
        } else {
            Err(IllegalTransition { from: *self, to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CallState::*;
    use super::*;

    const REASONS: [DisconnectReason; 9] = [
        DisconnectReason::Left,
        DisconnectReason::Removed,
        DisconnectReason::RoomEnded,
        DisconnectReason::Moved,
        DisconnectReason::Denied,
        DisconnectReason::Timeout,
        DisconnectReason::Replaced,
        DisconnectReason::ServerShutdown,
        DisconnectReason::Error,
    ];

    fn all_states() -> Vec<CallState> {
        let mut v = vec![Invited, Lobby, Joining, Connected, OnHold, Reconnecting];
        v.extend(REASONS.iter().map(|r| Disconnected(*r)));
        v
    }

    #[test]
    fn transition_table_is_exactly_the_documented_one() {
        let allowed = [
            (Invited, Lobby),
            (Invited, Joining),
            (Lobby, Joining),
            (Joining, Connected),
            (Connected, OnHold),
            (OnHold, Connected),
            (Joining, Reconnecting),
            (Connected, Reconnecting),
            (OnHold, Reconnecting),
            (Reconnecting, Joining),
            (Reconnecting, Connected),
            (Reconnecting, OnHold),
        ];
        for from in all_states() {
            for to in all_states() {
                let expected = match (from, to) {
                    (Disconnected(_), _) => false,
                    (_, Disconnected(_)) => true,
                    pair => allowed.contains(&pair),
                };
                assert_eq!(from.can_become(to), expected, "{from:?} → {to:?}");
                let mut s = from;
                assert_eq!(s.transition(to).is_ok(), expected);
                assert_eq!(s, if expected { to } else { from }, "a refused transition changes nothing");
            }
        }
    }

    #[test]
    fn reasons_have_their_wire_names() {
        let names: Vec<_> = REASONS.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, ["left", "removed", "room_ended", "moved", "denied", "timeout", "replaced", "server_shutdown", "error"]);
        for r in REASONS {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(OnHold.as_str(), "on_hold");
    }
}
