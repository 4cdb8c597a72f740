//! Queries on a read-only connection. Filters become a WHERE clause with bound parameters only:
//! no caller-provided text is ever spliced into SQL.

use chrono::{TimeZone, Utc};
use ensuresec_model::{Action, Alert, EntityKey, Event, Incident, IncidentId};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::de::DeserializeOwned;

use crate::query::{AlertFilter, IncidentDetail, IncidentFilter, Page, PageRequest};
use crate::tokens::{TokenInfo, scopes_from_text};
use crate::{DetectionProgress, MessageMark, StoreError};

/// A WHERE clause under construction.
#[derive(Default)]
struct Where {
    clauses: Vec<&'static str>,
    params: Vec<Value>,
}

impl Where {
    fn push(&mut self, clause: &'static str, value: impl Into<Value>) {
        self.clauses.push(clause);
        self.params.push(value.into());
    }

    fn entity(&mut self, entity: &Option<EntityKey>) {
        if let Some(e) = entity {
            self.push("entity_kind = ?", e.kind.as_str().to_string());
            self.push("entity_value = ?", e.value.clone());
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn decode<T: DeserializeOwned>(what: &'static str, id: i64, body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        what,
        id: id as u64,
        source,
    })
}

/// Runs a paged `SELECT id, body FROM table WHERE … ORDER BY id DESC LIMIT n+1`.
fn paged<T: DeserializeOwned>(
    conn: &Connection,
    table: &'static str,
    what: &'static str,
    mut filter: Where,
    page: PageRequest,
) -> Result<Page<T>, StoreError> {
    if let Some(before) = page.before_id {
        // A cursor above every id SQLite can hold asks for the first page.
        filter.push("id < ?", i64::try_from(before).unwrap_or(i64::MAX));
    }
    let sql = format!(
        "SELECT id, body FROM {table} {} ORDER BY id DESC LIMIT {}",
        filter.sql(),
        page.limit + 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(filter.params.iter()), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut items = Vec::with_capacity(page.limit);
    let mut next_cursor = None;
    let mut last_id = None;
    for row in rows {
        let (id, body) = row?;
        if items.len() == page.limit {
            // One more row exists: the next page continues below the last id returned.
            next_cursor = last_id;
            break;
        }
        items.push(decode::<T>(what, id, &body)?);
        last_id = Some(id as u64);
    }
    Ok(Page { items, next_cursor })
}

pub(crate) fn list_alerts(
    conn: &Connection,
    f: &AlertFilter,
    page: PageRequest,
) -> Result<Page<Alert>, StoreError> {
    let mut w = Where::default();
    if let Some(s) = f.min_severity {
        w.push("severity >= ?", s as i64);
    }
    if let Some(d) = &f.detector {
        w.push("detector = ?", d.clone());
    }
    if let Some(r) = &f.rule_id {
        w.push("rule_id = ?", r.clone());
    }
    w.entity(&f.entity);
    if let Some(i) = f.incident_id {
        w.push("incident_id = ?", i as i64);
    }
    if let Some(t) = f.since {
        w.push("time_ms >= ?", t.timestamp_millis());
    }
    if let Some(t) = f.until {
        w.push("time_ms < ?", t.timestamp_millis());
    }
    paged(conn, "alerts", "alert", w, page)
}

pub(crate) fn list_incidents(
    conn: &Connection,
    f: &IncidentFilter,
    page: PageRequest,
) -> Result<Page<Incident>, StoreError> {
    let mut w = Where::default();
    if let Some(s) = f.status {
        w.push("status = ?", s.as_str().to_string());
    }
    if let Some(s) = f.min_severity {
        w.push("severity >= ?", s as i64);
    }
    w.entity(&f.entity);
    if let Some(t) = f.since {
        w.push("last_ms >= ?", t.timestamp_millis());
    }
    if let Some(t) = f.until {
        w.push("first_ms < ?", t.timestamp_millis());
    }
    paged(conn, "incidents", "incident", w, page)
}

pub(crate) fn incident(
    conn: &Connection,
    id: IncidentId,
) -> Result<Option<IncidentDetail>, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM incidents WHERE id = ?1",
            [id as i64],
            |r| r.get(0),
        )
        .optional()?;
    let Some(body) = body else { return Ok(None) };
    let incident: Incident = decode("incident", id as i64, &body)?;
    let alerts = list_alerts(
        conn,
        &AlertFilter {
            incident_id: Some(id),
            ..AlertFilter::default()
        },
        PageRequest::new(PageRequest::MAX_LIMIT, None),
    )?
    .items;
    let mut stmt =
        conn.prepare_cached("SELECT id, body FROM actions WHERE incident_id = ?1 ORDER BY id")?;
    let mut actions = Vec::new();
    for row in stmt.query_map([id as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })? {
        let (action_id, body) = row?;
        let mut action: Action = decode("action", action_id, &body)?;
        action.id = action_id as u64;
        actions.push(action);
    }
    Ok(Some(IncidentDetail {
        incident,
        alerts,
        actions,
    }))
}

pub(crate) fn open_incidents(conn: &Connection) -> Result<Vec<Incident>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, body FROM incidents WHERE status NOT IN ('resolved', 'false_positive') ORDER BY id",
    )?;
    let mut out = Vec::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, body) = row?;
        out.push(decode("incident", id, &body)?);
    }
    Ok(out)
}

pub(crate) fn events_from(
    conn: &Connection,
    from: u64,
    limit: usize,
) -> Result<Vec<(u64, Event)>, StoreError> {
    let end = from.saturating_add(limit as u64);
    // The batch holding `from`, then every later one that starts before `end`.
    let mut stmt = conn.prepare_cached(
        "SELECT first_seq, count, ingest_ms, codec, body FROM event_batches
         WHERE first_seq >= (SELECT COALESCE(MAX(first_seq), 0) FROM event_batches WHERE first_seq <= ?1)
           AND first_seq < ?2
         ORDER BY first_seq",
    )?;
    let mut out = Vec::new();
    let rows = stmt.query_map([from as i64, end as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    for row in rows {
        let (first, ingest_ms, codec, body) = row?;
        let ingest = Utc
            .timestamp_millis_opt(ingest_ms)
            .single()
            .unwrap_or_default();
        for (seq, event) in crate::codec::decode(&codec, &body, first as u64, ingest)? {
            if seq >= from && seq < end {
                out.push((seq, event));
            }
        }
    }
    Ok(out)
}

/// The stored detection progress, partitions in order.
pub(crate) fn detection_progress(conn: &Connection) -> Result<DetectionProgress, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT next_seq FROM detection_progress ORDER BY partition")?;
    let next_seq = stmt
        .query_map([], |r| r.get::<_, i64>(0))?
        .map(|n| n.map(|n| n.max(1) as u64))
        .collect::<Result<Vec<u64>, _>>()?;
    Ok(DetectionProgress { next_seq })
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        name: r.get(0)?,
        scopes: scopes_from_text(&r.get::<_, String>(1)?),
        created: Utc
            .timestamp_millis_opt(r.get(2)?)
            .single()
            .unwrap_or_default(),
        revoked: r.get::<_, i64>(3)? != 0,
    })
}

pub(crate) fn token_by_hash(
    conn: &Connection,
    hash: &[u8],
) -> Result<Option<TokenInfo>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT name, scopes, created_ms, revoked FROM api_tokens WHERE hash = ?1 AND revoked = 0",
        )?
        .query_row([hash], token_row)
        .optional()?)
}

pub(crate) fn list_tokens(conn: &Connection) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT name, scopes, created_ms, revoked FROM api_tokens ORDER BY name")?;
    let rows = stmt.query_map([], token_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether the message of `mark` is kept: its source and id with the same digest.
pub(crate) fn is_marked(conn: &Connection, mark: &MessageMark) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached("SELECT digest FROM message_marks WHERE source = ?1 AND id = ?2")?
        .query_row(params![mark.source, mark.id], |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    Ok(found.is_some_and(|digest| digest == mark.digest))
}
