//! Overview aggregates, each answered from one index (see migration 2).

use ensuresec_model::{IncidentStatus, Severity};
use rusqlite::Connection;

use crate::StoreError;
use crate::summary::{Activity, IncidentCount};

/// Incident counts by first detector, severity and status: a scan of the covering index
/// `incidents_module`, not of the bodies.
pub(crate) fn incident_counts(conn: &Connection) -> Result<Vec<IncidentCount>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(body, '$.detectors[0]'), severity, status, COUNT(*)
         FROM incidents GROUP BY 1, 2, 3",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (module, severity, status, count) = row?;
        let (Some(severity), Ok(status)) = (
            Severity::ALL.get(severity as usize).copied(),
            status.parse::<IncidentStatus>(),
        ) else {
            continue;
        };
        out.push(IncidentCount {
            module: module.unwrap_or_else(|| "unknown".into()),
            severity,
            status,
            count: count as u64,
        });
    }
    Ok(out)
}

/// Events and alerts per bucket since `since_ms` (at most 10,000 buckets of alerts), from the
/// `event_batches_ingest` and `alerts_time` indexes.
pub(crate) fn activity(
    conn: &Connection,
    since_ms: i64,
    bucket_seconds: u32,
) -> Result<Activity, StoreError> {
    let width = i64::from(bucket_seconds.max(1)) * 1000;
    let series = |sql: &str| -> Result<Vec<(i64, u64)>, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([since_ms, width], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        rows.map(|r| {
            r.map(|(bucket, n)| (bucket * width / 1000, n as u64))
                .map_err(StoreError::from)
        })
        .collect()
    };
    Ok(Activity {
        bucket_seconds: bucket_seconds.max(1),
        events: series(
            "SELECT ingest_ms / ?2, SUM(count) FROM event_batches WHERE ingest_ms >= ?1 GROUP BY 1 ORDER BY 1",
        )?,
        // One index range count per bucket: SQLite counts a covering-index range without
        // materialising it, where `GROUP BY time_ms / width` would sort a million keys.
        alerts: series(
            "WITH RECURSIVE b(s) AS (
                 SELECT ?1 / ?2 * ?2
                 UNION ALL
                 SELECT s + ?2 FROM b
                 WHERE s + ?2 <= (SELECT MAX(time_ms) FROM alerts) AND s < ?1 + 10000 * ?2
             )
             SELECT s / ?2, (SELECT COUNT(*) FROM alerts WHERE time_ms >= s AND time_ms < s + ?2) AS n
             FROM b WHERE n > 0 ORDER BY 1",
        )?,
    })
}
