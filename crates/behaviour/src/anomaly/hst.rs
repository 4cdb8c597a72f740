//! Streaming Half-Space Trees (Tan, Ting & Liu, "Fast anomaly detection for streaming data",
//! IJCAI 2011): an ensemble of random, fully grown binary trees over a unit hypercube. Each node
//! counts how many points of the last window (the *reference* mass) and of the current window
//! (the *latest* mass) fell into it; every `window_size` points the latest mass becomes the
//! reference, so the model forgets old behaviour and follows drift. A point is anomalous when it
//! falls where the reference saw few points.
//!
//! Deterministic: the trees come from a seeded ChaCha8 generator.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Settings of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HstConfig {
    /// Trees in the ensemble.
    pub trees: usize,
    /// Depth of each tree.
    pub height: u32,
    /// Points per window (how fast the model forgets).
    pub window_size: u32,
    /// Seed of the trees' random splits.
    pub seed: u64,
}

impl Default for HstConfig {
    fn default() -> Self {
        HstConfig {
            trees: 25,
            height: 8,
            window_size: 2048,
            seed: 0x5eed,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Node {
    dim: u16,
    split: f32,
    reference: u32,
    latest: u32,
}

/// One tree, stored as a complete binary tree in an array (children of `i` at `2i+1`, `2i+2`).
#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Node>,
}

/// A score and what drove it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// 0 (dense, normal) to 1 (never seen anything like it): the mean over trees of
    /// `1 / (1 + d)`, `d` being the reference mass where the point's path stops, relative to a
    /// uniform spread. Roughly the share of trees that isolate the point.
    pub score: f64,
    /// Per feature, how much its splits isolated the point beyond what chance would (≥ 0),
    /// normalised to sum to 1 when anything isolated it.
    pub attribution: Vec<f64>,
}

/// The ensemble.
#[derive(Debug, Clone)]
pub struct HalfSpaceTrees {
    config: HstConfig,
    dims: usize,
    trees: Vec<Tree>,
    seen_in_window: u32,
    windows_done: u64,
}

impl HalfSpaceTrees {
    /// Builds the trees for points of `dims` features, each scaled to [0, 1].
    pub fn new(dims: usize, config: HstConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let size = (1usize << (config.height + 1)) - 1;
        let dims = dims.max(1);
        let trees = (0..config.trees.max(1))
            .map(|_| {
                // The tree's work space: a random box around the unit cube, as the paper does.
                let mut lo = vec![0f64; dims];
                let mut hi = vec![0f64; dims];
                for q in 0..dims {
                    let s: f64 = rng.random_range(0.0..1.0);
                    let sigma = 2.0 * s.max(1.0 - s);
                    lo[q] = s - sigma;
                    hi[q] = s + sigma;
                }
                let mut nodes = vec![Node::default(); size];
                build(&mut nodes, 0, &mut lo, &mut hi, &mut rng, config.height, 0);
                Tree { nodes }
            })
            .collect();
        HalfSpaceTrees {
            config,
            dims,
            trees,
            seen_in_window: 0,
            windows_done: 0,
        }
    }

    /// Whether a full reference window has been learned (scores before that mean little).
    pub fn warmed_up(&self) -> bool {
        self.windows_done > 0
    }

    /// Scores a point against the reference window.
    pub fn score(&self, x: &[f64]) -> Scored {
        let limit = (f64::from(self.config.window_size) * 0.1).max(1.0);
        let mut attribution = vec![0.0; self.dims];
        let mut isolated = 0.0;
        for tree in &self.trees {
            let mut i = 0usize;
            let mut depth = 0u32;
            loop {
                let node = tree.nodes[i];
                let leaf = depth >= self.config.height;
                if leaf || f64::from(node.reference) < limit {
                    // Mass relative to what a uniform spread of the window would leave here.
                    let density = f64::from(node.reference) * f64::from(1u32 << depth)
                        / f64::from(self.config.window_size);
                    isolated += 1.0 / (1.0 + density);
                    break;
                }
                let child = child_of(i, &node, x);
                let parent_mass = f64::from(node.reference) + 1.0;
                let child_mass = f64::from(tree.nodes[child].reference) + 1.0;
                // A fair split keeps half the mass (1 bit); the excess isolated this point.
                let bits = (parent_mass / child_mass).log2() - 1.0;
                if bits > 0.0 {
                    attribution[usize::from(node.dim) % self.dims] += bits;
                }
                i = child;
                depth += 1;
            }
        }

        let total: f64 = attribution.iter().sum();
        if total > 0.0 {
            attribution.iter_mut().for_each(|a| *a /= total);
        }
        Scored {
            score: isolated / self.trees.len() as f64,
            attribution,
        }
    }

    /// Adds a point to the latest window, swapping windows when it is full.
    pub fn learn(&mut self, x: &[f64]) {
        let height = self.config.height;
        for tree in &mut self.trees {
            let mut i = 0usize;
            for _ in 0..=height {
                let node = &mut tree.nodes[i];
                node.latest = node.latest.saturating_add(1);
                let n = *node;
                let child = child_of(i, &n, x);
                if child >= tree.nodes.len() {
                    break;
                }
                i = child;
            }
        }
        self.seen_in_window += 1;
        if self.seen_in_window >= self.config.window_size {
            for tree in &mut self.trees {
                for n in &mut tree.nodes {
                    n.reference = n.latest;
                    n.latest = 0;
                }
            }
            self.seen_in_window = 0;
            self.windows_done += 1;
        }
    }

    /// Bytes the model holds.
    pub fn bytes(&self) -> usize {
        self.trees
            .iter()
            .map(|t| t.nodes.len() * std::mem::size_of::<Node>())
            .sum()
    }
}

#[inline]
fn child_of(i: usize, node: &Node, x: &[f64]) -> usize {
    let v = x.get(usize::from(node.dim)).copied().unwrap_or(0.0);
    if v < f64::from(node.split) {
        2 * i + 1
    } else {
        2 * i + 2
    }
}

fn build(
    nodes: &mut [Node],
    i: usize,
    lo: &mut [f64],
    hi: &mut [f64],
    rng: &mut ChaCha8Rng,
    height: u32,
    depth: u32,
) {
    if i >= nodes.len() || depth >= height {
        return;
    }
    let dim = rng.random_range(0..lo.len());
    let mid = (lo[dim] + hi[dim]) / 2.0;
    nodes[i].dim = dim as u16;
    nodes[i].split = mid as f32;
    let saved = hi[dim];
    hi[dim] = mid;
    build(nodes, 2 * i + 1, lo, hi, rng, height, depth + 1);
    hi[dim] = saved;
    let saved = lo[dim];
    lo[dim] = mid;
    build(nodes, 2 * i + 2, lo, hi, rng, height, depth + 1);
    lo[dim] = saved;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn cluster(rng: &mut ChaCha8Rng, centre: [f64; 3]) -> [f64; 3] {
        centre.map(|c| (c + rng.random_range(-0.05..0.05)).clamp(0.0, 1.0))
    }

    #[test]
    fn outliers_score_higher_than_inliers_and_the_driving_feature_is_named() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut m = HalfSpaceTrees::new(
            3,
            HstConfig {
                window_size: 256,
                ..HstConfig::default()
            },
        );
        for _ in 0..1024 {
            let p = cluster(&mut rng, [0.3, 0.3, 0.3]);
            m.learn(&p);
        }
        assert!(m.warmed_up());
        let inlier = m.score(&[0.3, 0.3, 0.3]);
        // Normal on features 0 and 1, far off on feature 2.
        let outlier = m.score(&[0.3, 0.3, 0.95]);
        assert!(inlier.score < 0.1, "{inlier:?}");
        assert!(outlier.score > 0.5, "{outlier:?}");
        let top = outlier
            .attribution
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i);
        assert_eq!(top, Some(2), "{:?}", outlier.attribution);
    }

    #[test]
    fn the_model_adapts_when_behaviour_drifts() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut m = HalfSpaceTrees::new(
            3,
            HstConfig {
                window_size: 256,
                ..HstConfig::default()
            },
        );
        for _ in 0..1024 {
            m.learn(&cluster(&mut rng, [0.2, 0.2, 0.2]));
        }
        let new_normal = [0.8, 0.8, 0.8];
        assert!(m.score(&new_normal).score > 0.5);
        for _ in 0..600 {
            m.learn(&cluster(&mut rng, new_normal));
        }
        assert!(
            m.score(&new_normal).score < 0.1,
            "two windows later the new behaviour is normal"
        );
    }

    #[test]
    fn same_seed_same_scores() {
        let a = HalfSpaceTrees::new(4, HstConfig::default());
        let b = HalfSpaceTrees::new(4, HstConfig::default());
        let mut a2 = a.clone();
        let mut b2 = b.clone();
        for i in 0..300 {
            let p = [f64::from(i % 7) / 7.0, 0.5, 0.1, 0.9];
            a2.learn(&p);
            b2.learn(&p);
        }
        assert_eq!(
            a2.score(&[0.1, 0.2, 0.3, 0.4]),
            b2.score(&[0.1, 0.2, 0.3, 0.4])
        );
    }
}
