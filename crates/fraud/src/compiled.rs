//! The model's trees: stored in the model file in a format of our own, and compiled into one
//! flat array for scoring one payment at a time.
//!
//! The file keeps the trees apart from the training crate's own serialisation, so a model file
//! outlives a change of booster and a loaded file can be checked completely: every child comes
//! after its parent in the same tree, so every walk ends, and every split reads a column the
//! model has. Scoring walks the flat array, children as indices, and the one walk that finds
//! each leaf also adds the path attributions (Saabas: each split's change of node weight goes
//! to the column split on, in a row of shares of the walk's own), so an explanation costs no
//! second pass. Eight walks run side by side, each through every eighth tree: a leaf leads
//! straight on to the root of the lane's next tree, so a step is one load, one comparison and
//! one addition, without a branch (a payment's path through a tree cannot be predicted), and
//! eight independent walks let the processor overlap their reads. Unknown values need no test
//! of their own: the walk reads a copy of the row where they are +∞ or −∞, whichever sends
//! them the split's way. Nodes are 32 bytes with children as short forward offsets. Written
//! here because the booster's own predictor allocates per call and no maintained crate
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

    /// One ensemble whose margin is the mean of the `members`' margins: every tree of every
    /// member, its weights divided by their number, so one walk scores and explains the mean.
    pub fn mean(members: Vec<StoredTrees>) -> StoredTrees {
        let share = 1.0 / members.len().max(1) as f64;
        let mut mean = StoredTrees::default();
        for member in members {
            mean.base_score += member.base_score * share;
            mean.trees.extend(member.trees.into_iter().map(|mut tree| {
                tree.iter_mut().for_each(|node| node.w *= share);
                tree
            }));
        }
        mean
    }
}

/// Trees walked side by side: independent walks let the processor overlap their memory reads.
const LANES: usize = 8;

/// Most columns of a model.
pub const MAX_COLUMNS: usize = crate::dataset::MAX_COLUMNS;
/// Models of at most this many columns (the online features) walk a smaller row copy, cheaper
/// to fill.
const FEW_COLUMNS: usize = 64;
const _: () = assert!(MAX_COLUMNS.is_power_of_two() && FEW_COLUMNS.is_power_of_two());

/// How a walk reads a row: from a fixed-size copy with two halves of `stride` slots each. The
/// first has the row with unknown values as +∞, the second as −∞; a split reads its column
/// in the half that sends unknown values its way (below a finite threshold goes left), so a
/// step is one comparison. The slot is masked to the copy's size, so no step needs a bounds
/// check (the mask changes nothing: compiling checks every column).
fn stride(columns: usize) -> usize {
    if columns <= FEW_COLUMNS {
        FEW_COLUMNS
    } else {
        MAX_COLUMNS
    }
}

/// One split of the flat array (leaves are not stored: their weights are in the deltas).
/// 32 bytes, aligned: one node is one half of a cache line, never two lines.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Node {
    /// Values below go left.
    threshold: f64,
    /// Change of weight from this node to its left child.
    left_delta: f64,
    /// The same to its right child.
    right_delta: f64,
    /// Where in the row copy the split reads its column (see [`stride`]).
    slot: u16,
    /// How many nodes after this one the walk goes on when the row goes left: the left
    /// child, or for a leaf the root of the lane's next tree (or the idle node).
    left: u16,
    /// The same for the right child.
    right: u16,
}

impl Node {
    /// A split that leads to itself and changes nothing: where a lane waits once its trees
    /// are walked.
    const IDLE: Node = Node {
        threshold: 0.0,
        left_delta: 0.0,
        right_delta: 0.0,
        slot: 0,
        left: 0,
        right: 0,
    };

    /// How far ahead a row with `value` in this split's slot goes on, and the change of
    /// weight on the way.
    #[inline(always)]
    fn step(&self, value: f64) -> (u32, f64) {
        // Written as a selection, not a branch: which way a payment goes is not predictable.
        if value < self.threshold {
            (u32::from(self.left), self.left_delta)
        } else {
            (u32::from(self.right), self.right_delta)
        }
    }
}

/// The trees as one flat array, ready to score and explain one row.
#[derive(Debug, Clone, Default)]
pub struct CompiledTrees {
    /// Every split of every tree, then [`Node::IDLE`].
    nodes: Vec<Node>,
    /// Where each lane's walk starts: the root of one of the first [`LANES`] trees that split
    /// (the idle node for a lane without one).
    starts: [u32; LANES],
    /// The index of [`Node::IDLE`].
    idle: u32,
    /// `base_score` plus the weight of every root: the margin before any split.
    bias: f64,
    columns: usize,
}

impl CompiledTrees {
    /// Compiles `stored` for rows of `columns` columns (1 to [`MAX_COLUMNS`]). Refused, naming
    /// the tree and node, when a tree is empty, a child is not after its parent in the same
    /// tree, unknown values go to a third child, a split reads a column the rows do not have,
    /// a weight or threshold is not finite, or a walk would leap more than 65,535 splits (trees
    /// of up to 8,191 splits always fit).
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
        if !(1..=MAX_COLUMNS).contains(&columns) {
            return Err(format!("{columns} columns: need 1 to {MAX_COLUMNS}"));
        }
        // Trees are laid out one after the other, splits only (a tree that does not split is
        // only its weight, in the bias); then the idle node.
        let mut roots = Vec::new();
        let mut total = 0;
        for (t, tree) in stored.trees.iter().enumerate() {
            let Some(root) = tree.first() else {
                return Err(format!("tree {t}: no nodes"));
            };
            if root.s.is_some() {
                roots.push(total);
                total += tree.iter().filter(|n| n.s.is_some()).count();
            }
        }
        let mut compiled = CompiledTrees {
            nodes: Vec::with_capacity(total + 1),
            starts: [total as u32; LANES],
            idle: total as u32,
            bias: stored.base_score,
            columns,
        };
        for (lane, root) in roots.iter().take(LANES).enumerate() {
            compiled.starts[lane] = *root as u32;
        }
        // Lane `l` walks the trees that split `l`, `l + LANES`, `l + 2 * LANES`…: a walk that
        // reaches a leaf goes on at the root of its lane's next tree, or at the idle node.
        let mut splitting = 0;
        for (t, tree) in stored.trees.iter().enumerate() {
            compiled.bias += tree[0].w;
            let then = roots.get(splitting + LANES).copied().unwrap_or(total);
            if tree[0].s.is_some() {
                splitting += 1;
            }
            compiled.push_tree(t, tree, columns, then)?;
        }
        compiled.nodes.push(Node::IDLE);
        Ok(compiled)
    }

    /// Appends the splits of one tree (none when its root is a leaf); a leaf sends the walk on
    /// to `then`.
    fn push_tree(
        &mut self,
        t: usize,
        tree: &[StoredNode],
        columns: usize,
        then: usize,
    ) -> Result<(), String> {
        if let Some(i) = tree.iter().position(|n| !n.w.is_finite()) {
            return Err(format!(
                "tree {t}, node {i}: the weight is not a finite number"
            ));
        }
        if tree[0].s.is_none() {
            return Ok(());
        }
        // Where each split of the tree lands in the flat array (leaves land nowhere).
        let mut at = vec![None; tree.len()];
        let mut next = self.nodes.len();
        for (i, n) in tree.iter().enumerate() {
            if n.s.is_some() {
                at[i] = Some(next);
                next += 1;
            }
        }
        for (i, n) in tree.iter().enumerate() {
            let bad = |what: &str| format!("tree {t}, node {i}: {what}");
            let Some(s) = n.s else { continue };
            if s.f as usize >= columns {
                return Err(bad(&format!("splits on column {} of {columns}", s.f)));
            }
            if !s.v.is_finite() {
                return Err(bad("the threshold is not a finite number"));
            }
            let here = self.nodes.len();
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
            // A leaf child sends the walk on to `then`; 8,191 splits per tree always fit.
            let ahead = |c: usize| {
                u16::try_from(at[c].unwrap_or(then) - here).map_err(|_| {
                    bad(&format!(
                        "child {c} leads more than {} splits ahead (trees that big are refused)",
                        u16::MAX
                    ))
                })
            };
            let (l, r, m) = (child(s.l)?, child(s.r)?, child(s.m)?);
            if m != l && m != r {
                return Err(bad("unknown values must go to the left or right child"));
            }
            self.nodes.push(Node {
                threshold: s.v,
                left_delta: tree[l].w - n.w,
                right_delta: tree[r].w - n.w,
                slot: (s.f as usize + if m == l { stride(columns) } else { 0 }) as u16,
                left: ahead(l)?,
                right: ahead(r)?,
            });
        }
        Ok(())
    }

    /// Walks every tree for `row`, handing each step's lane, column and change of weight to
    /// `add`. [`LANES`] walks run side by side, each through its own trees, one after the
    /// other: a leaf leads on to the next tree's root, so no lane waits for a deeper tree and
    /// a step has no test but the split's. A lane that is done waits on [`Node::IDLE`]. `S` is
    /// the [`stride`].
    #[inline(always)]
    fn walk<const S: usize>(&self, row: &[f64], mut add: impl FnMut(usize, usize, f64)) {
        assert_eq!(row.len(), self.columns, "one value per column");
        let mut halves = [[0.0; S]; 2];
        for (c, v) in row.iter().enumerate() {
            halves[0][c] = if v.is_nan() { f64::INFINITY } else { *v };
            halves[1][c] = if v.is_nan() { f64::NEG_INFINITY } else { *v };
        }
        let values = halves.as_flattened();
        let mut at = self.starts;
        while at.iter().any(|&a| a != self.idle) {
            for (lane, at) in at.iter_mut().enumerate() {
                let node = &self.nodes[*at as usize];
                let slot = usize::from(node.slot) & (2 * S - 1);
                let (ahead, delta) = node.step(values[slot]);
                add(lane, slot & (S - 1), delta);
                *at += ahead;
            }
        }
    }

    /// The margin of `row` (one value per column, `NaN` for unknown), without explanations.
    pub fn margin(&self, row: &[f64]) -> f64 {
        match stride(self.columns) {
            FEW_COLUMNS => self.margin_in::<FEW_COLUMNS>(row),
            _ => self.margin_in::<MAX_COLUMNS>(row),
        }
    }

    /// [`CompiledTrees::margin`] with a row copy of stride `S`.
    fn margin_in<const S: usize>(&self, row: &[f64]) -> f64 {
        // Sums kept per lane do not wait on each other's additions.
        let mut lanes = [0.0; LANES];
        self.walk::<S>(row, |lane, _, delta| lanes[lane] += delta);
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
        match stride(self.columns) {
            FEW_COLUMNS => self.explain_in::<FEW_COLUMNS>(row, contributions),
            _ => self.explain_in::<MAX_COLUMNS>(row, contributions),
        }
    }

    /// [`CompiledTrees::explain`] with a row copy of stride `S`.
    fn explain_in<const S: usize>(&self, row: &[f64], contributions: &mut [f64]) -> f64 {
        // Shares kept per lane: lanes whose splits read the same column (most of them, as a
        // few columns carry a model) would otherwise each wait for the other's addition to
        // land in memory before making their own; kept apart, the walk explains a fifth faster.
        let mut shares = [[0.0; S]; LANES];
        self.walk::<S>(row, |lane, column, delta| shares[lane][column] += delta);
        for (c, share) in contributions[..self.columns].iter_mut().enumerate() {
            *share = shares.iter().map(|lane| lane[c]).sum();
        }
        contributions[self.columns] = self.bias;
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
        let mut numbers = crate::fixtures::Uniform::new(7);
        let mut next = || numbers.draw();
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
    fn the_mean_of_members_scores_and_explains_their_mean() {
        let (booster, x, rows) = booster();
        let short = StoredTrees::from_forust(&booster, 10).expect("store");
        let long = StoredTrees::from_forust(&booster, booster.trees.len()).expect("store");
        let (a, b) = (
            CompiledTrees::compile(&short, 3).expect("compile"),
            CompiledTrees::compile(&long, 3).expect("compile"),
        );
        let mean = StoredTrees::mean(vec![short.clone(), long.clone()]);
        assert_eq!(mean.trees.len(), short.trees.len() + long.trees.len());
        let mean = CompiledTrees::compile(&mean, 3).expect("compile");
        let mut contributions = [0.0; 4];
        for r in 0..rows {
            let row = [x[r], x[rows + r], x[2 * rows + r]];
            let want = (a.margin(&row) + b.margin(&row)) / 2.0;
            assert!((mean.margin(&row) - want).abs() < 1e-9, "row {r}");
            let explained = mean.explain(&row, &mut contributions);
            assert!((explained - want).abs() < 1e-9, "row {r}");
        }
    }

    #[test]
    fn trees_that_do_not_split_add_their_weight() {
        let (booster, x, rows) = booster();
        // Fewer trees than lanes, and a tree that is only a leaf among them.
        let few = StoredTrees::from_forust(&booster, 3).expect("store");
        let mut with_leaf = few.clone();
        with_leaf
            .trees
            .insert(1, vec![StoredNode { w: 0.25, s: None }]);
        let (few, with_leaf) = (
            CompiledTrees::compile(&few, 3).expect("compile"),
            CompiledTrees::compile(&with_leaf, 3).expect("compile"),
        );
        let mut contributions = [0.0; 4];
        for r in 0..rows {
            let row = [x[r], x[rows + r], x[2 * rows + r]];
            let want = few.margin(&row) + 0.25;
            assert!((with_leaf.margin(&row) - want).abs() < 1e-9, "row {r}");
            assert!((with_leaf.explain(&row, &mut contributions) - want).abs() < 1e-9);
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

        let mut endless = stored.clone();
        endless.trees[0][0].s.as_mut().expect("the root splits").v = f64::NEG_INFINITY;
        let e = CompiledTrees::compile(&endless, 3).expect_err("an infinite threshold");
        assert!(
            e.contains("tree 0, node 0") && e.contains("threshold"),
            "{e}"
        );

        // One tree of 70,000 splits in a chain: its first leaf leads past all of them to the
        // idle node, further than a 16-bit offset reaches.
        let splits = 70_000u32;
        let mut chain: Vec<StoredNode> = (0..splits)
            .map(|i| StoredNode {
                w: 0.0,
                s: Some(StoredSplit {
                    f: 0,
                    v: f64::from(i),
                    l: 2 * i + 2,
                    r: 2 * i + 1,
                    m: 2 * i + 1,
                }),
            })
            .flat_map(|split| [split, StoredNode { w: 0.5, s: None }])
            .collect();
        chain.push(StoredNode { w: 1.0, s: None });
        let e = CompiledTrees::compile(
            &StoredTrees {
                base_score: 0.0,
                trees: vec![chain],
            },
            3,
        )
        .expect_err("too big a tree");
        assert!(e.contains("more than 65535 splits ahead"), "{e}");
        let e = CompiledTrees::compile(&stored, MAX_COLUMNS + 1).expect_err("too many columns");
        assert!(e.contains("need 1 to 512"), "{e}");

        let mut infinite = stored;
        infinite.trees[0][1].w = f64::INFINITY;
        let e = CompiledTrees::compile(&infinite, 3).expect_err("an infinite weight");
        assert!(e.contains("tree 0, node 1") && e.contains("finite"), "{e}");

        booster.missing = -1.0;
        let e = StoredTrees::from_forust(&booster, 1).expect_err("missing marker");
        assert!(e.contains("not NaN"), "{e}");
    }
}
