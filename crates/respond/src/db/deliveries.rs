//! Outbound deliveries (webhooks, e-mails): queued with an idempotency key, retried with
//! exponential back-off, dead-lettered after the last attempt, replayable by a person.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use schemars::JsonSchema;
use serde::Serialize;

use super::{DbError, ms, time};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// To send (again) at `next_try`.
    Pending,
    /// Accepted by the receiver.
    Done,
    /// Every attempt failed: a dead letter.
    Dead,
    /// Not sent: the recipient's rate limit was reached.
    RateLimited,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Done => "done",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::RateLimited => "rate_limited",
        }
    }

    fn parse(s: &str) -> Result<DeliveryStatus, DbError> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Done,
            DeliveryStatus::Dead,
            DeliveryStatus::RateLimited,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| DbError::Corrupt(format!("delivery status `{s}`")))
    }
}

/// One outbound message.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Delivery {
    /// Its id.
    pub id: u64,
    /// Idempotency key, sent with every attempt.
    pub key: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// The webhook target's name, or the e-mail recipient.
    pub target: String,
    /// The payload: the webhook's JSON body, or the e-mail as JSON (`subject`, `body`).
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_try: DateTime<Utc>,
    /// The last failure.
    pub last_error: String,
    /// The incident it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<u64>,
    /// When it was queued.
    pub created: DateTime<Utc>,
}

const COLUMNS: &str = "id, key, channel, target, body, status, attempts, next_ms, last_error, incident_id, created_ms";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Delivery, String)> {
    Ok((
        Delivery {
            id: r.get::<_, i64>(0)? as u64,
            key: r.get(1)?,
            channel: r.get(2)?,
            target: r.get(3)?,
            body: r.get(4)?,
            status: DeliveryStatus::Pending,
            attempts: r.get::<_, i64>(6)? as u32,
            next_try: time(r.get(7)?),
            last_error: r.get(8)?,
            incident_id: r.get::<_, Option<i64>>(9)?.map(|v| v as u64),
            created: time(r.get(10)?),
        },
        r.get(5)?,
    ))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<(Delivery, String)>>,
) -> Result<Vec<Delivery>, DbError> {
    let mut out = Vec::new();
    for r in rows {
        let (mut d, status) = r?;
        d.status = DeliveryStatus::parse(&status)?;
        out.push(d);
    }
    Ok(out)
}

/// Queues a delivery due now; a second call with the same key does nothing. Returns the id and
/// whether it was new.
#[allow(clippy::too_many_arguments)] // one row's columns; a struct would only rename them
pub fn enqueue_delivery(
    conn: &mut Connection,
    key: &str,
    channel: &str,
    target: &str,
    body: &str,
    incident_id: Option<u64>,
    status: DeliveryStatus,
    now: DateTime<Utc>,
) -> Result<(u64, bool), DbError> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO deliveries(key, channel, target, body, status, next_ms, incident_id, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6)",
        params![key, channel, target, body, status.as_str(), ms(now), incident_id.map(|v| v as i64)],
    )? == 1;
    let id: i64 = conn.query_row("SELECT id FROM deliveries WHERE key = ?1", [key], |r| {
        r.get(0)
    })?;
    Ok((id as u64, inserted))
}

/// Pending deliveries due by `now`, oldest first, at most `limit`.
pub fn due_deliveries(
    conn: &mut Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Delivery>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE status = 'pending' AND next_ms <= ?1 ORDER BY next_ms LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![ms(now), limit as i64], read)?;
    collect(rows)
}

/// Records an attempt's outcome: `Ok` → done; an error → pending again at `retry_at`, or dead
/// when `retry_at` is `None`.
pub fn finish_delivery(
    conn: &mut Connection,
    id: u64,
    outcome: Result<(), String>,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DeliveryStatus, DbError> {
    let (status, next, error) = match (&outcome, retry_at) {
        (Ok(()), _) => (DeliveryStatus::Done, now, String::new()),
        (Err(e), Some(at)) => (DeliveryStatus::Pending, at, e.clone()),
        (Err(e), None) => (DeliveryStatus::Dead, now, e.clone()),
    };
    conn.execute(
        "UPDATE deliveries SET status = ?1, attempts = attempts + 1, next_ms = ?2, last_error = ?3,
             done_ms = CASE WHEN ?1 = 'done' THEN ?4 ELSE done_ms END
         WHERE id = ?5",
        params![status.as_str(), ms(next), error, ms(now), id as i64],
    )?;
    Ok(status)
}

/// Dead letters, newest first, at most `limit`.
pub fn dead_letters(conn: &mut Connection, limit: usize) -> Result<Vec<Delivery>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE status = 'dead' ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], read)?;
    collect(rows)
}

/// Puts a dead letter back in the queue, due now, with its attempts reset; `false` if `id` is
/// not a dead letter.
pub fn replay_delivery(
    conn: &mut Connection,
    id: u64,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_ms = ?1 WHERE id = ?2 AND status = 'dead'",
        params![ms(now), id as i64],
    )? == 1)
}

/// E-mails queued to `recipient` since `since` (for the per-recipient rate limit).
pub fn count_recent_emails(
    conn: &mut Connection,
    recipient: &str,
    since: DateTime<Utc>,
) -> Result<u64, DbError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE channel = 'email' AND target = ?1 AND created_ms >= ?2
             AND status != 'rate_limited'",
        params![recipient, ms(since)],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}
