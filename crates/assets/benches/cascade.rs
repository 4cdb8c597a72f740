//! Cascade over a 10,000-asset graph (target: < 10 ms), and loading that model.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use criterion::{Criterion, criterion_group, criterion_main};
use ensuresec_assets::{AssetModel, CascadeOptions};

/// A layered model: 10 layers of 1,000 assets; each asset above the first needs three assets of
/// the layer below (deterministic pseudo-random picks), so trouble at the bottom reaches most of
/// the graph.
fn layered(layers: usize, width: usize) -> String {
    let mut text = String::from("assets:\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for l in 0..layers {
        for i in 0..width {
            text.push_str(&format!(
                "  - id: a{l}-{i}\n    name: asset {l}-{i}\n    type: service\n    owner: ops\n    criticality: medium\n    impact_per_hour: 100\n"
            ));
            if l > 0 {
                text.push_str("    depends_on:\n");
                let mut picks = std::collections::BTreeSet::new();
                while picks.len() < 3 {
                    picks.insert(next() as usize % width);
                }
                for p in picks {
                    let impact = 0.5 + (next() % 50) as f64 / 100.0;
                    let delay = next() % 60;
                    text.push_str(&format!(
                        "      - {{ asset: a{}-{p}, kind: service, delay_minutes: {delay}, impact: {impact} }}\n",
                        l - 1
                    ));
                }
            }
        }
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = layered(10, 1000);
    let model = AssetModel::from_yaml("bench.yaml", &text).expect("valid bench model");
    let reached = model
        .cascade(
            "a0-0",
            CascadeOptions {
                min_impact: 0.0,
                ..Default::default()
            },
        )
        .expect("origin exists")
        .affected
        .len();
    eprintln!("cascade over {} assets reaches {reached}", model.len());
    c.bench_function("cascade_10k_assets", |b| {
        b.iter(|| {
            model.cascade(
                "a0-0",
                CascadeOptions {
                    min_impact: 0.0,
                    ..Default::default()
                },
            )
        })
    });
    c.bench_function("load_10k_assets", |b| {
        b.iter(|| AssetModel::from_yaml("bench.yaml", &text))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
