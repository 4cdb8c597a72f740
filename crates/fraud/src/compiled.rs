//! The model's trees compiled into one flat array, for scoring one payment at a time.
//!
//! `perpetual` keeps each tree's nodes in a hash map and its `predict_contributions` allocates
//! per call, so explaining one payment cost a hash lookup per node visited: most of the cost
//! of a scored payment. Here every node of every tree is one entry of a `Vec`, children are
//! indices, and the one walk that finds each leaf also adds the path attributions (the same
//! arithmetic as `perpetual`'s `ContributionsMethod::Weight`, in the same order, so the
//! explanations are exactly the ones the booster gives). Written here because the booster has
//! no such predictor and no maintained crate compiles its trees.

use perpetual::PerpetualBooster;

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;
/// Marks a numeric split in [`Node::categories`].
const NUMERIC: u32 = u32::MAX;

/// One node of one tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Values below go left.
    split_value: f64,
    /// The node's weight (the leaf value for leaves), widened as the booster does.
    weight: f64,
    /// Column split on, or [`LEAF`].
    feature: u32,
    /// Index of the left child in [`CompiledTrees::nodes`].
    left: u32,
    /// Index of the right child.
    right: u32,
    /// Index of the child unknown values go to.
    missing: u32,
    /// Index of the categorical split's left set in [`CompiledTrees::categories`], or
    /// [`NUMERIC`].
    categories: u32,
}

/// A booster's trees as one flat array, ready to score and explain one row.
#[derive(Debug, Clone, Default)]
pub struct CompiledTrees {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    categories: Vec<Box<[u8]>>,
    base_score: f64,
    columns: usize,
}

impl CompiledTrees {
    /// Compiles `booster`, which reads `columns` columns. Refused, with the reason, when the
    /// booster marks unknown values with anything but `NaN` (the online features do) or a tree
    /// is malformed (a child that does not exist, a split on a column it does not have).
    pub fn compile(booster: &PerpetualBooster, columns: usize) -> Result<CompiledTrees, String> {
        if !booster.cfg.missing.is_nan() {
            return Err(format!(
                "the booster marks unknown values with {}, not NaN",
                booster.cfg.missing
            ));
        }
        let mut compiled = CompiledTrees {
            base_score: booster.base_score,
            columns,
            ..CompiledTrees::default()
        };
        for (t, tree) in booster.get_prediction_trees().iter().enumerate() {
            // Node numbers of one tree → positions in the flat array.
            let mut keys: Vec<usize> = tree.nodes.keys().copied().collect();
            keys.sort_unstable();
            let offset = compiled.nodes.len();
            let at = |num: usize| -> Result<u32, String> {
                keys.binary_search(&num)
                    .map(|i| (offset + i) as u32)
                    .map_err(|_| format!("tree {t}: node {num} does not exist"))
            };
            if !tree.nodes.contains_key(&0) {
                return Err(format!("tree {t}: no root node"));
            }
            compiled.roots.push(at(0)?);
            for num in &keys {
                let n = &tree.nodes[num];
                let node = if n.is_leaf {
                    Node {
                        split_value: 0.0,
                        weight: f64::from(n.weight_value),
                        feature: LEAF,
                        left: 0,
                        right: 0,
                        missing: 0,
                        categories: NUMERIC,
                    }
                } else {
                    if n.split_feature >= columns {
                        return Err(format!(
                            "tree {t}: node {num} splits on column {} of {columns}",
                            n.split_feature
                        ));
                    }
                    let categories = match &n.left_cats {
                        Some(set) => {
                            compiled.categories.push(set.clone());
                            (compiled.categories.len() - 1) as u32
                        }
                        None => NUMERIC,
                    };
                    Node {
                        split_value: n.split_value,
                        weight: f64::from(n.weight_value),
                        feature: n.split_feature as u32,
                        left: at(n.left_child)?,
                        right: at(n.right_child)?,
                        missing: at(n.missing_node)?,
                        categories,
                    }
                };
                compiled.nodes.push(node);
            }
        }
        Ok(compiled)
    }

    /// Scores `row` (one value per column, `NaN` for unknown) and explains it: on return
    /// `contributions[c]` is column `c`'s share of the margin and the last entry is the bias;
    /// the margin (their sum) is returned. `contributions` has one entry per column plus one.
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
                let child = &self.nodes[self.child(node, row[f]) as usize];
                contributions[f] += child.weight - node.weight;
                node = child;
            }
        }
        contributions.iter().sum()
    }

    /// The child of split `node` that `value` goes to (the booster's own rule: unknown values
    /// first, then categorical sets, then `value < split_value` goes left).
    fn child(&self, node: &Node, value: f64) -> u32 {
        if value.is_nan() {
            return node.missing;
        }
        if node.categories != NUMERIC {
            let set = &self.categories[node.categories as usize];
            let category = value as usize;
            return match set.get(category >> 3) {
                Some(byte) if (byte >> (category & 7)) & 1 == 1 => node.left,
                _ => node.right,
            };
        }
        if value < node.split_value {
            node.left
        } else {
            node.right
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perpetual::booster::config::ContributionsMethod;
    use perpetual::objective::Objective;
    use perpetual::{Matrix, PerpetualBooster};

    /// A booster over three columns (one with unknown values) and the rows it was fitted on,
    /// column-major.
    fn booster() -> (PerpetualBooster, Vec<f64>, usize) {
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
        let mut booster = PerpetualBooster::default()
            .set_objective(Objective::LogLoss)
            .set_budget(0.5)
            .set_num_threads(Some(1));
        booster
            .fit(&Matrix::new(&x, rows, 3), &y, None, None)
            .expect("fit");
        (booster, x, rows)
    }

    #[test]
    fn explanations_are_the_boosters_own() {
        let (booster, x, rows) = booster();
        assert!(booster.get_prediction_trees().len() > 1, "a real ensemble");
        let compiled = CompiledTrees::compile(&booster, 3).expect("compile");
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
            assert_eq!(contributions, want, "row {r}");
            assert_eq!(margin, want.iter().sum::<f64>(), "row {r}");
        }
        assert!(unknown_seen > 0, "unknown values were routed");
    }

    #[test]
    fn margins_match_the_boosters_predictions() {
        let (booster, x, rows) = booster();
        let compiled = CompiledTrees::compile(&booster, 3).expect("compile");
        let predicted = booster.predict(&Matrix::new(&x, rows, 3), false);
        let mut contributions = [0.0; 4];
        for (r, p) in predicted.iter().enumerate() {
            let row = [x[r], x[rows + r], x[2 * rows + r]];
            let margin = compiled.explain(&row, &mut contributions);
            assert!((margin - p).abs() < 1e-9, "row {r}: {margin} vs {p}");
        }
    }

    #[test]
    fn malformed_boosters_are_refused_with_the_reason() {
        let (mut booster, _, _) = booster();
        let e = CompiledTrees::compile(&booster, 2).expect_err("three columns used");
        assert!(e.contains("column"), "{e}");
        booster.cfg.missing = -1.0;
        let e = CompiledTrees::compile(&booster, 3).expect_err("missing marker");
        assert!(e.contains("not NaN"), "{e}");
    }
}
