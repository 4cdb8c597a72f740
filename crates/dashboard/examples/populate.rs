//! Fills a data directory with synthetic findings for `bench/dashboard.sh`: N incidents with
//! M alerts spread over them, across detectors, severities and statuses, timed over the last
//! hour so that the overview's charts have data.
//!
//! `cargo run --release -p ensuresec-dashboard --example populate -- DATA_DIR INCIDENTS ALERTS`

use std::path::PathBuf;

use chrono::{Duration, Utc};
use ensuresec_model::{
    Alert, EntityKey, EntityKind, Incident, IncidentStatus, Severity, Transition,
};
use ensuresec_store::{Findings, SqliteOptions, SqliteStore, Store};

const DETECTORS: [&str; 4] = ["threshold", "webattack", "anomaly", "baseline"];
const RULES: [&str; 4] = ["credential-stuffing-ip", "SQLI-1", "anomaly", "volume"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: populate DATA_DIR INCIDENTS ALERTS")?,
    );
    let incidents: u64 = args.next().ok_or("INCIDENTS")?.parse()?;
    let alerts: u64 = args.next().ok_or("ALERTS")?.parse()?;
    let store = SqliteStore::open(&dir, SqliteOptions::default())?;
    #[allow(clippy::disallowed_methods)] // a benchmark fixture, not detection
    let now = Utc::now();
    let per = (alerts / incidents.max(1)).max(1);
    let batch = 1000u64;
    let mut next_alert = 1u64;
    let mut i = 1u64;
    while i <= incidents {
        let mut f = Findings::default();
        for id in i..(i + batch).min(incidents + 1) {
            let k = (id % 4) as usize;
            let at = now - Duration::seconds(((incidents - id) * 3600 / incidents.max(1)) as i64);
            let entity = EntityKey::new(
                EntityKind::Ip,
                format!("10.{}.{}.{}", id >> 16 & 255, id >> 8 & 255, id & 255),
            );
            let severity = Severity::ALL[(id % 5) as usize];
            let status = if id % 3 == 0 {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Open
            };
            for _ in 0..per {
                f.alerts.push(Alert {
                    id: next_alert,
                    time: at,
                    detector: DETECTORS[k].into(),
                    rule_id: RULES[k].into(),
                    title: "synthetic alert".into(),
                    severity,
                    confidence: 0.8,
                    entity: entity.clone(),
                    evidence: serde_json::json!({ "n": next_alert }),
                    tags: vec![],
                    incident_id: Some(id),
                    ledger_index: None,
                });
                next_alert += 1;
            }
            f.incidents.push(Incident {
                id,
                title: format!("synthetic incident {id}"),
                status,
                severity,
                entity,
                first_seen: at,
                last_seen: at,
                alert_count: per,
                detectors: vec![DETECTORS[k].into()],
                rule_ids: vec![RULES[k].into()],
                tags: vec![],
                history: vec![Transition {
                    at,
                    from: None,
                    to: status,
                    by: "populate".into(),
                    reason: "synthetic".into(),
                }],
                ledger_index: None,
            });
        }
        store.record(f).await?;
        i += batch;
        if i % 10_000 == 1 {
            eprintln!("{} incidents, {} alerts", i - 1, next_alert - 1);
        }
    }
    println!(
        "stored {incidents} incidents and {} alerts in {}",
        next_alert - 1,
        dir.display()
    );
    Ok(())
}
