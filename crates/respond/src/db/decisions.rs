//! Decisions in the response database.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, json, ms};
use crate::decision::{Decision, DecisionId, NewDecision};

/// Stores a new decision made at `now` by `origin`. With a `key` (a playbook step's idempotency
/// key), a second call with the same key returns the first decision and `false`.
pub fn insert_decision(
    conn: &mut Connection,
    key: Option<&str>,
    new: &NewDecision,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<(Decision, bool), DbError> {
    let tx = conn.transaction()?;
    if let Some(key) = key {
        let existing: Option<String> = tx
            .query_row("SELECT body FROM decisions WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(body) = existing {
            return Ok((json(&body)?, false));
        }
    }
    let until = now + Duration::seconds(new.duration_seconds as i64);
    tx.execute(
        "INSERT INTO decisions(key, body, until_ms) VALUES (?1, '{}', ?2)",
        params![key, ms(until)],
    )?;
    let id = tx.last_insert_rowid() as DecisionId;
    let d = Decision {
        id,
        kind: new.kind,
        scope: new.scope,
        value: new.value.clone(),
        origin: origin.to_string(),
        scenario: new.scenario.clone(),
        incident_id: new.incident_id,
        created: now,
        until,
        deleted: None,
        ledger_index: None,
    };
    tx.execute(
        "UPDATE decisions SET body = ?1 WHERE id = ?2",
        params![body(&d)?, id as i64],
    )?;
    tx.commit()?;
    Ok((d, true))
}

/// Stores many decisions made at `now` by `origin` in one transaction: ids follow the largest
/// one stored, so that each row is written once, with its final body, by one cached statement.
pub fn insert_decisions(
    conn: &mut Connection,
    news: &[NewDecision],
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Decision>, DbError> {
    let tx = conn.transaction()?;
    let last: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM decisions", [], |r| {
        r.get(0)
    })?;
    let mut out = Vec::with_capacity(news.len());
    {
        let mut insert =
            tx.prepare_cached("INSERT INTO decisions(id, body, until_ms) VALUES (?1, ?2, ?3)")?;
        for (new, id) in news.iter().zip(last as DecisionId + 1..) {
            let until = now + Duration::seconds(new.duration_seconds as i64);
            let d = Decision {
                id,
                kind: new.kind,
                scope: new.scope,
                value: new.value.clone(),
                origin: origin.to_string(),
                scenario: new.scenario.clone(),
                incident_id: new.incident_id,
                created: now,
                until,
                deleted: None,
                ledger_index: None,
            };
            insert.execute(params![id as i64, body(&d)?, ms(until)])?;
            out.push(d);
        }
    }
    tx.commit()?;
    Ok(out)
}

/// Adds the audit log indexes to stored decisions in one durable transaction, so that a
/// decision the API has answered with its index keeps it after a crash.
pub fn set_ledger_indexes(conn: &mut Connection, ds: &[Decision]) -> Result<(), DbError> {
    let tx = conn.transaction()?;
    {
        let mut update = tx.prepare_cached("UPDATE decisions SET body = ?1 WHERE id = ?2")?;
        for d in ds {
            update.execute(params![body(d)?, d.id as i64])?;
        }
    }
    Ok(tx.commit()?)
}

fn body(d: &Decision) -> Result<String, DbError> {
    serde_json::to_string(d).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// Rewrites a stored decision's record (to add its audit log index).
pub fn update_decision(conn: &Connection, d: &Decision) -> Result<(), DbError> {
    conn.execute(
        "UPDATE decisions SET body = ?1 WHERE id = ?2",
        params![body(d)?, d.id as i64],
    )?;
    Ok(())
}

/// Marks a decision deleted (revoked or lapsed) at `at`; `None` if unknown or already deleted.
pub fn delete_decision(
    conn: &mut Connection,
    id: DecisionId,
    at: DateTime<Utc>,
) -> Result<Option<Decision>, DbError> {
    let tx = conn.transaction()?;
    let row: Option<String> = tx
        .query_row(
            "SELECT body FROM decisions WHERE id = ?1 AND deleted_ms IS NULL",
            [id as i64],
            |r| r.get(0),
        )
        .optional()?;
    let Some(text) = row else {
        return Ok(None);
    };
    let mut d: Decision = json(&text)?;
    d.deleted = Some(at);
    tx.execute(
        "UPDATE decisions SET body = ?1, deleted_ms = ?2 WHERE id = ?3",
        params![body(&d)?, ms(at), id as i64],
    )?;
    tx.commit()?;
    Ok(Some(d))
}

/// Decisions in force at `now` and those deleted after `deleted_since`, for the book.
pub fn load_decisions(
    conn: &mut Connection,
    now: DateTime<Utc>,
    deleted_since: DateTime<Utc>,
) -> Result<Vec<Decision>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT body FROM decisions
         WHERE (deleted_ms IS NULL AND until_ms > ?1) OR deleted_ms > ?2
            OR (deleted_ms IS NULL AND until_ms <= ?1 AND until_ms > ?2)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![ms(now), ms(deleted_since)], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for r in rows {
        out.push(json(&r?)?);
    }
    Ok(out)
}
