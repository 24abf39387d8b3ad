//! The SQLite schema as numbered migrations. `PRAGMA user_version` holds how many have run; each
//! runs in its own transaction together with the version bump, so a crash leaves either the old
//! or the new schema. Never edit a released migration: append a new one.

use crate::store::StoreError;
use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: events, the sequence high-water mark, room sessions and participant legs.
    r#"
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        type        TEXT    NOT NULL,
        at          TEXT    NOT NULL,
        at_ms       INTEGER NOT NULL,
        room        TEXT    NOT NULL,
        room_sid    TEXT    NOT NULL,
        participant TEXT,
        data        TEXT    NOT NULL
    );
    CREATE INDEX events_room_seq ON events (room, seq);
    CREATE INDEX events_at ON events (at_ms);

    -- `last_seq` survives pruning of the events table; `last_event_ms` dates crash recovery.
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE room_sessions (
        id                TEXT    PRIMARY KEY,
        room              TEXT    NOT NULL,
        started_at        INTEGER NOT NULL,
        ended_at          INTEGER,
        peak_participants INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX room_sessions_newest ON room_sessions (started_at DESC, id DESC);
    CREATE INDEX room_sessions_room ON room_sessions (room, started_at);

    CREATE TABLE participant_legs (
        id                INTEGER PRIMARY KEY,
        room_session      TEXT    NOT NULL REFERENCES room_sessions (id),
        identity          TEXT    NOT NULL,
        sid               TEXT    NOT NULL,
        name              TEXT,
        joined_at         INTEGER NOT NULL,
        left_at           INTEGER,
        duration_s        REAL,
        leave_reason      TEXT,
        remote_address    TEXT,
        codecs            TEXT    NOT NULL DEFAULT '[]',
        bytes_in          INTEGER NOT NULL DEFAULT 0,
        bytes_out         INTEGER NOT NULL DEFAULT 0,
        packets_in        INTEGER NOT NULL DEFAULT 0,
        packets_out       INTEGER NOT NULL DEFAULT 0,
        moderator_actions TEXT    NOT NULL DEFAULT '[]'
    );
    CREATE INDEX participant_legs_session ON participant_legs (room_session, sid);
    CREATE INDEX participant_legs_identity ON participant_legs (identity);
    "#,
];

/// The schema version this build writes.
pub(super) fn latest() -> u32 {
    MIGRATIONS.len() as u32
}

/// Brings the schema up to [`latest`]; refuses a file from a newer build.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(super::backend)?;
    if current > latest() {
        return Err(StoreError::NewerSchema { found: current, supported: latest() });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(super::backend)?;
        tx.execute_batch(sql).map_err(super::backend)?;
        tx.pragma_update(None, "user_version", i as u32 + 1).map_err(super::backend)?;
        tx.commit().map_err(super::backend)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_newer_files_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, latest());
        conn.pragma_update(None, "user_version", latest() + 1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::NewerSchema { .. })));
    }
}
