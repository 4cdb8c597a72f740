//! Cascading effects: from an asset that is compromised or down, what else is affected, through
//! which dependency, how soon, and what it costs.
//!
//! Trouble travels from an asset to the assets that depend on it. Along a path the impact is the
//! product of the edges' impact factors and the delay is the sum of their delays. Each affected
//! asset is reported once, through its *worst* path: the highest impact, and among equal impacts
//! the soonest. Since factors are at most 1, the highest-impact paths are found by Dijkstra's
//! algorithm on the product (a max-heap), in `O(E log V)`. Paths whose impact falls below
//! [`CascadeOptions::min_impact`] stop spreading.

use schemars::JsonSchema;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::Serialize;

use crate::model::{AssetIndex, AssetModel};
use crate::ontology::DependencyKind;

/// Knobs of the propagation.
#[derive(Debug, Clone, Copy)]
pub struct CascadeOptions {
    /// Impact below which an asset is not counted as affected (and trouble stops there).
    pub min_impact: f64,
    /// Severity at the origin (1 = fully compromised or down).
    pub origin_impact: f64,
}

impl Default for CascadeOptions {
    fn default() -> Self {
        CascadeOptions {
            min_impact: 0.05,
            origin_impact: 1.0,
        }
    }
}

/// One affected asset.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Affected {
    /// The asset's id.
    pub id: String,
    /// The asset one step closer to the origin on the worst path (`None` for the origin).
    pub parent: Option<String>,
    /// The kind of dependency on `parent` that carried the trouble.
    pub via: Option<DependencyKind>,
    /// Steps from the origin.
    pub depth: u32,
    /// Share of a full outage that reaches this asset (0..=1).
    pub impact: f64,
    /// Minutes after the origin until it is felt here.
    pub delay_minutes: u64,
    /// `impact` × the asset's cost of an hour of outage.
    pub business_impact_per_hour: f64,
}

/// The result: every affected asset, the origin first, then soonest first.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Cascade {
    /// The asset the trouble starts at.
    pub origin: String,
    /// What is affected (including the origin).
    pub affected: Vec<Affected>,
    /// Sum of `business_impact_per_hour` over the affected assets.
    pub business_impact_per_hour: f64,
}

impl Cascade {
    /// The ids from the origin to `id` along its worst path; empty if `id` is not affected.
    pub fn path_to(&self, id: &str) -> Vec<&str> {
        let mut path = Vec::new();
        let mut current = Some(id);
        while let Some(at) = current {
            let Some(a) = self.affected.iter().find(|a| a.id == at) else {
                return Vec::new();
            };
            path.push(a.id.as_str());
            current = a.parent.as_deref();
            if path.len() > self.affected.len() {
                break;
            }
        }
        path.reverse();
        path
    }
}

/// Impacts are kept to nine decimals, so that two paths with the same factors in another order
/// (0.5 × 0.6 and 0.6 × 0.5) tie exactly and the sooner one wins.
pub fn quantise(impact: f64) -> f64 {
    (impact * 1e9).round() / 1e9
}

/// A heap entry: higher impact first, then shorter delay.
#[derive(Clone, Copy)]
struct Candidate {
    impact: f64,
    delay: u64,
    index: AssetIndex,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.impact
            .total_cmp(&other.impact)
            .then_with(|| other.delay.cmp(&self.delay))
            .then_with(|| other.index.cmp(&self.index))
    }
}

/// Best path found so far to one asset.
#[derive(Clone, Copy)]
struct Best {
    impact: f64,
    delay: u64,
    parent: Option<(AssetIndex, DependencyKind)>,
    depth: u32,
    done: bool,
}

impl AssetModel {
    /// What trouble at `origin` affects; `None` if there is no such asset.
    pub fn cascade(&self, origin: &str, options: CascadeOptions) -> Option<Cascade> {
        let start = self.index_of(origin)?;
        let origin_impact = quantise(options.origin_impact.clamp(0.0, 1.0));
        let mut best: Vec<Option<Best>> = vec![None; self.len()];
        best[start] = Some(Best {
            impact: origin_impact,
            delay: 0,
            parent: None,
            depth: 0,
            done: false,
        });
        let mut heap = BinaryHeap::new();
        heap.push(Candidate {
            impact: origin_impact,
            delay: 0,
            index: start,
        });
        let mut order = Vec::new();
        while let Some(c) = heap.pop() {
            let Some(here) = best[c.index].as_mut() else {
                continue;
            };
            if here.done || here.impact != c.impact || here.delay != c.delay {
                continue;
            }
            here.done = true;
            let here = *here;
            order.push(c.index);
            for e in self.reverse_edges(c.index) {
                let impact = quantise(here.impact * e.impact);
                if impact < options.min_impact {
                    continue;
                }
                let delay = here.delay + u64::from(e.delay_minutes);
                let better = match &best[e.dependent] {
                    None => true,
                    Some(b) => {
                        !b.done && (impact > b.impact || (impact == b.impact && delay < b.delay))
                    }
                };
                if better {
                    best[e.dependent] = Some(Best {
                        impact,
                        delay,
                        parent: Some((c.index, e.kind)),
                        depth: here.depth + 1,
                        done: false,
                    });
                    heap.push(Candidate {
                        impact,
                        delay,
                        index: e.dependent,
                    });
                }
            }
        }
        let assets = self.assets();
        let mut affected: Vec<Affected> = order
            .into_iter()
            .filter_map(|i| {
                let b = best[i]?;
                Some(Affected {
                    id: assets[i].id.clone(),
                    parent: b.parent.map(|(p, _)| assets[p].id.clone()),
                    via: b.parent.map(|(_, k)| k),
                    depth: b.depth,
                    impact: b.impact,
                    delay_minutes: b.delay,
                    business_impact_per_hour: b.impact * assets[i].impact_per_hour,
                })
            })
            .collect();
        affected.sort_by(|a, b| {
            a.delay_minutes
                .cmp(&b.delay_minutes)
                .then_with(|| a.depth.cmp(&b.depth))
                .then_with(|| b.impact.total_cmp(&a.impact))
        });
        let business_impact_per_hour = affected.iter().map(|a| a.business_impact_per_hour).sum();
        Some(Cascade {
            origin: origin.to_string(),
            affected,
            business_impact_per_hour,
        })
    }
}
