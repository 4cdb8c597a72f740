//! `GET /ui/assets` (the asset graph, coloured by the worst open incident on each asset and
//! recoloured live) and `GET /ui/assets/{id}` (one asset, what it needs, and its cascade).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use ensuresec_assets::{Asset, CascadeOptions, IncidentView};
use ensuresec_model::Severity;
use ensuresec_store::{IncidentFilter, PageRequest};

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::graph::{Svg, asset_graph, cascade_graph};
use crate::session::Viewer;
use crate::view::{asset_visible, visible};

/// Open incidents read to colour the graph (the newest; older ones are rarely still open).
const STATUS_SCAN: usize = 1000;

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    chrome: Chrome,
    svg: Svg,
    count: usize,
}

/// One dependency line.
pub(crate) struct DependencyLine {
    /// Needed asset id.
    pub asset: String,
    /// Kind.
    pub kind: &'static str,
    /// Delay.
    pub delay_minutes: u32,
    /// Impact factor as a percentage.
    pub impact: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    chrome: Chrome,
    asset: Asset,
    depends: Vec<DependencyLine>,
    impact_per_hour: String,
    reach: usize,
    svg: Svg,
}

/// The graph.
pub(crate) async fn graph(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    let model = &state.app.assets;
    let open = state
        .app
        .platform
        .store()
        .list_incidents(
            IncidentFilter::default(),
            PageRequest::new(STATUS_SCAN, None),
        )
        .await?;
    let mut worst: HashMap<String, Severity> = HashMap::new();
    for i in open.items.iter().filter(|i| !i.status.is_closed()) {
        if !visible(&viewer, model, i) {
            continue;
        }
        for a in model.assets_for(&IncidentView::of(i)) {
            let e = worst
                .entry(model.assets()[a].id.clone())
                .or_insert(i.severity);
            *e = (*e).max(i.severity);
        }
    }
    let status: HashMap<String, &'static str> =
        worst.into_iter().map(|(k, v)| (k, v.as_str())).collect();
    let svg = asset_graph(model, &status, |a| asset_visible(&viewer, a));
    render(&AssetsPage {
        chrome: Chrome::new(&viewer, "assets"),
        count: svg.nodes.len(),
        svg,
    })
}

/// One asset.
pub(crate) async fn asset(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let model = &state.app.assets;
    let asset = model
        .get(&id)
        .filter(|a| asset_visible(&viewer, a))
        .ok_or_else(|| WebError::NotFound(format!("asset {id}")))?;
    let cascade = model
        .cascade(&id, CascadeOptions::default())
        .ok_or_else(|| WebError::NotFound(format!("asset {id}")))?;
    render(&AssetPage {
        chrome: Chrome::new(&viewer, "assets"),
        depends: asset
            .depends_on
            .iter()
            .map(|d| DependencyLine {
                asset: d.asset.clone(),
                kind: d.kind.as_str(),
                delay_minutes: d.delay_minutes,
                impact: format!("{:.0}%", d.impact * 100.0),
            })
            .collect(),
        impact_per_hour: format!("{:.0}", cascade.business_impact_per_hour),
        reach: cascade.affected.len(),
        svg: cascade_graph(model, &cascade),
        asset: asset.clone(),
    })
}
