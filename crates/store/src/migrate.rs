//! Schema migrations for SQLite files: numbered SQL batches applied in order, each in its own
//! transaction, the version kept in `PRAGMA user_version`. Shared by every SQLite file the
//! platform keeps (the store, the response state), so that all of them upgrade the same way.

use rusqlite::Connection;

/// Why a database could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer ensuresec.
    #[error("database schema version {found} is newer than this ensuresec supports ({supported})")]
    TooNew {
        /// Version found on disk.
        found: i64,
        /// Latest version this build knows.
        supported: i64,
    },
}

/// Applies the `migrations` the database `what` (named in the log) has not seen yet.
pub fn apply_migrations(
    conn: &mut Connection,
    migrations: &[&str],
    what: &str,
) -> Result<(), MigrateError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let latest = migrations.len() as i64;
    if current > latest {
        return Err(MigrateError::TooNew {
            found: current,
            supported: latest,
        });
    }
    for (index, sql) in migrations.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, database = what, "applied migration");
    }
    Ok(())
}
