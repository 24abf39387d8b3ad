//! The embedded [`Store`]: one SQLite file (or `:memory:`) in WAL mode with `synchronous=NORMAL`,
//! so a crash or kill never corrupts it (at worst the last transactions before a power cut are
//! lost). One connection behind a mutex: calls come from the blocking pool only, never from an
//! async task, and the event rate of a conference server is far below what one connection does.

mod migrations;
use super::model::{format_ms, now_ms, LegSummary};
use super::{
    Abandoned, LegRecord, RecordChange, SessionCursor, SessionDetail, SessionPage, SessionQuery, SessionSummary, Store,
    StoreError, StoredEvent,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Reason given to legs closed by [`Store::close_abandoned`]: the server died under them.
const ABANDONED_REASON: &str = "error";
/// Reason given to legs still open when their room ended (their own `participant_left` was lost).
const ROOM_ENDED_REASON: &str = "room_ended";

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

pub(super) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`; `:memory:` is a private
    /// in-memory database.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(backend)?;
        // In-memory databases answer `memory`; files switch to WAL (a persistent setting).
        let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(backend)?;
        migrations::migrate(&mut conn)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    /// A private in-memory database.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::open(Path::new(":memory:"))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        // A panic while holding the lock cannot leave a half-applied change: every write is one
        // transaction, rolled back when dropped. So a poisoned lock is still a usable connection.
        let mut conn: MutexGuard<'_, Connection> = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(backend)
    }
}

/// A JSON column, parsed; a value that is not JSON is reported as a conversion failure.
fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: row.get::<_, i64>(0)? as u64,
        kind: row.get(1)?,
        at: row.get(2)?,
        at_ms: row.get(3)?,
        room: row.get(4)?,
        room_sid: row.get(5)?,
        participant: row.get(6)?,
        data: json_column(row, 7)?,
    })
}

const EVENT_COLUMNS: &str = "seq, type, at, at_ms, room, room_sid, participant, data";

/// Creates the session a change refers to when its `room_started` never arrived (dropped under
/// load), so that no leg is ever orphaned.
fn ensure_session(tx: &Transaction<'_>, id: &str, room: &str, at_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO room_sessions (id, room, started_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
        params![id, room, at_ms],
    )?;
    Ok(())
}

fn apply(tx: &Transaction<'_>, change: &RecordChange) -> rusqlite::Result<()> {
    match change {
        RecordChange::SessionStarted { id, room, at_ms } => ensure_session(tx, id, room, *at_ms),
        RecordChange::SessionEnded { id, room, at_ms, peak_participants } => {
            ensure_session(tx, id, room, *at_ms)?;
            tx.execute(
                "UPDATE participant_legs SET left_at = max(joined_at, ?2), leave_reason = ?3,
                     duration_s = max(0, (?2 - joined_at) / 1000.0)
                 WHERE room_session = ?1 AND left_at IS NULL",
                params![id, at_ms, ROOM_ENDED_REASON],
            )?;
            tx.execute(
                "UPDATE room_sessions SET ended_at = max(started_at, ?2), peak_participants = max(peak_participants, ?3)
                 WHERE id = ?1",
                params![id, at_ms, peak_participants.unwrap_or(0)],
            )?;
            Ok(())
        }
        RecordChange::LegOpened { session, room, identity, sid, name, at_ms } => {
            ensure_session(tx, session, room, *at_ms)?;
            tx.execute(
                "INSERT INTO participant_legs (room_session, identity, sid, name, joined_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session, identity, sid, name, at_ms],
            )?;
            tx.execute(
                "UPDATE room_sessions SET peak_participants = max(peak_participants,
                     (SELECT COUNT(*) FROM participant_legs WHERE room_session = ?1 AND left_at IS NULL))
                 WHERE id = ?1",
                params![session],
            )?;
            Ok(())
        }
        RecordChange::LegClosed { session, room, identity, sid, name, at_ms, summary } => {
            close_leg(tx, session, room, identity, sid, name.as_deref(), *at_ms, summary)
        }
        RecordChange::ModeratorAction { session, identity, action } => {
            // The open leg; else the latest one, for actions that ended it (remove, move).
            tx.execute(
                "UPDATE participant_legs SET moderator_actions = json_insert(moderator_actions, '$[#]', json(?3))
                 WHERE id = (SELECT id FROM participant_legs WHERE room_session = ?1 AND identity = ?2
                             ORDER BY left_at IS NULL DESC, id DESC LIMIT 1)",
                params![session, identity, action.to_string()],
            )?;
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn close_leg(
    tx: &Transaction<'_>,
    session: &str,
    room: &str,
    identity: &str,
    sid: &str,
    name: Option<&str>,
    at_ms: i64,
    s: &LegSummary,
) -> rusqlite::Result<()> {
    let codecs = serde_json::to_string(&s.codecs).unwrap_or_else(|_| "[]".into());
    let closed = tx.execute(
        "UPDATE participant_legs SET left_at = max(joined_at, ?3), duration_s = coalesce(?4, max(0, (?3 - joined_at) / 1000.0)),
             leave_reason = ?5, remote_address = ?6, codecs = ?7, bytes_in = ?8, bytes_out = ?9, packets_in = ?10,
             packets_out = ?11
         WHERE id = (SELECT id FROM participant_legs WHERE room_session = ?1 AND sid = ?2 AND left_at IS NULL
                     ORDER BY id DESC LIMIT 1)",
        params![
            session,
            sid,
            at_ms,
            s.duration_s,
            s.reason,
            s.remote_address,
            codecs,
            s.bytes_in as i64,
            s.bytes_out as i64,
            s.packets_in as i64,
            s.packets_out as i64
        ],
    )?;
    // Its `participant_joined` was lost: the departure still says when it joined.
    if closed == 0 {
        if let Some(duration) = s.duration_s {
            ensure_session(tx, session, room, at_ms)?;
            tx.execute(
                "INSERT INTO participant_legs (room_session, identity, sid, name, joined_at, left_at, duration_s,
                     leave_reason, remote_address, codecs, bytes_in, bytes_out, packets_in, packets_out)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    session,
                    identity,
                    sid,
                    name,
                    at_ms - (duration * 1000.0) as i64,
                    at_ms,
                    duration,
                    s.reason,
                    s.remote_address,
                    codecs,
                    s.bytes_in as i64,
                    s.bytes_out as i64,
                    s.packets_in as i64,
                    s.packets_out as i64
                ],
            )?;
        }
    }
    Ok(())
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

fn raise_meta(tx: &Transaction<'_>, key: &str, value: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        params![key, value],
    )?;
    Ok(())
}

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<(SessionSummary, i64)> {
    let started_ms: i64 = row.get(2)?;
    let summary = SessionSummary {
        id: row.get(0)?,
        room: row.get(1)?,
        started_at: format_ms(started_ms),
        ended_at: row.get::<_, Option<i64>>(3)?.map(format_ms),
        peak_participants: row.get(4)?,
        participants: row.get::<_, i64>(5)? as u64,
    };
    Ok((summary, started_ms))
}

fn leg_from_row(row: &Row<'_>) -> rusqlite::Result<LegRecord> {
    Ok(LegRecord {
        identity: row.get(0)?,
        sid: row.get(1)?,
        name: row.get(2)?,
        joined_at: format_ms(row.get(3)?),
        left_at: row.get::<_, Option<i64>>(4)?.map(format_ms),
        duration_s: row.get(5)?,
        leave_reason: row.get(6)?,
        remote_address: row.get(7)?,
        codecs: json_column(row, 8)?,
        bytes_in: row.get::<_, i64>(9)? as u64,
        bytes_out: row.get::<_, i64>(10)? as u64,
        packets_in: row.get::<_, i64>(11)? as u64,
        packets_out: row.get::<_, i64>(12)? as u64,
        moderator_actions: json_column(row, 13)?,
    })
}

impl Store for SqliteStore {
    fn last_seq(&self) -> Result<u64, StoreError> {
        self.with(|conn| Ok(meta(conn, "last_seq")?.unwrap_or(0) as u64))
    }

    fn close_abandoned(&self) -> Result<Abandoned, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            // The last thing the dead server recorded is the best bound on when it died.
            let at = meta(&tx, "last_event_ms")?.unwrap_or_else(now_ms);
            let legs = tx.execute(
                "UPDATE participant_legs SET left_at = max(joined_at, ?1), leave_reason = ?2,
                     duration_s = max(0, (?1 - joined_at) / 1000.0)
                 WHERE left_at IS NULL",
                params![at, ABANDONED_REASON],
            )?;
            let sessions =
                tx.execute("UPDATE room_sessions SET ended_at = max(started_at, ?1) WHERE ended_at IS NULL", [at])?;
            tx.commit()?;
            Ok(Abandoned { sessions: sessions as u64, legs: legs as u64 })
        })
    }

    fn append(&self, events: &[StoredEvent], changes: &[RecordChange]) -> Result<(), StoreError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(&format!(
                    "INSERT INTO events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))?;
                for e in events {
                    insert.execute(params![
                        e.seq as i64,
                        e.kind,
                        e.at,
                        e.at_ms,
                        e.room,
                        e.room_sid,
                        e.participant,
                        e.data.to_string()
                    ])?;
                }
            }
            if let Some(last) = events.iter().map(|e| e.seq).max() {
                raise_meta(&tx, "last_seq", last as i64)?;
            }
            if let Some(at) = events.iter().map(|e| e.at_ms).max() {
                raise_meta(&tx, "last_event_ms", at)?;
            }
            for change in changes {
                apply(&tx, change)?;
            }
            tx.commit()
        })
    }

    fn events_after(&self, after: u64, room: Option<&str>, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.with(|conn| {
            let (after, limit) = (after.min(i64::MAX as u64) as i64, limit.min(i64::MAX as usize) as i64);
            match room {
                Some(room) => {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE room = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
                    ))?;
                    let rows = stmt.query_map(params![room, after, limit], event_from_row)?;
                    rows.collect()
                }
                None => {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                    ))?;
                    let rows = stmt.query_map(params![after, limit], event_from_row)?;
                    rows.collect()
                }
            }
        })
    }

    fn prune_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.with(|conn| Ok(conn.execute("DELETE FROM events WHERE at_ms < ?1", [before_ms])? as u64))
    }

    fn sessions(&self, q: &SessionQuery) -> Result<SessionPage, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT s.id, s.room, s.started_at, s.ended_at, s.peak_participants,
                        (SELECT COUNT(*) FROM participant_legs l WHERE l.room_session = s.id)
                 FROM room_sessions s
                 WHERE (?1 IS NULL OR s.room = ?1)
                   AND (?2 IS NULL OR EXISTS (SELECT 1 FROM participant_legs l WHERE l.room_session = s.id AND l.identity = ?2))
                   AND (?3 IS NULL OR s.ended_at IS NULL OR s.ended_at >= ?3)
                   AND (?4 IS NULL OR s.started_at <= ?4)
                   AND (?5 IS NULL OR s.started_at < ?5 OR (s.started_at = ?5 AND s.id < ?6))
                 ORDER BY s.started_at DESC, s.id DESC
                 LIMIT ?7",
            )?;
            let cursor = q.cursor.as_ref();
            // One more than asked tells whether another page follows.
            let fetch = q.limit.saturating_add(1).min(i64::MAX as usize) as i64;
            let rows = stmt.query_map(
                params![
                    q.room,
                    q.identity,
                    q.from_ms,
                    q.to_ms,
                    cursor.map(|c| c.started_ms),
                    cursor.map(|c| c.id.as_str()),
                    fetch
                ],
                summary_from_row,
            )?;
            let mut rows: Vec<(SessionSummary, i64)> = rows.collect::<rusqlite::Result<_>>()?;
            let more = rows.len() > q.limit;
            rows.truncate(q.limit);
            let next_cursor = match rows.last() {
                Some((last, started_ms)) if more => Some(SessionCursor { started_ms: *started_ms, id: last.id.clone() }),
                _ => None,
            };
            Ok(SessionPage { sessions: rows.into_iter().map(|(s, _)| s).collect(), next_cursor })
        })
    }

    fn session(&self, id: &str) -> Result<Option<SessionDetail>, StoreError> {
        self.with(|conn| {
            let head = conn
                .query_row(
                    "SELECT s.id, s.room, s.started_at, s.ended_at, s.peak_participants, 0 FROM room_sessions s WHERE s.id = ?1",
                    [id],
                    summary_from_row,
                )
                .optional()?;
            let Some((s, _)) = head else { return Ok(None) };
            let mut stmt = conn.prepare_cached(
                "SELECT identity, sid, name, joined_at, left_at, duration_s, leave_reason, remote_address, codecs,
                        bytes_in, bytes_out, packets_in, packets_out, moderator_actions
                 FROM participant_legs WHERE room_session = ?1 ORDER BY joined_at, id",
            )?;
            let legs = stmt.query_map([id], leg_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(SessionDetail {
                id: s.id,
                room: s.room,
                started_at: s.started_at,
                ended_at: s.ended_at,
                peak_participants: s.peak_participants,
                participants: legs,
            }))
        })
    }
}

#[cfg(test)]
mod tests;
