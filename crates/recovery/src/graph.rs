//! The dependency graph diagnosis reasons over: asset positions with their direct dependencies
//! and dependents, and the walks diagnosis needs (everything an asset depends on, everything
//! that depends on a set of assets, one dependency path for explanations, dependencies-first
//! order for plans). Built from an [`AssetModel`], or from plain lists for generated models.

use std::collections::{HashMap, VecDeque};

use bit_set::BitSet;
use ensuresec_assets::AssetModel;

use crate::error::RecoveryError;

/// Assets as positions `0..len` with their dependency edges in both directions.
#[derive(Debug, Clone, Default)]
pub struct DepGraph {
    ids: Vec<String>,
    by_id: HashMap<String, usize>,
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
}

impl DepGraph {
    /// A graph from ids and, per asset, the positions of the assets it depends on. Refuses
    /// duplicate ids and edges to positions that do not exist.
    pub fn new(ids: Vec<String>, deps: Vec<Vec<usize>>) -> Result<DepGraph, RecoveryError> {
        if ids.len() != deps.len() {
            return Err(RecoveryError::Graph(format!(
                "{} ids but {} dependency lists",
                ids.len(),
                deps.len()
            )));
        }
        let mut by_id = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if by_id.insert(id.clone(), i).is_some() {
                return Err(RecoveryError::Graph(format!(
                    "asset `{id}` is listed twice"
                )));
            }
        }
        let mut dependents = vec![Vec::new(); ids.len()];
        for (i, list) in deps.iter().enumerate() {
            for &d in list {
                if d >= ids.len() {
                    return Err(RecoveryError::Graph(format!(
                        "asset `{}` depends on position {d}, beyond the {} assets",
                        ids[i],
                        ids.len()
                    )));
                }
                dependents[d].push(i);
            }
        }
        Ok(DepGraph {
            ids,
            by_id,
            deps,
            dependents,
        })
    }

    /// The graph of a validated asset model (its dependencies name existing assets).
    pub fn from_model(model: &AssetModel) -> DepGraph {
        let ids: Vec<String> = model.assets().iter().map(|a| a.id.clone()).collect();
        let deps = model
            .assets()
            .iter()
            .map(|a| {
                a.depends_on
                    .iter()
                    .filter_map(|d| model.index_of(&d.asset))
                    .collect()
            })
            .collect();
        DepGraph::new(ids, deps).expect("a validated asset model has unique ids and known targets")
    }

    /// Number of assets.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no assets.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of the asset at `index`.
    pub fn id(&self, index: usize) -> &str {
        &self.ids[index]
    }

    /// The position of the asset with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// What `index` depends on directly.
    pub fn dependencies(&self, index: usize) -> &[usize] {
        &self.deps[index]
    }

    /// `index` and everything it depends on, transitively: the assets whose fault alone would
    /// make `index` misbehave under the strong-dependency fault model.
    pub fn closure(&self, index: usize) -> BitSet {
        self.walk(std::iter::once(index), &self.deps)
    }

    /// `from` and everything that depends on any of them, transitively: the assets a fault in
    /// `from` shows at.
    pub fn dependents_closure(&self, from: impl IntoIterator<Item = usize>) -> BitSet {
        self.walk(from, &self.dependents)
    }

    fn walk(&self, from: impl IntoIterator<Item = usize>, edges: &[Vec<usize>]) -> BitSet {
        let mut seen = BitSet::with_capacity(self.len());
        let mut stack: Vec<usize> = Vec::new();
        for s in from {
            if seen.insert(s) {
                stack.push(s);
            }
        }
        while let Some(at) = stack.pop() {
            for &next in &edges[at] {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    }

    /// The shortest chain `from → … → to` along "depends on" edges, for explanations.
    pub fn dependency_path(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut parent: Vec<Option<usize>> = vec![None; self.len()];
        let mut queue = VecDeque::from([from]);
        let mut seen = BitSet::with_capacity(self.len());
        seen.insert(from);
        while let Some(at) = queue.pop_front() {
            if at == to {
                let mut path = vec![to];
                let mut current = to;
                while let Some(p) = parent[current] {
                    path.push(p);
                    current = p;
                }
                path.reverse();
                return Some(path);
            }
            for &next in &self.deps[at] {
                if seen.insert(next) {
                    parent[next] = Some(at);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// `subset` ordered so that an asset comes after everything in `subset` it depends on
    /// (transitively); assets on a dependency cycle keep their relative position order.
    pub fn dependency_order(&self, subset: &[usize]) -> Vec<usize> {
        let wanted: BitSet = subset.iter().copied().collect();
        let mut done = BitSet::with_capacity(self.len());
        let mut order = Vec::with_capacity(subset.len());
        let mut sorted = subset.to_vec();
        sorted.sort_unstable();
        for &start in &sorted {
            if done.contains(start) {
                continue;
            }
            // Iterative post-order: dependencies are emitted before their dependents.
            let mut stack = vec![(start, 0usize)];
            done.insert(start);
            while let Some((at, next)) = stack.pop() {
                if let Some(&d) = self.deps[at].get(next) {
                    stack.push((at, next + 1));
                    if !done.contains(d) {
                        done.insert(d);
                        stack.push((d, 0));
                    }
                } else if wanted.contains(at) {
                    order.push(at);
                }
            }
        }
        order
    }
}
