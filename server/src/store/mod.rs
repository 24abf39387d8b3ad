//! Persistence of numbered events and session records behind the [`Store`] trait, so that an
//! external database can replace the embedded SQLite one ([`SqliteStore`]). The trait is blocking;
//! [`StoreHandle`] runs every call on tokio's blocking pool, so no database work ever runs on the
//! async runtime. What a record says is decided by the event pipeline (`events::records`): the
//! store only applies [`RecordChange`]s.

mod model;
mod sqlite;

pub use model::{
    Abandoned, LegRecord, LegSummary, RecordChange, SessionCursor, SessionDetail, SessionPage, SessionQuery,
    SessionSummary, StoredEvent,
};
pub use sqlite::SqliteStore;

pub(crate) use model::{now_ms, parse_rfc3339_ms};

use std::sync::Arc;

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, locking, SQL).
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database was written by a newer Switchboard whose schema this one does not know.
    #[error("the store's schema version {found} is newer than this server's {supported}; upgrade Switchboard")]
    NewerSchema {
        /// Version found in the file.
        found: u32,
        /// Latest version this build knows.
        supported: u32,
    },
    /// The blocking task running the call did not finish (it panicked or the runtime is stopping).
    #[error("store task failed: {0}")]
    Task(String),
}

/// Events and session records. Implementations are called from blocking threads, one call at a
/// time or concurrently, and must be safe either way.
pub trait Store: Send + Sync + 'static {
    /// The highest sequence number ever stored (0 for a new store). It survives pruning, so that
    /// numbering continues after a restart instead of reusing numbers clients have seen.
    fn last_seq(&self) -> Result<u64, StoreError>;

    /// Closes the sessions and legs a crash left open: they end at the last recorded event, legs
    /// with the reason `error`. Called once at start-up, before any new event.
    fn close_abandoned(&self) -> Result<Abandoned, StoreError>;

    /// Appends `events` (ascending `seq`) and applies `changes`, atomically.
    fn append(&self, events: &[StoredEvent], changes: &[RecordChange]) -> Result<(), StoreError>;

    /// At most `limit` events with `seq > after`, oldest first, of one room or of all.
    fn events_after(&self, after: u64, room: Option<&str>, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Deletes the events that happened before `before_ms` (unix milliseconds); returns how many.
    fn prune_events(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Room sessions matching `query`, newest first, one page.
    fn sessions(&self, query: &SessionQuery) -> Result<SessionPage, StoreError>;

    /// One room session with its participant legs.
    fn session(&self, id: &str) -> Result<Option<SessionDetail>, StoreError>;
}

/// An async front to a [`Store`]: each call runs on the blocking pool. Cheap to clone.
#[derive(Clone)]
pub struct StoreHandle(Arc<dyn Store>);

impl StoreHandle {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self(store)
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || f(&*store)).await.map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// See [`Store::last_seq`].
    pub async fn last_seq(&self) -> Result<u64, StoreError> {
        self.run(|s| s.last_seq()).await
    }

    /// See [`Store::close_abandoned`].
    pub async fn close_abandoned(&self) -> Result<Abandoned, StoreError> {
        self.run(|s| s.close_abandoned()).await
    }

    /// See [`Store::append`].
    pub async fn append(&self, events: Vec<StoredEvent>, changes: Vec<RecordChange>) -> Result<(), StoreError> {
        self.run(move |s| s.append(&events, &changes)).await
    }

    /// See [`Store::events_after`].
    pub async fn events_after(
        &self,
        after: u64,
        room: Option<String>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.run(move |s| s.events_after(after, room.as_deref(), limit)).await
    }

    /// See [`Store::prune_events`].
    pub async fn prune_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.run(move |s| s.prune_events(before_ms)).await
    }

    /// See [`Store::sessions`].
    pub async fn sessions(&self, query: SessionQuery) -> Result<SessionPage, StoreError> {
        self.run(move |s| s.sessions(&query)).await
    }

    /// See [`Store::session`].
    pub async fn session(&self, id: String) -> Result<Option<SessionDetail>, StoreError> {
        self.run(move |s| s.session(&id)).await
    }
}
