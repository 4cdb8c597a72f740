//! `GET /ui/rings`: fraud rings — groups of cards, devices, e-mails, shipping addresses,
//! accounts and IP addresses that payments tie together and that have many confirmed frauds —
//! newest report first, each with its members and the links between them drawn as a graph and
//! a link to its incident. The
//! page reads the `fraud-ring` alerts' evidence, so it shows what the alert recorded when it was
//! raised. Rings are about anyone's cards, so partners do not see this page.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use ensuresec_model::Alert;
use ensuresec_store::{AlertFilter, PageRequest};
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::graph::{Svg, ring_graph};
use crate::session::Viewer;
use crate::view::when;

/// Most ring reports listed (newest first).
const LIMIT: usize = 100;
/// The detector and rule of ring alerts (`crates/fraud/src/detector.rs`).
const DETECTOR: &str = "fraud";
const RULE: &str = "fraud-ring";
/// Member kinds in drawing order, as the ring evidence names them.
const KINDS: [&str; 6] = ["card", "device", "email", "shipping", "account", "ip"];

/// The part of a `fraud-ring` alert's evidence the page reads.
#[derive(Deserialize)]
struct Evidence {
    ring: RingEvidence,
}

#[derive(Deserialize)]
struct RingEvidence {
    size: usize,
    payments: u32,
    frauds: u32,
    fraud_rate: f64,
    members: Vec<Member>,
    /// Absent from reports made before the ring graph kept links.
    #[serde(default)]
    links: Vec<[usize; 2]>,
}

#[derive(Deserialize)]
struct Member {
    kind: String,
    value: String,
}

/// One ring report as the page shows it.
pub(crate) struct RingView {
    /// The alert's id.
    pub alert: u64,
    /// Its incident, if the correlator has put it in one.
    pub incident: Option<u64>,
    /// When it was reported.
    pub at: String,
    /// Entities in the group.
    pub size: usize,
    /// Payments through the group and, of them, frauds.
    pub payments: u32,
    /// Fraudulent payments.
    pub frauds: u32,
    /// Their share, in per cent.
    pub rate: String,
    /// Members per kind, for the summary line (`3 card, 1 device`).
    pub kinds: String,
    /// Members listed in the evidence (the graph shows these).
    pub listed: usize,
    /// The drawing.
    pub svg: Svg,
}

impl RingView {
    /// The view of a ring alert; `None` when its evidence is not a ring (never expected: the
    /// alert is skipped rather than the page failing).
    fn of(alert: &Alert) -> Option<RingView> {
        let ring = Evidence::deserialize(&alert.evidence).ok()?.ring;
        let members: Vec<(String, String)> = ring
            .members
            .into_iter()
            .map(|m| (m.kind, m.value))
            .collect();
        let kinds = KINDS
            .iter()
            .filter_map(|k| {
                let n = members.iter().filter(|(kind, _)| kind == k).count();
                (n > 0).then(|| format!("{n} {k}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let note = format!("{} of {} payments fraudulent", ring.frauds, ring.payments);
        Some(RingView {
            alert: alert.id,
            incident: alert.incident_id,
            at: when(alert.time),
            size: ring.size,
            payments: ring.payments,
            frauds: ring.frauds,
            rate: format!("{:.0}", ring.fraud_rate * 100.0),
            kinds,
            listed: members.len(),
            svg: ring_graph(
                &format!("ring of {} entities", ring.size),
                &note,
                &members,
                &ring.links,
                &KINDS,
            ),
        })
    }
}

#[derive(Template)]
#[template(path = "rings.html")]
struct RingsPage {
    chrome: Chrome,
    rings: Vec<RingView>,
}

/// The page.
pub(crate) async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    if viewer.partner().is_some() {
        return Err(WebError::Forbidden("partners do not see fraud rings"));
    }
    let filter = AlertFilter {
        detector: Some(DETECTOR.into()),
        rule_id: Some(RULE.into()),
        ..AlertFilter::default()
    };
    let page = state
        .app
        .platform
        .store()
        .list_alerts(filter, PageRequest::new(LIMIT, None))
        .await?;
    render(&RingsPage {
        chrome: Chrome::new(&viewer, "rings"),
        rings: page.items.iter().filter_map(RingView::of).collect(),
    })
}
