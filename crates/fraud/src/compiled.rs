//! The model's trees: stored in the model file in a format of our own, and compiled into one
//! flat array for scoring one payment at a time.
//!
//! The file keeps the trees apart from the training crate's own serialisation, so a model file
//! outlives a change of booster and a loaded file can be checked completely: every child comes
//! after its parent in the same tree, so every walk ends, and every split reads a column the
//! model has. Scoring walks the flat array, children as indices, and the one walk that finds
//! each leaf also adds the path attributions (Saabas: each split's change of node weight goes
//! to the column split on), so an explanation costs no second pass. Eight trees are walked side
//! by side and each step chooses its child without a branch: a payment's path through a tree
//! cannot be predicted, and eight independent walks let the processor overlap their reads.
//! Written here because the booster's own predictor allocates per call and no maintained crate
//! compiles its trees.

use serde::{Deserialize, Serialize};

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

/// Trees walked side by side: independent walks let the processor overlap their memory reads.
const LANES: usize = 8;

/// One node of the flat array. A leaf points at itself with no change, so that a walk that
/// has reached its leaf can keep stepping while the other lanes finish.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Values below go left.
    threshold: f64,
    /// Change of weight from this node to its left child (0 for a leaf).
    left_delta: f64,
    /// The same to its right child.
    right_delta: f64,
    /// Column split on (0 for a leaf, whose step changes nothing).
    feature: u32,
    /// Index of the left child in [`CompiledTrees::nodes`] (itself for a leaf).
    left: u32,
    /// Index of the right child (itself for a leaf).
    right: u32,
    /// Whether unknown (`NaN`) values go left.
    unknown_left: bool,
}

impl Node {
    /// The child `row` goes to and the change of weight on the way.
    #[inline(always)]
    fn step(&self, row: &[f64]) -> (u32, f64) {
        let value = row[self.feature as usize];
        // Written as a selection, not a branch: which way a payment goes is not predictable.
        let left = (value < self.threshold) | (self.unknown_left & value.is_nan());
        if left {
            (self.left, self.left_delta)
        } else {
            (self.right, self.right_delta)
        }
    }
}

/// The trees as one flat array, ready to score and explain one row.
#[derive(Debug, Clone, Default)]
pub struct CompiledTrees {
    nodes: Vec<Node>,
    /// Each tree's root.
    roots: Vec<u32>,
    /// `base_score` plus the weight of every root: the margin before any split.
    bias: f64,
    columns: usize,
}

impl CompiledTrees {
    /// Compiles `stored` for rows of `columns` columns. Refused, naming the tree and node,
    /// when a tree is empty, a child is not after its parent in the same tree, unknown values
    /// go to a third child, a split reads a column the rows do not have, or a number is not
    /// finite.
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
            bias: stored.base_score,
            columns,
            ..CompiledTrees::default()
        };
        for (t, tree) in stored.trees.iter().enumerate() {
            let offset = compiled.nodes.len();
            compiled.push_tree(t, tree, offset, columns)?;
            compiled.bias += tree[0].w;
            compiled.roots.push(offset as u32);
        }
        Ok(compiled)
    }

    /// Appends one tree's nodes at `offset`.
    fn push_tree(
        &mut self,
        t: usize,
        tree: &[StoredNode],
        offset: usize,
        columns: usize,
    ) -> Result<(), String> {
        if tree.is_empty() {
            return Err(format!("tree {t}: no nodes"));
        }
        for (i, n) in tree.iter().enumerate() {
            let bad = |what: &str| format!("tree {t}, node {i}: {what}");
            if !n.w.is_finite() {
                return Err(bad("the weight is not a finite number"));
            }
            let here = (offset + i) as u32;
            let node = match n.s {
                None => Node {
                    threshold: 0.0,
                    left_delta: 0.0,
                    right_delta: 0.0,
                    feature: 0,
                    left: here,
                    right: here,
                    unknown_left: false,
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
                        Ok(c)
                    };
                    let (l, r, m) = (child(s.l)?, child(s.r)?, child(s.m)?);
                    if m != l && m != r {
                        return Err(bad("unknown values must go to the left or right child"));
                    }
                    Node {
                        threshold: s.v,
                        left_delta: tree[l].w - n.w,
                        right_delta: tree[r].w - n.w,
                        feature: s.f,
                        left: (offset + l) as u32,
                        right: (offset + r) as u32,
                        unknown_left: m == l,
                    }
                }
            };
            self.nodes.push(node);
        }
        Ok(())
    }

    /// Walks every tree for `row`, handing each step's lane, column and change of weight to
    /// `add`. Trees are walked [`LANES`] at a time until each stands on its leaf (a leaf steps
    /// to itself, changing nothing). Sums kept per lane do not wait on each other's additions.
    #[inline(always)]
    fn walk(&self, row: &[f64], mut add: impl FnMut(usize, usize, f64)) {
        assert_eq!(row.len(), self.columns, "one value per column");
        for group in self.roots.chunks(LANES) {
            let mut at = [0u32; LANES];
            at[..group.len()].copy_from_slice(group);
            // Ends: children come after their parent, and a leaf does not move.
            loop {
                let mut moved = false;
                for (lane, at) in at.iter_mut().take(group.len()).enumerate() {
                    let node = &self.nodes[*at as usize];
                    let (next, delta) = node.step(row);
                    add(lane, node.feature as usize, delta);
                    moved |= next != *at;
                    *at = next;
                }
                if !moved {
                    break;
                }
            }
        }
    }

    /// The margin of `row` (one value per column, `NaN` for unknown), without explanations.
    pub fn margin(&self, row: &[f64]) -> f64 {
        let mut lanes = [0.0; LANES];
        self.walk(row, |lane, _, delta| lanes[lane] += delta);
        self.bias + lanes.iter().sum::<f64>()
    }

    /// Scores `row` and explains it: on return `contributions[c]` is column `c`'s share of the
    /// margin and the last entry is the bias; the margin (their sum) is returned.
    /// `contributions` has one entry per column plus one.
    pub fn explain(&self, row: &[f64], contributions: &mut [f64]) -> f64 {
        assert_eq!(
            contributions.len(),
            self.columns + 1,
            "one per column and the bias"
        );
        let columns = self.columns;
        let mut lanes = vec![0.0; LANES * columns];
        self.walk(row, |lane, feature, delta| {
            lanes[lane * columns + feature] += delta
        });
        contributions.fill(0.0);
        for lane in lanes.chunks_exact(columns) {
            for (c, share) in contributions.iter_mut().zip(lane) {
                *c += share;
            }
        }
        contributions[columns] = self.bias;
        contributions.iter().sum()
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

        let mut third = stored.clone();
        let tree = &mut third.trees[0];
        let last = (tree.len() - 1) as u32;
        let split = tree[0].s.as_mut().expect("the root splits");
        if split.l != last && split.r != last {
            split.m = last;
            let e = CompiledTrees::compile(&third, 3).expect_err("a third child");
            assert!(e.contains("left or right child"), "{e}");
        }

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
