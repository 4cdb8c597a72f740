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

/// Events and alerts per bucket since `since_ms`, from the `event_batches_ingest` and
/// `alerts_time` indexes.
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
        alerts: series(
            "SELECT time_ms / ?2, COUNT(*) FROM alerts WHERE time_ms >= ?1 GROUP BY 1 ORDER BY 1",
        )?,
    })
}
