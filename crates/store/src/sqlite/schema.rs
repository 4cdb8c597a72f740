//! The SQLite schema and its migrations, applied in order and tracked in `PRAGMA user_version`.
//! A migration is never edited once released; a change is a new entry at the end.

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the foundation.
    // Events are stored a batch per row: the batch's NDJSON, LZ4-compressed. One row instead
    // of thousands, and a fifth of the bytes, is what lets one SQLite writer keep up with
    // hundreds of thousands of events per second. Sequence numbers run `first_seq ..
    // first_seq + count`, in line order.
    "CREATE TABLE event_batches (
         first_seq INTEGER PRIMARY KEY,
         count INTEGER NOT NULL,
         ingest_ms INTEGER NOT NULL,
         codec TEXT NOT NULL,
         body BLOB NOT NULL
     );
     CREATE INDEX event_batches_ingest ON event_batches(ingest_ms);
     CREATE TABLE alerts (
         id INTEGER PRIMARY KEY,
         time_ms INTEGER NOT NULL,
         detector TEXT NOT NULL,
         rule_id TEXT NOT NULL,
         severity INTEGER NOT NULL,
         entity_kind TEXT NOT NULL,
         entity_value TEXT NOT NULL,
         incident_id INTEGER,
         body TEXT NOT NULL
     );
     CREATE INDEX alerts_incident ON alerts(incident_id, id);
     CREATE INDEX alerts_entity ON alerts(entity_kind, entity_value, id);
     CREATE INDEX alerts_time ON alerts(time_ms);
     CREATE TABLE incidents (
         id INTEGER PRIMARY KEY,
         status TEXT NOT NULL,
         severity INTEGER NOT NULL,
         entity_kind TEXT NOT NULL,
         entity_value TEXT NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL,
         body TEXT NOT NULL
     );
     CREATE INDEX incidents_status ON incidents(status, id);
     CREATE INDEX incidents_entity ON incidents(entity_kind, entity_value, id);
     CREATE TABLE actions (
         id INTEGER PRIMARY KEY,
         time_ms INTEGER NOT NULL,
         incident_id INTEGER,
         kind TEXT NOT NULL,
         body TEXT NOT NULL
     );
     CREATE INDEX actions_incident ON actions(incident_id, id);
     CREATE TABLE api_tokens (
         name TEXT PRIMARY KEY,
         hash BLOB NOT NULL UNIQUE,
         scopes TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         revoked INTEGER NOT NULL DEFAULT 0
     );",
    // 2: overview aggregates. Incidents by module (first detector), severity and status are
    // counted from this covering expression index instead of 100,000 JSON bodies.
    "CREATE INDEX incidents_module ON incidents(json_extract(body, '$.detectors[0]'), severity, status);",
];

/// Brings the database up to the latest schema.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    crate::apply_migrations(conn, MIGRATIONS, "store").map_err(|e| match e {
        crate::MigrateError::Sqlite(e) => e.into(),
        crate::MigrateError::TooNew { found, supported } => {
            StoreError::SchemaTooNew { found, supported }
        }
    })
}
