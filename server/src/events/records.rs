//! Session records are derived from events, and only here: which event opens or closes a room
//! session or a participant leg, and what a leg keeps of a departure or a moderator's action.
//! Pure; the store applies the resulting [`RecordChange`]s.

use crate::store::{LegSummary, RecordChange, StoredEvent};
use switchboard_signaling::EventKind;

fn text(data: &serde_json::Value, key: &str) -> Option<String> {
    data.get(key).and_then(serde_json::Value::as_str).map(str::to_owned)
}

/// The record change `event` implies, if any.
pub(super) fn derive(kind: EventKind, event: &StoredEvent) -> Option<RecordChange> {
    let session = event.room_sid.clone();
    let room = event.room.clone();
    let at_ms = event.at_ms;
    let data = &event.data;
    Some(match kind {
        EventKind::RoomStarted => RecordChange::SessionStarted { id: session, room, at_ms },
        EventKind::RoomEnded => {
            let peak_participants = data.get("peak_participants").and_then(serde_json::Value::as_u64);
            RecordChange::SessionEnded {
                id: session,
                room,
                at_ms,
                peak_participants: peak_participants.map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
            }
        }
        EventKind::ParticipantJoined => RecordChange::LegOpened {
            session,
            room,
            identity: event.participant.clone()?,
            sid: text(data, "sid")?,
            name: text(data, "name"),
            at_ms,
        },
        // Leaving the lobby ends no leg: the lobby is not the room.
        EventKind::ParticipantLeft if text(data, "from").as_deref() == Some("lobby") => return None,
        EventKind::ParticipantLeft => RecordChange::LegClosed {
            session,
            room,
            identity: event.participant.clone()?,
            sid: text(data, "sid")?,
            name: text(data, "name"),
            at_ms,
            // Fields of another type than expected are left out rather than losing the departure.
            summary: serde_json::from_value::<LegSummary>(data.clone()).unwrap_or_else(|_| LegSummary {
                reason: text(data, "reason"),
                duration_s: data.get("duration_s").and_then(serde_json::Value::as_f64),
                ..LegSummary::default()
            }),
        },
        // Room-wide actions (mute_room, end_room, …) stay in the event log only.
        EventKind::ModeratorAction => RecordChange::ModeratorAction {
            session,
            identity: event.participant.clone()?,
            action: serde_json::json!({
                "action": data.get("action"),
                "by": data.get("by"),
                "at": event.at,
                "details": data.get("details"),
            }),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(participant: Option<&str>, data: serde_json::Value) -> StoredEvent {
        StoredEvent {
            seq: 1,
            kind: String::new(),
            at: "2024-01-01T00:00:00.000Z".into(),
            at_ms: 1_704_067_200_000,
            room: "standup".into(),
            room_sid: "RM_1".into(),
            participant: participant.map(str::to_owned),
            data,
        }
    }

    #[test]
    fn joins_and_departures_open_and_close_legs_with_their_summary() {
        let joined =
            derive(EventKind::ParticipantJoined, &event(Some("alice"), json!({"sid": "PA_1", "name": "Alice"})));
        assert!(
            matches!(joined, Some(RecordChange::LegOpened { ref sid, ref identity, .. }) if sid == "PA_1" && identity == "alice")
        );
        let left = json!({
            "sid": "PA_1", "name": "Alice", "duration_s": 12.5, "remote_address": "192.0.2.1:5000",
            "codecs": ["audio/opus", "video/VP8"], "bytes_in": 10, "packets_in": 1, "bytes_out": 20, "packets_out": 2,
            "reason": "removed",
        });
        let Some(RecordChange::LegClosed { summary, sid, .. }) =
            derive(EventKind::ParticipantLeft, &event(Some("alice"), left))
        else {
            panic!("a departure closes a leg")
        };
        assert_eq!(sid, "PA_1");
        assert_eq!(summary.reason.as_deref(), Some("removed"));
        assert_eq!((summary.duration_s, summary.bytes_in, summary.packets_out), (Some(12.5), 10, 2));
        assert_eq!(summary.codecs, ["audio/opus", "video/VP8"]);
        assert_eq!(summary.remote_address.as_deref(), Some("192.0.2.1:5000"));
    }

    #[test]
    fn lobby_departures_and_room_wide_actions_touch_no_leg() {
        let lobby = json!({"sid": "PA_1", "reason": "denied", "from": "lobby"});
        assert_eq!(derive(EventKind::ParticipantLeft, &event(Some("carol"), lobby)), None);
        let mute_room = json!({"action": "mute_room", "by": "ops", "details": {"kind": "audio"}});
        assert_eq!(derive(EventKind::ModeratorAction, &event(None, mute_room)), None);
        assert_eq!(derive(EventKind::TrackPublished, &event(Some("a"), json!({}))), None);
        // A join without a sid cannot be matched to its departure: no leg rather than a bad one.
        assert_eq!(derive(EventKind::ParticipantJoined, &event(Some("a"), json!({}))), None);
    }

    #[test]
    fn moderator_actions_keep_who_what_when_and_details() {
        let data = json!({"action": "mute", "by": "ops", "details": {"kind": "audio"}});
        let Some(RecordChange::ModeratorAction { identity, action, .. }) =
            derive(EventKind::ModeratorAction, &event(Some("bob"), data))
        else {
            panic!("an action on a participant is recorded")
        };
        assert_eq!(identity, "bob");
        assert_eq!(
            action,
            json!({"action": "mute", "by": "ops", "at": "2024-01-01T00:00:00.000Z", "details": {"kind": "audio"}})
        );
    }

    #[test]
    fn room_end_carries_the_peak() {
        let ended = derive(EventKind::RoomEnded, &event(None, json!({"duration_s": 3.0, "peak_participants": 4})));
        assert!(matches!(ended, Some(RecordChange::SessionEnded { peak_participants: Some(4), .. })));
    }
}
