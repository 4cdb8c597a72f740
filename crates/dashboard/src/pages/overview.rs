//! `GET /ui/`: the overview — open incidents by module and severity, event and alert rates over
//! the last hour, and the health of each module.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::Duration;
use ensuresec_model::Severity;
use ensuresec_store::{IncidentFilter, PageRequest};

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::{IncidentRow, json_for_script, visible};

/// One row of the counts table: a module and its open incidents per severity, mildest first.
pub(crate) struct ModuleCounts {
    /// Module (first detector).
    pub module: String,
    /// Counts per severity (info … critical).
    pub by_severity: [u64; 5],
    /// Sum.
    pub total: u64,
}

/// One line of the health list.
pub(crate) struct Health {
    /// Module.
    pub name: &'static str,
    /// `ok`, `off` or `down`.
    pub state: &'static str,
    /// Details.
    pub detail: String,
}

/// The chart's data: one point per minute of the last hour, zeros included, so that the time
/// axis always spans the hour.
#[derive(serde::Serialize)]
struct Rates {
    times: Vec<i64>,
    events: Vec<u64>,
    alerts: Vec<u64>,
}

impl Rates {
    fn dense(a: &ensuresec_store::Activity, now: i64) -> Rates {
        let width = i64::from(a.bucket_seconds);
        let last = now - now.rem_euclid(width);
        let times: Vec<i64> = (0..60).rev().map(|k| last - k * width).collect();
        let fill = |series: &[(i64, u64)]| {
            times
                .iter()
                .map(|t| series.iter().find(|(b, _)| b == t).map_or(0, |(_, n)| *n))
                .collect()
        };
        Rates {
            events: fill(&a.events),
            alerts: fill(&a.alerts),
            times,
        }
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    severities: [&'static str; 5],
    modules: Vec<ModuleCounts>,
    totals: [u64; 5],
    open_total: u64,
    activity_json: String,
    health: Vec<Health>,
    recent: Vec<IncidentRow>,
    partner: bool,
}

/// The page.
pub(crate) async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    let platform = &state.app.platform;
    let store = platform.store();
    let model = &state.app.assets;
    let partner = viewer.partner().is_some();
    let mut modules: Vec<ModuleCounts> = Vec::new();
    let mut totals = [0u64; 5];
    let mut activity_json = "null".to_string();
    let counts = if partner {
        Ok(Vec::new())
    } else {
        store.incident_counts().await
    };
    let store_ok = counts.is_ok();
    for c in counts.unwrap_or_default() {
        if c.status.is_closed() {
            continue;
        }
        let at = match modules.iter().position(|m| m.module == c.module) {
            Some(i) => i,
            None => {
                modules.push(ModuleCounts {
                    module: c.module.clone(),
                    by_severity: [0; 5],
                    total: 0,
                });
                modules.len() - 1
            }
        };
        let s = c.severity as usize;
        modules[at].by_severity[s] += c.count;
        modules[at].total += c.count;
        totals[s] += c.count;
    }
    modules.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.module.cmp(&b.module)));
    if !partner {
        let now = platform.clock().now();
        let activity = store.activity(now - Duration::hours(1), 60).await?;
        activity_json = json_for_script(&Rates::dense(&activity, now.timestamp()));
    }
    let page = store
        .list_incidents(IncidentFilter::default(), PageRequest::new(50, None))
        .await?;
    let recent: Vec<IncidentRow> = page
        .items
        .iter()
        .filter(|i| visible(&viewer, model, i))
        .take(10)
        .map(|i| IncidentRow::of(i, model))
        .collect();
    let config = platform.config();
    let health = vec![
        Health {
            name: "store",
            state: if store_ok || partner { "ok" } else { "down" },
            detail: "embedded SQLite".into(),
        },
        Health {
            name: "web-attack detection",
            state: if config.detection.web.enabled {
                "ok"
            } else {
                "off"
            },
            detail: format!("paranoia level {}", config.detection.web.paranoia_level),
        },
        Health {
            name: "behaviour detection",
            state: "ok",
            detail: if config.detection.default_rules {
                "scenario rules, anomaly model, baselines".into()
            } else {
                "configured rule files only".into()
            },
        },
        Health {
            name: "audit log",
            state: if platform.ledger().is_some() {
                "ok"
            } else {
                "off"
            },
            detail: platform
                .ledger()
                .map(|l| l.origin().to_string())
                .unwrap_or_else(|| "disabled in the configuration".into()),
        },
        Health {
            name: "asset model",
            state: if model.is_empty() { "off" } else { "ok" },
            detail: format!("{} assets", model.len()),
        },
    ];
    render(&OverviewPage {
        chrome: Chrome::new(&viewer, "overview"),
        severities: Severity::ALL.map(Severity::as_str),
        open_total: totals.iter().sum(),
        modules,
        totals,
        activity_json,
        health,
        recent,
        partner,
    })
}
