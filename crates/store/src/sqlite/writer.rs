//! The single writer: one thread owns the write connection and commits whatever has queued up
//! in one transaction (group commit), so that one `fsync` acknowledges many batches. Each queued
//! write runs in its own savepoint, so that one bad write fails alone.

use std::collections::VecDeque;

use crossbeam_channel::Receiver;
use ensuresec_model::{Action, Alert, Incident};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::oneshot;

use crate::tokens::{NewToken, generate_secret, hash_token, scopes_to_text};
use crate::{Appended, BatchKey, DetectionProgress, Findings, Resend, SeqRange, StoreError};

/// A batch already encoded by the caller (encoding is spread over the callers' threads).
pub(crate) struct EncodedBatch {
    pub count: u64,
    pub ingest_ms: i64,
    pub codec: &'static str,
    pub body: Vec<u8>,
    /// How the batch sent again is told from a new one: its key, or its messages' marks.
    pub resend: Resend,
}

/// One queued write and where its answer goes.
pub(crate) enum Write {
    Events(EncodedBatch, oneshot::Sender<Result<Appended, StoreError>>),
    Findings(Findings, oneshot::Sender<Result<(), StoreError>>),
    Purge(i64, oneshot::Sender<Result<u64, StoreError>>),
    CreateToken(NewToken, oneshot::Sender<Result<String, StoreError>>),
    RevokeToken(String, oneshot::Sender<Result<bool, StoreError>>),
}

/// An answer held back until the transaction is durable.
enum Reply {
    Events(
        oneshot::Sender<Result<Appended, StoreError>>,
        Result<Appended, StoreError>,
    ),
    Unit(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    Count(
        oneshot::Sender<Result<u64, StoreError>>,
        Result<u64, StoreError>,
    ),
    Text(
        oneshot::Sender<Result<String, StoreError>>,
        Result<String, StoreError>,
    ),
    Flag(
        oneshot::Sender<Result<bool, StoreError>>,
        Result<bool, StoreError>,
    ),
}

impl Reply {
    /// Sends the answer; on a failed commit every successful answer becomes that failure.
    fn send(self, commit: &Result<(), String>) {
        fn fix<T>(r: Result<T, StoreError>, commit: &Result<(), String>) -> Result<T, StoreError> {
            match (r, commit) {
                (Ok(_), Err(msg)) => Err(StoreError::Commit(msg.clone())),
                (r, _) => r,
            }
        }
        // A caller that gave up waiting is not an error of ours.
        let _ = match self {
            Reply::Events(tx, r) => tx.send(fix(r, commit)).map_err(drop),
            Reply::Unit(tx, r) => tx.send(fix(r, commit)).map_err(drop),
            Reply::Count(tx, r) => tx.send(fix(r, commit)).map_err(drop),
            Reply::Text(tx, r) => tx.send(fix(r, commit)).map_err(drop),
            Reply::Flag(tx, r) => tx.send(fix(r, commit)).map_err(drop),
        };
    }
}

/// Most writes taken into one transaction.
const MAX_GROUP: usize = 512;

/// Runs until every sender is gone.
pub(crate) fn run(mut conn: Connection, rx: Receiver<Write>, mut next_seq: u64) {
    let mut queue = VecDeque::new();
    while let Ok(first) = rx.recv() {
        queue.push_back(first);
        while queue.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(w) => queue.push_back(w),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(queue.len());
        let commit = match conn.transaction() {
            Ok(mut tx) => {
                for write in queue.drain(..) {
                    replies.push(apply(&mut tx, write, &mut next_seq));
                }
                tx.commit().map_err(|e| e.to_string())
            }
            Err(e) => {
                let msg = e.to_string();
                for write in queue.drain(..) {
                    replies.push(fail(write, &msg));
                }
                Err(msg)
            }
        };
        if let Err(msg) = &commit {
            tracing::error!(error = %msg, "store commit failed");
            // Sequence numbers handed out in a failed transaction are free again.
            if let Ok(next) = next_free_seq(&conn) {
                next_seq = next;
            }
        }
        for reply in replies {
            reply.send(&commit);
        }
    }
}

fn fail(write: Write, msg: &str) -> Reply {
    let err = || StoreError::Commit(msg.to_string());
    match write {
        Write::Events(_, tx) => Reply::Events(tx, Err(err())),
        Write::Findings(_, tx) => Reply::Unit(tx, Err(err())),
        Write::Purge(_, tx) => Reply::Count(tx, Err(err())),
        Write::CreateToken(_, tx) => Reply::Text(tx, Err(err())),
        Write::RevokeToken(_, tx) => Reply::Flag(tx, Err(err())),
    }
}

/// Runs one write inside a savepoint of the group's transaction.
fn apply(tx: &mut Transaction<'_>, write: Write, next_seq: &mut u64) -> Reply {
    fn in_savepoint<T>(
        tx: &mut Transaction<'_>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let sp = tx.savepoint()?;
        let out = f(&sp)?;
        sp.commit()?;
        Ok(out)
    }
    match write {
        Write::Events(batch, reply) => {
            let first = *next_seq;
            let result = in_savepoint(tx, |t| insert_events(t, &batch, first));
            if let Ok(Appended::Stored(range)) = &result {
                *next_seq += range.len;
            }
            Reply::Events(reply, result)
        }
        Write::Findings(findings, reply) => {
            Reply::Unit(reply, in_savepoint(tx, |t| insert_findings(t, &findings)))
        }
        Write::Purge(cutoff_ms, reply) => {
            Reply::Count(reply, in_savepoint(tx, |t| purge(t, cutoff_ms)))
        }
        Write::CreateToken(new, reply) => {
            Reply::Text(reply, in_savepoint(tx, |t| create_token(t, new)))
        }
        Write::RevokeToken(name, reply) => Reply::Flag(
            reply,
            in_savepoint(tx, |t| {
                Ok(t.execute("UPDATE api_tokens SET revoked = 1 WHERE name = ?1", [&name])? > 0)
            }),
        ),
    }
}

fn insert_events(
    tx: &Connection,
    batch: &EncodedBatch,
    first: u64,
) -> Result<Appended, StoreError> {
    if let Resend::Key(key) = &batch.resend
        && let Some(earlier) = stored_under(tx, key)?
    {
        return Ok(Appended::Earlier(earlier));
    }
    tx.prepare_cached(
        "INSERT INTO event_batches (first_seq, count, ingest_ms, codec, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![first as i64, batch.count as i64, batch.ingest_ms, batch.codec, batch.body])?;
    match &batch.resend {
        Resend::Unknown => {}
        Resend::Key(key) => {
            tx.prepare_cached(
                "INSERT INTO batch_keys (sender, key, digest, first_seq, count, ingest_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                key.sender,
                key.key,
                key.digest.as_slice(),
                first as i64,
                batch.count as i64,
                batch.ingest_ms
            ])?;
        }
        Resend::Marks(marks) => {
            let mut mark_stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO message_marks (source, id, digest, ingest_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for mark in marks {
                mark_stmt.execute(params![
                    mark.source,
                    mark.id,
                    mark.digest.as_slice(),
                    batch.ingest_ms
                ])?;
            }
        }
    }
    Ok(Appended::Stored(SeqRange {
        first,
        len: batch.count,
    }))
}

/// The range of the batch stored under `key` before, if any; the key with another digest is
/// an error. Earlier writes of the same group are seen too: they share the transaction.
fn stored_under(tx: &Connection, key: &BatchKey) -> Result<Option<SeqRange>, StoreError> {
    let found = tx
        .prepare_cached(
            "SELECT digest, first_seq, count FROM batch_keys WHERE sender = ?1 AND key = ?2",
        )?
        .query_row(params![key.sender, key.key], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    match found {
        None => Ok(None),
        Some((digest, _, _)) if digest != key.digest => Err(StoreError::KeyReused(key.key.clone())),
        Some((_, first, count)) => Ok(Some(SeqRange {
            first: first as u64,
            len: count as u64,
        })),
    }
}

/// The sequence number after the last stored event.
pub(crate) fn next_free_seq(conn: &Connection) -> Result<u64, StoreError> {
    let next: i64 = conn.query_row(
        "SELECT COALESCE(MAX(first_seq + count), 1) FROM event_batches",
        [],
        |r| r.get(0),
    )?;
    Ok(next.max(1) as u64)
}

fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

fn insert_findings(tx: &Connection, findings: &Findings) -> Result<(), StoreError> {
    let mut alert_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO alerts (id, time_ms, detector, rule_id, severity, entity_kind, entity_value, incident_id, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for a in &findings.alerts {
        insert_alert(&mut alert_stmt, a)?;
    }
    let mut incident_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO incidents (id, status, severity, entity_kind, entity_value, first_ms, last_ms, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for i in &findings.incidents {
        insert_incident(&mut incident_stmt, i)?;
    }
    let mut action_stmt = tx.prepare_cached(
        "INSERT INTO actions (time_ms, incident_id, kind, body) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for a in &findings.actions {
        insert_action(&mut action_stmt, a)?;
    }
    if let Some(progress) = &findings.progress {
        store_progress(tx, progress)?;
    }
    Ok(())
}

/// Replaces the stored detection progress (the partitions may be fewer than before).
fn store_progress(tx: &Connection, progress: &DetectionProgress) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM detection_progress")?
        .execute([])?;
    let mut stmt =
        tx.prepare_cached("INSERT INTO detection_progress (partition, next_seq) VALUES (?1, ?2)")?;
    for (partition, next) in progress.next_seq.iter().enumerate() {
        stmt.execute(params![partition as i64, *next as i64])?;
    }
    Ok(())
}

fn insert_alert(stmt: &mut rusqlite::CachedStatement<'_>, a: &Alert) -> Result<(), StoreError> {
    stmt.execute(params![
        a.id as i64,
        a.time.timestamp_millis(),
        a.detector,
        a.rule_id,
        a.severity as i64,
        a.entity.kind.as_str(),
        a.entity.value,
        a.incident_id.map(|i| i as i64),
        encode("alert", a)?,
    ])?;
    Ok(())
}

fn insert_incident(
    stmt: &mut rusqlite::CachedStatement<'_>,
    i: &Incident,
) -> Result<(), StoreError> {
    stmt.execute(params![
        i.id as i64,
        i.status.as_str(),
        i.severity as i64,
        i.entity.kind.as_str(),
        i.entity.value,
        i.first_seen.timestamp_millis(),
        i.last_seen.timestamp_millis(),
        encode("incident", i)?,
    ])?;
    Ok(())
}

fn insert_action(stmt: &mut rusqlite::CachedStatement<'_>, a: &Action) -> Result<(), StoreError> {
    stmt.execute(params![
        a.time.timestamp_millis(),
        a.incident_id.map(|i| i as i64),
        a.kind,
        encode("action", a)?,
    ])?;
    Ok(())
}

fn purge(tx: &Connection, cutoff_ms: i64) -> Result<u64, StoreError> {
    let count: i64 = tx.query_row(
        "SELECT COALESCE(SUM(count), 0) FROM event_batches WHERE ingest_ms < ?1",
        [cutoff_ms],
        |r| r.get(0),
    )?;
    tx.execute(
        "DELETE FROM event_batches WHERE ingest_ms < ?1",
        [cutoff_ms],
    )?;
    // A batch's key goes with it: sent again after that, the batch is stored anew.
    tx.execute("DELETE FROM batch_keys WHERE ingest_ms < ?1", [cutoff_ms])?;
    tx.execute(
        "DELETE FROM message_marks WHERE ingest_ms < ?1",
        [cutoff_ms],
    )?;
    Ok(count as u64)
}

fn create_token(tx: &Connection, new: NewToken) -> Result<String, StoreError> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM api_tokens WHERE name = ?1)",
        [&new.name],
        |r| r.get(0),
    )?;
    if exists && !new.replace {
        return Err(StoreError::DuplicateToken(new.name));
    }
    if exists {
        tx.execute("DELETE FROM api_tokens WHERE name = ?1", [&new.name])?;
    }
    let secret = match new.secret {
        Some(s) => s,
        None => generate_secret()?,
    };
    tx.execute(
        "INSERT INTO api_tokens (name, hash, scopes, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![
            new.name,
            hash_token(&secret),
            scopes_to_text(&new.scopes),
            new.created.timestamp_millis()
        ],
    )?;
    Ok(secret)
}
