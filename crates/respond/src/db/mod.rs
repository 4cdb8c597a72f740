//! Durable response state in its own SQLite database (`DATA_DIR/respond.sqlite`): decisions
//! with their expiry and deletion markers, playbook runs and their steps (pending approvals
//! included), and outbound deliveries with attempts, next try and dead letters. Restarts resume
//! from here; idempotency keys (unique columns) make sure that no step runs twice.
//!
//! Kept apart from the event store: response state is small, written at a different rhythm, and
//! its schema evolves with this crate.

mod decisions;
mod deliveries;
mod schema;
mod steps;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;

pub use deliveries::{Delivery, DeliveryStatus};
pub use steps::{StepRow, StepStatus};

/// Why the response database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("respond database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back.
    #[error("respond database: corrupt row: {0}")]
    Corrupt(String),
    /// The database is newer than this program.
    #[error("respond database schema version {found} is newer than this program's {supported}")]
    TooNew {
        /// Found.
        found: i64,
        /// Supported.
        supported: i64,
    },
    /// The blocking task panicked or was cancelled.
    #[error("respond database task failed: {0}")]
    Task(String),
}

/// The response database; cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl Db {
    /// Opens (or creates) `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        schema::migrate(&mut conn)?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }

    /// Runs `f` on the connection off the async runtime.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Runs `f` on the connection in the calling thread (for start-up and tests).
    pub fn call_now<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn)
    }
}

/// A stored setting (the fail-safe switch), as JSON text.
pub fn setting(conn: &Connection, name: &str) -> Result<Option<String>, DbError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Stores a setting.
pub fn set_setting(conn: &Connection, name: &str, value: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO settings(name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        [name, value],
    )?;
    Ok(())
}

pub use decisions::{
    delete_decision, insert_decision, insert_decisions, load_decisions, set_ledger_indexes,
    update_decision,
};
pub use deliveries::{
    count_recent_emails, dead_letters, due_deliveries, enqueue_delivery, finish_delivery,
    replay_delivery,
};
pub use steps::{
    awaiting_approval, decide_approval, expired_approvals, record_run, run_incident, run_steps,
    set_step, undo_due,
};

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(e.to_string()))
}
