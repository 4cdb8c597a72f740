//! The model's trees: stored in the model file in a format of our own, and compiled into one
//! flat array for scoring one payment at a time.
//!
//! The file keeps the trees apart from the training crate's own serialisation, so a model file
//! outlives a change of booster and a loaded file can be checked completely: every child comes
//! after its parent in the same tree, so every walk ends, and every split reads a column the
//! model has. Scoring walks the flat array, children as indices, and the one walk that finds
//! each leaf also adds the path attributions (Saabas: each split's change of node weight goes
//! to the column split on), so an explanation costs no second pass. Written here because the
//! booster's own predictor allocates per call and no maintained crate compiles its trees.

use serde::{Deserialize, Serialize};

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;

/// Most nodes one model may hold (a loaded file is refused beyond it).
pub const MAX_NODES: usize = 4 << 20;

/// One node as the model file stores it: its weight, and for a split, where values go.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredNode {
    /// The node's weight: the leaf value for a leaf; for a split, the value a walk that stopped
    /// here would give (what the path attributions are differences of).
    pub w: f64,
    /// The split, absent for a leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<StoredSplit>,
}

/// A split: column `f`, values below `v` go left to node `l`, others right to `r`, unknown
/// (`NaN`) values to `m`. Children are indices into the same tree, after this node's own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSplit {
    /// Column split on.
    pub f: u32,
    /// Threshold.
    pub v: f64,
    /// Left child.
    pub l: u32,
    /// Right child.
    pub r: u32,
    /// Child for unknown values.
    pub m: u32,
}

/// The tree ensemble as the model file stores it: margin = `base_score` + one leaf per tree.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredTrees {
    /// Margin before any tree.
    pub base_score: f64,
    /// Each tree's nodes, its root first.
    pub trees: Vec<Vec<StoredNode>>,
}

impl StoredTrees {
    /// Every node of every tree.
    pub fn nodes(&self) -> usize {
        self.trees.iter().map(Vec::len).sum()
    }

    /// The first `count` trees of a fitted `forust` booster. Refused, with the reason, when the
    /// booster marks unknown values with anything but `NaN` (the online features do) or a
    /// tree's nodes are not stored in the order its walk needs.
    pub fn from_forust(
        booster: &forust_ml::GradientBooster,
        count: usize,
    ) -> Result<StoredTrees, String> {
        if !booster.missing.is_nan() {
            return Err(format!(
                "the booster marks unknown values with {}, not NaN",
                booster.missing
            ));
        }
        let mut trees = Vec::with_capacity(count);
        for (t, tree) in booster.trees.iter().take(count).enumerate() {
            let mut nodes = Vec::with_capacity(tree.nodes.len());
            for (i, n) in tree.nodes.iter().enumerate() {
                if n.num != i {
                    return Err(format!("tree {t}: node {} stored at {i}", n.num));
                }
                let index = |child: usize| {
                    u32::try_from(child).map_err(|_| format!("tree {t}: child {child}"))
                };
                nodes.push(StoredNode {
                    w: f64::from(n.weight_value),
                    s: match n.is_leaf {
                        true => None,
                        false => Some(StoredSplit {
                            f: index(n.split_feature)?,
                            v: n.split_value,
                            l: index(n.left_child)?,
                            r: index(n.right_child)?,
                            m: index(n.missing_node)?,
                        }),
                    },
                });
            }
            trees.push(nodes);
        }
        Ok(StoredTrees {
            base_score: booster.base_score,
            trees,
        })
    }
}

/// One node of the flat array.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Values below go left.
    split_value: f64,
    /// The node's weight.
    weight: f64,
    /// Column split on, or [`LEAF`].
    feature: u32,
    /// Index of the left child in [`CompiledTrees::nodes`].
    left: u32,
    /// Index of the right child.
    right: u32,
    /// Index of the child unknown values go to.
    missing: u32,
}

/// The trees as one flat array, ready to score and explain one row.
#[derive(Debug, Clone, Default)]
pub struct CompiledTrees {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    base_score: f64,
    columns: usize,
}

impl CompiledTrees {
    /// Compiles `stored` for rows of `columns` columns. Refused, naming the tree and node,
    /// when a tree is empty, a child is not after its parent in the same tree, a split reads a
    /// column the rows do not have, or a number is not finite.
    pub fn compile(stored: &StoredTrees, columns: usize) -> Result<CompiledTrees, String> {
        if stored.nodes() > MAX_NODES {
            return Err(format!(
                "{} nodes, more than the limit of {MAX_NODES}",
                stored.nodes()
            ));
        }
        if !stored.base_score.is_finite() {
            return Err("`base_score` is not a finite number".into());
        }
        let mut compiled = CompiledTrees {
            nodes: Vec::with_capacity(stored.nodes()),
            base_score: stored.base_score,
            columns,
            ..CompiledTrees::default()
        };
        for (t, tree) in stored.trees.iter().enumerate() {
            if tree.is_empty() {
                return Err(format!("tree {t}: no nodes"));
            }
            let offset = compiled.nodes.len();
            compiled.roots.push(offset as u32);
            for (i, n) in tree.iter().enumerate() {
                let bad = |what: &str| format!("tree {t}, node {i}: {what}");
                if !n.w.is_finite() {
                    return Err(bad("the weight is not a finite number"));
                }
                let node = match n.s {
                    None => Node {
                        split_value: 0.0,
                        weight: n.w,
                        feature: LEAF,
                        left: 0,
                        right: 0,
                        missing: 0,
                    },
                    Some(s) => {
                        if s.f as usize >= columns {
                            return Err(bad(&format!("splits on column {} of {columns}", s.f)));
                        }
                        if s.v.is_nan() {
                            return Err(bad("the threshold is not a number"));
                        }
                        let child = |c: u32| {
                            let c = c as usize;
                            if c <= i || c >= tree.len() {
                                return Err(bad(&format!(
                                    "child {c} is not a later node of this tree of {}",
                                    tree.len()
                                )));
                            }
                            Ok((offset + c) as u32)
                        };
                        Node {
                            split_value: s.v,
                            weight: n.w,
                            feature: s.f,
                            left: child(s.l)?,
                            right: child(s.r)?,
                            missing: child(s.m)?,
                        }
                    }
                };
                compiled.nodes.push(node);
            }
        }
        Ok(compiled)
    }

    /// Trees in the ensemble.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// The margin of `row` (one value per column, `NaN` for unknown), without explanations.
    pub fn margin(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.columns, "one value per column");
        let mut margin = self.base_score;
        for &root in &self.roots {
            let mut node = &self.nodes[root as usize];
            while node.feature != LEAF {
                node = &self.nodes[child(node, row[node.feature as usize]) as usize];
            }
            margin += node.weight;
        }
        margin
    }

    /// Scores `row` and explains it: on return `contributions[c]` is column `c`'s share of the
    /// margin and the last entry is the bias; the margin (their sum) is returned.
    /// `contributions` has one entry per column plus one.
    pub fn explain(&self, row: &[f64], contributions: &mut [f64]) -> f64 {
        assert_eq!(row.len(), self.columns, "one value per column");
        assert_eq!(
            contributions.len(),
            self.columns + 1,
            "one per column and the bias"
        );
        contributions.fill(0.0);
        let bias = self.columns;
        contributions[bias] += self.base_score;
        for &root in &self.roots {
            let mut node = &self.nodes[root as usize];
            contributions[bias] += node.weight;
            while node.feature != LEAF {
                let f = node.feature as usize;
                let next = &self.nodes[child(node, row[f]) as usize];
                contributions[f] += next.weight - node.weight;
                node = next;
            }
        }
        contributions.iter().sum()
    }
}

/// The child of split `node` that `value` goes to (the booster's own rule: unknown values to
/// the missing branch, then `value < split_value` goes left).
fn child(node: &Node, value: f64) -> u32 {
    if value.is_nan() {
        node.missing
    } else if value < node.split_value {
        node.left
    } else {
        node.right
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forust_ml::gradientbooster::{ContributionsMethod, GrowPolicy};
    use forust_ml::{GradientBooster, Matrix};

    /// A booster over three columns (one with unknown values) and the rows it was fitted on,
    /// column-major.
    fn booster() -> (GradientBooster, Vec<f64>, usize) {
        let rows = 2_000;
        let mut x = vec![0.0; rows * 3];
        let mut y = vec![0.0; rows];
        let mut state: u64 = 7;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for r in 0..rows {
            let a = next() * 10.0;
            let b = next();
            let c = if next() < 0.2 { f64::NAN } else { next() * 5.0 };
            x[r] = a;
            x[rows + r] = b;
            x[2 * rows + r] = c;
            let risk = 0.6 * a - 4.0 + if c.is_nan() { 1.5 } else { -0.3 * c } + b;
            y[r] = f64::from(u8::from(next() < 1.0 / (1.0 + (-risk).exp())));
        }
        let mut booster = GradientBooster::default()
            .set_iterations(30)
            .set_max_leaves(8)
            .set_max_depth(16)
            .set_num_threads(Some(1));
        booster.grow_policy = GrowPolicy::LossGuide;
        booster
            .fit_unweighted(&Matrix::new(&x, rows, 3), &y, None)
            .expect("fit");
        (booster, x, rows)
    }

    fn compiled(booster: &GradientBooster) -> CompiledTrees {
        let stored = StoredTrees::from_forust(booster, booster.trees.len()).expect("store");
        CompiledTrees::compile(&stored, 3).expect("compile")
    }

    #[test]
    fn explanations_are_the_boosters_own() {
        let (booster, x, rows) = booster();
        assert!(booster.trees.len() > 1, "a real ensemble");
        let compiled = compiled(&booster);
        let expected = booster.predict_contributions(
            &Matrix::new(&x, rows, 3),
            ContributionsMethod::Weight,
            false,
        );
        let mut contributions = [0.0; 4];
        let mut unknown_seen = 0;
        for r in 0..rows {
            let row = [x[r], x[rows + r], x[2 * rows + r]];
            unknown_seen += usize::from(row[2].is_nan());
            let margin = compiled.explain(&row, &mut contributions);
            let want = &expected[r * 4..r * 4 + 4];
            for (got, want) in contributions.iter().zip(want) {
                assert!(
                    (got - want).abs() < 1e-9,
                    "row {r}: {contributions:?} vs {want:?}"
                );
            }
            assert!((margin - compiled.margin(&row)).abs() < 1e-9, "row {r}");
        }
        assert!(unknown_seen > 0, "unknown values were routed");
    }

    #[test]
    fn margins_match_the_boosters_predictions() {
        let (booster, x, rows) = booster();
        let compiled = compiled(&booster);
        let predicted = booster.predict(&Matrix::new(&x, rows, 3), false);
        for (r, p) in predicted.iter().enumerate() {
            let row = [x[r], x[rows + r], x[2 * rows + r]];
            let margin = compiled.margin(&row);
            assert!((margin - p).abs() < 1e-9, "row {r}: {margin} vs {p}");
        }
    }

    #[test]
    fn the_stored_form_round_trips_through_json() {
        let (booster, _, _) = booster();
        let stored = StoredTrees::from_forust(&booster, 5).expect("store");
        assert_eq!(stored.trees.len(), 5);
        let json = serde_json::to_string(&stored).expect("serialise");
        let back: StoredTrees = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, stored);
    }

    #[test]
    fn malformed_trees_are_refused_with_the_reason() {
        let (mut booster, _, _) = booster();
        let stored = StoredTrees::from_forust(&booster, booster.trees.len()).expect("store");
        let e = CompiledTrees::compile(&stored, 2).expect_err("three columns used");
        assert!(e.contains("column"), "{e}");

        // A child pointing back at its parent would make the walk endless.
        let mut cyclic = stored.clone();
        let split = cyclic.trees[0][0].s.as_mut().expect("the root splits");
        split.l = 0;
        let e = CompiledTrees::compile(&cyclic, 3).expect_err("a cycle");
        assert!(e.contains("tree 0, node 0") && e.contains("child 0"), "{e}");

        let mut empty = stored.clone();
        empty.trees[1].clear();
        let e = CompiledTrees::compile(&empty, 3).expect_err("an empty tree");
        assert!(e.contains("tree 1"), "{e}");

        let mut infinite = stored;
        infinite.trees[0][1].w = f64::INFINITY;
        let e = CompiledTrees::compile(&infinite, 3).expect_err("an infinite weight");
        assert!(e.contains("tree 0, node 1") && e.contains("finite"), "{e}");

        booster.missing = -1.0;
        let e = StoredTrees::from_forust(&booster, 1).expect_err("missing marker");
        assert!(e.contains("not NaN"), "{e}");
    }
}
