//! The response database's migrations, applied in order and tracked in `PRAGMA user_version`.
//! A migration is never edited once released; a change is a new entry at the end.

use rusqlite::Connection;

use super::DbError;

const MIGRATIONS: &[&str] = &[
    // 1: decisions, playbook runs and steps, deliveries, settings.
    "CREATE TABLE decisions (
         id INTEGER PRIMARY KEY,
         key TEXT UNIQUE,
         body TEXT NOT NULL,
         until_ms INTEGER NOT NULL,
         deleted_ms INTEGER
     );
     CREATE INDEX decisions_live ON decisions(deleted_ms, until_ms);
     CREATE TABLE runs (
         incident_id INTEGER NOT NULL,
         playbook TEXT NOT NULL,
         incident TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         PRIMARY KEY (incident_id, playbook)
     );
     CREATE TABLE steps (
         key TEXT PRIMARY KEY,
         incident_id INTEGER NOT NULL,
         playbook TEXT NOT NULL,
         position INTEGER NOT NULL,
         step_id TEXT NOT NULL,
         status TEXT NOT NULL,
         deadline_ms INTEGER,
         undo_ms INTEGER,
         note TEXT NOT NULL DEFAULT '',
         updated_ms INTEGER NOT NULL
     );
     CREATE INDEX steps_run ON steps(incident_id, playbook, position);
     CREATE INDEX steps_status ON steps(status, deadline_ms);
     CREATE TABLE deliveries (
         id INTEGER PRIMARY KEY,
         key TEXT NOT NULL UNIQUE,
         channel TEXT NOT NULL,
         target TEXT NOT NULL,
         body TEXT NOT NULL,
         status TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_ms INTEGER NOT NULL,
         last_error TEXT NOT NULL DEFAULT '',
         incident_id INTEGER,
         created_ms INTEGER NOT NULL,
         done_ms INTEGER
     );
     CREATE INDEX deliveries_due ON deliveries(status, next_ms);
     CREATE INDEX deliveries_target ON deliveries(channel, target, created_ms);
     CREATE TABLE settings (
         name TEXT PRIMARY KEY,
         value TEXT NOT NULL
     );",
];

/// Brings the database up to the latest schema.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    ensuresec_store::apply_migrations(conn, MIGRATIONS, "respond").map_err(|e| match e {
        ensuresec_store::MigrateError::Sqlite(e) => e.into(),
        ensuresec_store::MigrateError::TooNew { found, supported } => {
            DbError::TooNew { found, supported }
        }
    })
}
