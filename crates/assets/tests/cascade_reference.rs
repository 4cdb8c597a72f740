#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

//! The cascade against a brute-force reference: on small random graphs, every simple path from
//! the origin is enumerated and each asset's best (highest impact, then soonest) path compared.

use ensuresec_assets::{AssetModel, CascadeOptions, quantise};
use proptest::prelude::*;

/// Builds a model text: `edges` are (dependent, needed, impact in tenths, delay).
fn model(n: usize, edges: &[(usize, usize, u8, u32)]) -> String {
    let mut text = String::from("assets:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: a{i}\n    name: A{i}\n    type: service\n    owner: o\n    criticality: low\n    impact_per_hour: {}\n    depends_on:\n",
            i * 10
        ));
        let mut seen = std::collections::HashSet::new();
        for &(from, to, impact, delay) in edges {
            if from == i && to != i && seen.insert(to) {
                text.push_str(&format!(
                    "      - {{ asset: a{to}, kind: service, delay_minutes: {delay}, impact: {} }}\n",
                    f64::from(impact) / 10.0
                ));
            }
        }
        if seen.is_empty() {
            text.push_str("      []\n");
            text = text.replace("    depends_on:\n      []\n", "");
        }
    }
    text
}

/// Best (impact, -delay) over all simple paths from `origin` to every node (reverse edges).
fn reference(
    n: usize,
    edges: &[(usize, usize, f64, u64)],
    origin: usize,
    min: f64,
) -> Vec<Option<(f64, u64)>> {
    let mut best: Vec<Option<(f64, u64)>> = vec![None; n];
    fn walk(
        at: usize,
        impact: f64,
        delay: u64,
        seen: &mut Vec<bool>,
        edges: &[(usize, usize, f64, u64)],
        best: &mut Vec<Option<(f64, u64)>>,
        min: f64,
    ) {
        let better = match best[at] {
            None => true,
            Some((i, d)) => impact > i || (impact == i && delay < d),
        };
        if better {
            best[at] = Some((impact, delay));
        }
        for &(dependent, needed, f, dl) in edges {
            let next = quantise(impact * f);
            if needed == at && !seen[dependent] && next >= min {
                seen[dependent] = true;
                walk(dependent, next, delay + dl, seen, edges, best, min);
                seen[dependent] = false;
            }
        }
    }
    let mut seen = vec![false; n];
    seen[origin] = true;
    walk(origin, 1.0, 0, &mut seen, edges, &mut best, min);
    best
}

proptest! {
    #[test]
    fn cascade_matches_exhaustive_search(
        n in 2usize..7,
        raw in proptest::collection::vec((0usize..7, 0usize..7, 1u8..=10, 0u32..50), 0..14),
        min in prop_oneof![Just(0.0), Just(0.3)],
    ) {
        let raw: Vec<_> = raw.into_iter().filter(|e| e.0 < n && e.1 < n && e.0 != e.1).collect();
        // Keep the first edge for each (dependent, needed) pair, as the model does.
        let mut seen = std::collections::HashSet::new();
        let raw: Vec<_> = raw.into_iter().filter(|e| seen.insert((e.0, e.1))).collect();
        let m = AssetModel::from_yaml("p.yaml", &model(n, &raw)).unwrap();
        let edges: Vec<_> = raw.iter().map(|&(a, b, i, d)| (a, b, f64::from(i) / 10.0, u64::from(d))).collect();
        let want = reference(n, &edges, 0, min);
        let got = m.cascade("a0", CascadeOptions { min_impact: min, ..Default::default() }).unwrap();
        for (i, w) in want.iter().enumerate() {
            let g = got.affected.iter().find(|a| a.id == format!("a{i}"));
            match (w, g) {
                (None, None) => {}
                (Some((impact, delay)), Some(g)) => {
                    prop_assert!((g.impact - impact).abs() < 1e-9, "a{i}: {} vs {impact}", g.impact);
                    prop_assert_eq!(g.delay_minutes, *delay, "a{}", i);
                    prop_assert_eq!(got.path_to(&g.id).first().copied(), Some("a0"));
                }
                _ => prop_assert!(false, "a{i}: reference {w:?}, cascade {g:?}"),
            }
        }
    }
}
