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
    // 3: how far detection has come, per pipeline partition: the first sequence number each
    // has not taken. Written in the same transaction as the findings it produced, so a restart
    // resumes detection where the findings stop. A store from before starts with everything it
    // holds taken as detected: replaying a whole history would raise its alerts again.
    "CREATE TABLE detection_progress (
         partition INTEGER PRIMARY KEY,
         next_seq INTEGER NOT NULL
     );
     INSERT INTO detection_progress (partition, next_seq)
         SELECT 0, COALESCE(MAX(first_seq + count), 1) FROM event_batches;",
    // 4: batch keys (`Idempotency-Key`), one per keyed batch, written in the batch's
    // transaction and purged with it, so that a batch sent again is answered from here.
    "CREATE TABLE batch_keys (
         sender TEXT NOT NULL,
         key TEXT NOT NULL,
         digest BLOB NOT NULL,
         first_seq INTEGER NOT NULL,
         count INTEGER NOT NULL,
         ingest_ms INTEGER NOT NULL,
         PRIMARY KEY (sender, key)
     ) WITHOUT ROWID;
     CREATE INDEX batch_keys_ingest ON batch_keys(ingest_ms);",
    // 5: the marks of messages a source may deliver again (MQTT packet ids), one per source
    // and id, replaced when the id comes back with a newer message and purged with the batch.
    "CREATE TABLE message_marks (
         source TEXT NOT NULL,
         id INTEGER NOT NULL,
         digest BLOB NOT NULL,
         ingest_ms INTEGER NOT NULL,
         PRIMARY KEY (source, id)
     ) WITHOUT ROWID;
     CREATE INDEX message_marks_ingest ON message_marks(ingest_ms);",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_from_before_progress_was_kept_takes_what_it_holds_as_detected() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::apply_migrations(&mut conn, &MIGRATIONS[..2], "store").unwrap();
        conn.execute(
            "INSERT INTO event_batches (first_seq, count, ingest_ms, codec, body)
             VALUES (1, 40, 0, 'ndjson', x''), (41, 2, 0, 'ndjson', x'')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let progress = crate::sqlite::reads::detection_progress(&conn).unwrap();
        assert_eq!(
            progress.next_seq,
            vec![43],
            "detection resumes after the last event the upgraded store held"
        );
    }
}
