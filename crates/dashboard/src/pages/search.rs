//! `GET /ui/search?q=`: incidents by id, entity (`ip:…`, an address, `account:…`) or words of
//! their title and rules (among the newest), and assets by id, name or tag.

use std::net::IpAddr;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use ensuresec_model::{EntityKey, EntityKind};
use ensuresec_store::{IncidentFilter, PageRequest};
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::{IncidentRow, asset_visible, visible};

/// Incidents scanned for words.
const WORD_SCAN: usize = 1000;
/// Longest query.
const MAX_QUERY: usize = 200;

/// The query string.
#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// An asset hit.
pub(crate) struct AssetHit {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type.
    pub kind: &'static str,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    incidents: Vec<IncidentRow>,
    assets: Vec<AssetHit>,
}

fn entity_of(q: &str) -> Option<EntityKey> {
    if let Ok(ip) = q.parse::<IpAddr>() {
        return Some(EntityKey::new(EntityKind::Ip, ip));
    }
    let (kind, value) = q.split_once(':')?;
    let kind: EntityKind = kind.parse().ok()?;
    (!value.is_empty()).then(|| EntityKey::new(kind, value))
}

/// The page.
pub(crate) async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(query): Query<SearchQuery>,
) -> Result<Html<String>, WebError> {
    let q: String = query.q.trim().chars().take(MAX_QUERY).collect();
    let model = &state.app.assets;
    let store = state.app.platform.store();
    let mut found = Vec::new();
    if !q.is_empty() {
        if let Ok(id) = q.trim_start_matches('#').parse::<u64>() {
            if let Some(d) = store.incident(id).await? {
                found.push(d.incident);
            }
        } else if let Some(entity) = entity_of(&q) {
            let filter = IncidentFilter {
                entity: Some(entity),
                ..IncidentFilter::default()
            };
            found = store
                .list_incidents(filter, PageRequest::new(100, None))
                .await?
                .items;
        } else {
            let needle = q.to_lowercase();
            found = store
                .list_incidents(IncidentFilter::default(), PageRequest::new(WORD_SCAN, None))
                .await?
                .items
                .into_iter()
                .filter(|i| {
                    i.title.to_lowercase().contains(&needle)
                        || i.rule_ids
                            .iter()
                            .any(|r| r.to_lowercase().contains(&needle))
                })
                .take(100)
                .collect();
        }
    }
    let incidents = found
        .iter()
        .filter(|i| visible(&viewer, model, i))
        .map(|i| IncidentRow::of(i, model))
        .collect();
    let needle = q.to_lowercase();
    let assets = if q.is_empty() {
        Vec::new()
    } else {
        model
            .assets()
            .iter()
            .filter(|a| asset_visible(&viewer, a))
            .filter(|a| {
                a.id.contains(&needle)
                    || a.name.to_lowercase().contains(&needle)
                    || a.tags.iter().any(|t| t.to_lowercase() == needle)
            })
            .map(|a| AssetHit {
                id: a.id.clone(),
                name: a.name.clone(),
                kind: a.asset_type.as_str(),
            })
            .collect()
    };
    render(&SearchPage {
        chrome: Chrome::new(&viewer, "search"),
        q,
        incidents,
        assets,
    })
}
