//! The CLI's admin subcommands (`rooms`, `participants`, `mute`, `hold`, `resume`, `move`, `kick`,
//! `invite`, `lobby`, `sessions`): each is one admin API call, printed as a table or, with
//! `--json`, as the API's JSON.

use super::client::{ApiClient, ClientError};
use super::table;
use crate::config::Config;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Where the server is and how to print its answers.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Base URL of the server's HTTP API.
    #[arg(long, global = true, env = "SWITCHBOARD_URL", default_value = "http://127.0.0.1:7880")]
    pub url: String,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Subcommands that call the admin API.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// List, create, show or end rooms (default: list).
    Rooms(RoomsArgs),
    /// List a room's participants, or show one.
    Participants(ParticipantsArgs),
    /// Mute (or with --unmute, unmute) a participant's tracks.
    Mute(MuteArgs),
    /// Put a participant on hold.
    Hold(TargetArgs),
    /// Resume a participant from hold.
    Resume(TargetArgs),
    /// Move a participant to another room.
    Move(MoveArgs),
    /// Remove a participant, optionally banning it.
    Kick(KickArgs),
    /// Invite someone: prints a join link.
    Invite(InviteArgs),
    /// Show the lobby, or admit/deny someone waiting.
    Lobby(LobbyArgs),
    /// Session records: past and current room sessions, or one with its participant legs.
    Sessions(SessionsArgs),
    /// Show the server's version, drain state and load.
    Status(StatusArgs),
    /// Drain the server as SIGTERM does: no new joins, calls end by themselves or at the deadline,
    /// then the server exits.
    Drain(DrainArgs),
}

/// `switchboard status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    client: ClientArgs,
}

/// `switchboard drain`.
#[derive(Debug, Args)]
pub struct DrainArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Deadline, e.g. 30s or 5m [default and maximum: the server's drain_timeout_s].
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
}

/// `switchboard rooms`.
#[derive(Debug, Args)]
pub struct RoomsArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: Option<RoomsAction>,
}

/// What `switchboard rooms` does.
#[derive(Debug, Subcommand)]
pub enum RoomsAction {
    /// List open rooms.
    List,
    /// Create a room.
    Create {
        /// Room name.
        name: String,
        /// Joiners wait in the lobby until admitted.
        #[arg(long)]
        lobby: bool,
        /// Most participants in this room (0: no limit).
        // Same id and type as the global server flag `--max-participants`, which clap would
        // otherwise propagate here under the same name; the value lands in both, and only this one
        // matters to a CLI call.
        #[arg(long)]
        max_participants: Option<usize>,
    },
    /// Show one room.
    Get {
        /// Room name.
        name: String,
    },
    /// End a room: everyone is disconnected.
    End {
        /// Room name.
        name: String,
    },
}

/// `switchboard participants ROOM [IDENTITY]`.
#[derive(Debug, Args)]
pub struct ParticipantsArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Room name.
    room: String,
    /// Show only this participant, with its tracks.
    identity: Option<String>,
}

/// A participant of a room.
#[derive(Debug, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Room name.
    room: String,
    /// Participant identity.
    identity: String,
}

/// `switchboard mute ROOM IDENTITY`.
#[derive(Debug, Args)]
pub struct MuteArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only tracks of this kind.
    #[arg(long, value_parser = ["audio", "video"])]
    kind: Option<String>,
    /// Only this track (sid).
    #[arg(long)]
    track: Option<String>,
    /// Unmute instead (a request the participant accepts, unless the room allows remote unmute).
    #[arg(long)]
    unmute: bool,
}

/// `switchboard move ROOM IDENTITY --to ROOM2`.
#[derive(Debug, Args)]
pub struct MoveArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Destination room.
    #[arg(long)]
    to: String,
}

/// `switchboard kick ROOM IDENTITY`.
#[derive(Debug, Args)]
pub struct KickArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Told to the participant.
    #[arg(long)]
    reason: Option<String>,
    /// Also ban the identity from the room.
    #[arg(long)]
    ban: bool,
}

/// `switchboard invite ROOM IDENTITY`.
#[derive(Debug, Args)]
pub struct InviteArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Lifetime of the link, e.g. 30m, 1h, 7d [default: 1d].
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
}

/// `switchboard lobby ROOM [admit|deny IDENTITY]`.
#[derive(Debug, Args)]
pub struct LobbyArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Room name.
    room: String,
    #[command(subcommand)]
    action: Option<LobbyAction>,
}

/// What `switchboard lobby` does besides listing.
#[derive(Debug, Subcommand)]
pub enum LobbyAction {
    /// Let someone in.
    Admit {
        /// Waiting identity.
        identity: String,
    },
    /// Turn someone away.
    Deny {
        /// Waiting identity.
        identity: String,
    },
}

/// `switchboard sessions`.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// One session (its id, `RM_…`) with its participant legs.
    id: Option<String>,
    /// Only sessions of this room.
    #[arg(long)]
    room: Option<String>,
    /// Only sessions this identity took part in.
    #[arg(long)]
    identity: Option<String>,
    /// At most this many sessions.
    #[arg(long)]
    limit: Option<u32>,
    #[command(flatten)]
    client: ClientArgs,
}

/// How to print a successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Rooms,
    Room,
    Participants,
    Participant,
    Invite,
    Sessions,
    Session,
    Server,
    /// No content; print this sentence.
    Done(String),
}

/// A failed subcommand: what to print, and the exit code.
#[derive(Debug, thiserror::Error)]
pub enum AdminCommandError {
    /// The call failed (exit code 1).
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl AdminCommandError {
    /// Process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            AdminCommandError::Client(_) => 1,
        }
    }
}

/// Runs one admin subcommand against the server and returns what to print on stdout.
pub async fn run(config: &Config, command: AdminCommand) -> Result<String, AdminCommandError> {
    use AdminCommand as C;
    let (client_args, request) = match command {
        C::Sessions(a) => {
            let request = match a.id {
                Some(id) => Request::get(&["sessions", &id], Shape::Session),
                None => {
                    let mut r = Request::get(&["sessions"], Shape::Sessions);
                    r.query.extend(a.room.map(|v| ("room", v)));
                    r.query.extend(a.identity.map(|v| ("identity", v)));
                    r.query.extend(a.limit.map(|v| ("limit", v.to_string())));
                    r
                }
            };
            (a.client, request)
        }
        C::Rooms(a) => (a.client, rooms_request(a.action.unwrap_or(RoomsAction::List))),
        C::Status(a) => (a.client, Request::get(&["server"], Shape::Server)),
        C::Drain(a) => {
            let mut request = Request::post(&["server", "drain"], Value::Null, Shape::Server);
            // Whole seconds, rounded up: `--timeout 500ms` must not mean "disconnect everyone now".
            let secs = a.timeout.map(|t| t.as_secs() + u64::from(t.subsec_nanos() > 0));
            request.query.extend(secs.map(|s| ("timeout_s", s.to_string())));
            (a.client, request)
        }
        C::Participants(a) => {
            let request = match a.identity {
                Some(id) => Request::get(&["rooms", &a.room, "participants", &id], Shape::Participant),
                None => Request::get(&["rooms", &a.room, "participants"], Shape::Participants),
            };
            (a.client, request)
        }
        C::Mute(a) => {
            let t = a.target;
            let mut body = json!({ "muted": !a.unmute });
            if let Some(kind) = a.kind {
                body["kind"] = kind.into();
            }
            if let Some(track) = a.track {
                body["track"] = track.into();
            }
            let path = ["rooms", &t.room, "participants", &t.identity, "mute"];
            (t.client, Request::post(&path, body, Shape::Participant))
        }
        C::Hold(t) => {
            let path = ["rooms", &t.room, "participants", &t.identity, "hold"];
            (t.client, Request::post(&path, Value::Null, Shape::Participant))
        }
        C::Resume(t) => {
            let path = ["rooms", &t.room, "participants", &t.identity, "resume"];
            (t.client, Request::post(&path, Value::Null, Shape::Participant))
        }
        C::Move(a) => {
            let t = a.target;
            let path = ["rooms", &t.room, "participants", &t.identity, "move"];
            (t.client, Request::post(&path, json!({ "to_room": a.to }), Shape::Participant))
        }
        C::Kick(a) => {
            let t = a.target;
            let mut request = Request::new(
                Method::DELETE,
                &["rooms", &t.room, "participants", &t.identity],
                Shape::Done(format!(
                    "removed {} from {}{}",
                    t.identity,
                    t.room,
                    if a.ban { " and banned it" } else { "" }
                )),
            );
            if let Some(reason) = a.reason {
                request.query.push(("reason", reason));
            }
            if a.ban {
                request.query.push(("ban", "true".into()));
            }
            (t.client, request)
        }
        C::Invite(a) => {
            let t = a.target;
            let mut body = json!({ "identity": t.identity });
            if let Some(name) = a.name {
                body["name"] = name.into();
            }
            if let Some(ttl) = a.ttl {
                body["ttl_s"] = ttl.as_secs().max(1).into();
            }
            (t.client, Request::post(&["rooms", &t.room, "invites"], body, Shape::Invite))
        }
        C::Lobby(a) => {
            let request = match a.action {
                None => Request::get(&["rooms", &a.room, "lobby"], Shape::Participants),
                Some(LobbyAction::Admit { identity }) => {
                    Request::post(&["rooms", &a.room, "lobby", &identity, "admit"], Value::Null, Shape::Participant)
                }
                Some(LobbyAction::Deny { identity }) => {
                    let done = Shape::Done(format!("denied {identity} entry to {}", a.room));
                    Request::post(&["rooms", &a.room, "lobby", &identity, "deny"], Value::Null, done)
                }
            };
            (a.client, request)
        }
    };
    let client = ApiClient::new(&client_args.url, config)?;
    let query: Vec<(&str, &str)> = request.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = client.url(&request.path.iter().map(String::as_str).collect::<Vec<_>>(), &query);
    let reply = client.send(request.method, url, request.body).await?;
    Ok(match (client_args.json, reply) {
        (true, Some(json)) => serde_json::to_string_pretty(&json).expect("a JSON value serialises"),
        (true, None) => String::new(),
        (false, reply) => render(request.shape, reply.as_ref().unwrap_or(&Value::Null)),
    })
}

/// One API call.
struct Request {
    method: Method,
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    shape: Shape,
}

impl Request {
    fn new(method: Method, path: &[&str], shape: Shape) -> Self {
        Self { method, path: path.iter().map(|s| (*s).to_owned()).collect(), query: Vec::new(), body: None, shape }
    }

    fn get(path: &[&str], shape: Shape) -> Self {
        Self::new(Method::GET, path, shape)
    }

    /// A POST; a `Null` body sends none.
    fn post(path: &[&str], body: Value, shape: Shape) -> Self {
        Self { body: (!body.is_null()).then_some(body), ..Self::new(Method::POST, path, shape) }
    }
}

fn rooms_request(action: RoomsAction) -> Request {
    match action {
        RoomsAction::List => Request::get(&["rooms"], Shape::Rooms),
        RoomsAction::Create { name, lobby, max_participants } => {
            let mut body = json!({ "name": name });
            if lobby {
                body["lobby"] = true.into();
            }
            if let Some(max) = max_participants {
                body["max_participants"] = max.into();
            }
            Request::post(&["rooms"], body, Shape::Room)
        }
        RoomsAction::Get { name } => Request::get(&["rooms", &name], Shape::Room),
        RoomsAction::End { name } => {
            Request::new(Method::DELETE, &["rooms", &name], Shape::Done(format!("ended room {name}")))
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn room_row(r: &Value) -> Vec<String> {
    let max = match r["max_participants"].as_u64() {
        Some(0) | None => "-".to_owned(),
        Some(n) => n.to_string(),
    };
    let lobby = if r["lobby"].as_bool() == Some(true) { "yes" } else { "no" };
    vec![
        text(&r["name"]),
        text(&r["num_participants"]),
        text(&r["num_waiting"]),
        max,
        lobby.to_owned(),
        text(&r["created_at"]),
    ]
}

fn participant_row(p: &Value) -> Vec<String> {
    let tracks: Vec<String> = p["tracks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let muted = if t["muted"].as_bool() == Some(true) { " (muted)" } else { "" };
                    format!("{}{muted}", text(&t["kind"]))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut state = text(&p["state"]);
    if let Some(reason) = p["disconnect_reason"].as_str() {
        state = format!("{state} ({reason})");
    }
    vec![text(&p["identity"]), text(&p["name"]), state, tracks.join(", "), text(&p["remote_address"])]
}

const ROOM_HEADERS: [&str; 6] = ["NAME", "PARTICIPANTS", "WAITING", "MAX", "LOBBY", "CREATED"];
const PARTICIPANT_HEADERS: [&str; 5] = ["IDENTITY", "NAME", "STATE", "TRACKS", "REMOTE"];

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Human-readable output of a successful call.
fn render(shape: Shape, v: &Value) -> String {
    match shape {
        Shape::Rooms => {
            let rows: Vec<_> = list(v, "rooms").iter().map(room_row).collect();
            table::render(&ROOM_HEADERS, &rows)
        }
        Shape::Room => table::render(&ROOM_HEADERS, &[room_row(v)]),
        Shape::Participants => {
            let rows: Vec<_> = list(v, "participants").iter().map(participant_row).collect();
            table::render(&PARTICIPANT_HEADERS, &rows)
        }
        Shape::Participant => {
            let mut out = table::render(&PARTICIPANT_HEADERS, &[participant_row(v)]);
            let tracks: Vec<Vec<String>> = list(v, "tracks")
                .iter()
                .map(|t| {
                    let muted = if t["muted"].as_bool() == Some(true) { "yes" } else { "no" };
                    vec![
                        text(&t["sid"]),
                        text(&t["kind"]),
                        text(&t["source"]),
                        text(&t["codec"]),
                        muted.into(),
                        text(&t["muted_by"]),
                    ]
                })
                .collect();
            if !tracks.is_empty() {
                out.push_str("\n\n");
                out.push_str(&table::render(&["TRACK", "KIND", "SOURCE", "CODEC", "MUTED", "MUTED BY"], &tracks));
            }
            out
        }
        Shape::Invite => {
            format!("url:     {}\nexpires: {}\ntoken:   {}", text(&v["url"]), text(&v["expires_at"]), text(&v["token"]))
        }
        Shape::Sessions => {
            let rows: Vec<_> = list(v, "sessions").iter().map(session_row).collect();
            table::render(&SESSION_HEADERS, &rows)
        }
        Shape::Session => {
            let mut out = table::render(&SESSION_HEADERS, &[session_row(v)]);
            let legs: Vec<Vec<String>> = list(v, "participants")
                .iter()
                .map(|l| {
                    ["identity", "name", "joined_at", "left_at", "duration_s", "leave_reason", "bytes_in", "bytes_out"]
                        .iter()
                        .map(|k| text(&l[*k]))
                        .collect()
                })
                .collect();
            if !legs.is_empty() {
                out.push_str("\n\n");
                let headers = ["IDENTITY", "NAME", "JOINED", "LEFT", "SECONDS", "REASON", "BYTES IN", "BYTES OUT"];
                out.push_str(&table::render(&headers, &legs));
            }
            out
        }
        Shape::Server => {
            let mut out = format!(
                "version:      {}\nrooms:        {}\nparticipants: {}\n",
                text(&v["version"]),
                text(&v["rooms"]),
                text(&v["participants"])
            );
            match v["drain"].as_object() {
                Some(d) => out.push_str(&format!(
                    "draining:     since {} (by {}), deadline {}",
                    text(&d["started_at"]),
                    text(&d["started_by"]),
                    text(&d["deadline_at"])
                )),
                None => out.push_str("draining:     no"),
            }
            out
        }
        Shape::Done(what) => what,
    }
}

const SESSION_HEADERS: [&str; 6] = ["ID", "ROOM", "STARTED", "ENDED", "PEAK", "PARTICIPANTS"];

fn session_row(s: &Value) -> Vec<String> {
    let participants = match &s["participants"] {
        Value::Array(legs) => legs.len().to_string(),
        other => text(other),
    };
    vec![text(&s["id"]), text(&s["room"]), text(&s["started_at"]), text(&s["ended_at"]), text(&s["peak_participants"]), participants]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_the_useful_columns() {
        let rooms = json!({"rooms": [{"name": "standup", "num_participants": 2, "num_waiting": 1, "max_participants": 0,
            "lobby": true, "created_at": "2024-05-01T10:00:00Z"}]});
        let out = render(Shape::Rooms, &rooms);
        assert_eq!(
            out.lines().nth(1).unwrap().split_whitespace().collect::<Vec<_>>(),
            ["standup", "2", "1", "-", "yes", "2024-05-01T10:00:00Z"]
        );
        let p = json!({"identity": "alice", "name": "Alice", "state": "on_hold", "remote_address": null,
            "tracks": [{"sid": "TR_1", "kind": "audio", "source": "microphone", "codec": "audio/opus", "muted": true, "muted_by": "mod"}]});
        let out = render(Shape::Participant, &p);
        assert!(out.contains("alice") && out.contains("on_hold") && out.contains("audio (muted)"), "{out}");
        assert!(out.contains("TR_1") && out.contains("mod"), "{out}");
        let server = json!({"version": "0.1.0", "rooms": 2, "participants": 5, "draining": true,
            "drain": {"started_at": "2026-01-01T10:00:00Z", "deadline_at": "2026-01-01T10:00:30Z", "timeout_s": 30, "started_by": "admin:ops"}});
        let out = render(Shape::Server, &server);
        assert!(out.contains("participants: 5") && out.contains("deadline 2026-01-01T10:00:30Z"), "{out}");
        assert!(out.contains("by admin:ops"), "{out}");
    }
}
