//! The validated model: assets by id, their dependencies, and the reverse edges the cascade walks.

use schemars::JsonSchema;
use std::collections::HashMap;

use serde::Serialize;

use crate::mapping::Selector;
use crate::ontology::{AssetType, Criticality, DependencyKind, Layer};

/// Position of an asset in [`AssetModel::assets`]; the cascade works on these, not on strings.
pub type AssetIndex = usize;

/// One thing the shop owns or depends on.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Asset {
    /// Unique id (`[a-z0-9._-]`), used in URLs, selectors and incidents (`asset:ID`).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Its type in the ontology.
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    /// The type's layer (cyber, physical, business), for grouping.
    pub layer: Layer,
    /// Who answers for it (a team or a person).
    pub owner: String,
    /// How much the business cares.
    pub criticality: Criticality,
    /// What an hour of full outage costs, in the shop's currency.
    pub impact_per_hour: f64,
    /// Free text.
    pub description: String,
    /// Labels for search and grouping.
    pub tags: Vec<String>,
    /// Partners that may see this asset and the incidents touching it.
    pub partners: Vec<String>,
    /// Which incidents touch this asset.
    pub selectors: Vec<Selector>,
    /// What it needs to work.
    pub depends_on: Vec<Dependency>,
}

/// "This asset needs that one": trouble at `asset` reaches the dependent after `delay_minutes`,
/// with `impact` (0..=1) of its severity.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Dependency {
    /// The asset depended on.
    pub asset: String,
    /// Why.
    pub kind: DependencyKind,
    /// How long until trouble there is felt here.
    pub delay_minutes: u32,
    /// Share of the trouble that travels (1 = full outage here too).
    pub impact: f64,
}

/// One reverse edge: `dependent` needs the asset this edge list belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub(crate) dependent: AssetIndex,
    pub(crate) kind: DependencyKind,
    pub(crate) delay_minutes: u32,
    pub(crate) impact: f64,
}

/// A validated asset model with its reverse dependency graph, ready to answer queries.
#[derive(Debug, Clone, Default)]
pub struct AssetModel {
    assets: Vec<Asset>,
    by_id: HashMap<String, AssetIndex>,
    /// Reverse edges in compressed form: the dependents of asset `i` are
    /// `edges[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    edges: Vec<Edge>,
}

impl AssetModel {
    /// Builds the model from assets whose ids are unique and whose dependencies name existing
    /// assets (the loader checks both; unknown targets are skipped here).
    pub(crate) fn from_assets(assets: Vec<Asset>) -> AssetModel {
        let by_id: HashMap<String, AssetIndex> = assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let mut reverse: Vec<Vec<Edge>> = vec![Vec::new(); assets.len()];
        for (i, a) in assets.iter().enumerate() {
            for d in &a.depends_on {
                if let Some(&target) = by_id.get(&d.asset) {
                    reverse[target].push(Edge {
                        dependent: i,
                        kind: d.kind,
                        delay_minutes: d.delay_minutes,
                        impact: d.impact,
                    });
                }
            }
        }
        let mut offsets = Vec::with_capacity(assets.len() + 1);
        let mut edges = Vec::new();
        offsets.push(0);
        for list in reverse {
            edges.extend(list);
            offsets.push(edges.len());
        }
        AssetModel {
            assets,
            by_id,
            offsets,
            edges,
        }
    }

    /// Every asset, in file order.
    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// The asset with this id.
    pub fn get(&self, id: &str) -> Option<&Asset> {
        self.index_of(id).map(|i| &self.assets[i])
    }

    /// The position of the asset with this id.
    pub fn index_of(&self, id: &str) -> Option<AssetIndex> {
        self.by_id.get(id).copied()
    }

    /// Number of assets.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether the model has no assets.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// The ids of the assets that depend directly on `index`.
    pub fn dependents(&self, index: AssetIndex) -> impl Iterator<Item = &str> {
        self.reverse_edges(index)
            .iter()
            .map(|e| self.assets[e.dependent].id.as_str())
    }

    pub(crate) fn reverse_edges(&self, index: AssetIndex) -> &[Edge] {
        match (self.offsets.get(index), self.offsets.get(index + 1)) {
            (Some(&from), Some(&to)) => &self.edges[from..to],
            _ => &[],
        }
    }
}
