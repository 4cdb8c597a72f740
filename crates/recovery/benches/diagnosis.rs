//! Diagnosis on a generated 1,000-asset model with 50 simultaneous symptoms (target < 100 ms),
//! and the incremental update after one more observation (target < 10 ms).
//!
//! The model has five layers of 200 assets; each asset depends on one to three assets of
//! deeper layers (infrastructure at the bottom). Two deep assets are faulty; 50 of the assets
//! depending on them are observed faulty and 200 unaffected assets are observed OK.

#![allow(clippy::unwrap_used)] // a benchmark on generated data: a panic is the failure report
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ensuresec_recovery::hitting::HsOptions;
use ensuresec_recovery::prior::Prior;
use ensuresec_recovery::{DepGraph, Diagnoser, Health, Observation};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LAYERS: usize = 5;
const PER_LAYER: usize = 200;

struct Scenario {
    graph: DepGraph,
    priors: Vec<Prior>,
    observations: Vec<Observation>,
    extra: Observation,
}

fn scenario(seed: u64) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = LAYERS * PER_LAYER;
    let ids: Vec<String> = (0..n).map(|i| format!("asset-{i}")).collect();
    let deps: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let layer = i / PER_LAYER;
            if layer + 1 == LAYERS {
                return Vec::new();
            }
            let count = rng.random_range(1..=3);
            let mut d: Vec<usize> = (0..count)
                .map(|_| rng.random_range((layer + 1) * PER_LAYER..n))
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let graph = DepGraph::new(ids.clone(), deps).unwrap();
    let priors = (0..n)
        .map(|_| Prior {
            p: rng.random_range(0.005..0.05),
            why: "generated".into(),
        })
        .collect();
    let faults: Vec<usize> = (0..2).map(|_| rng.random_range(3 * PER_LAYER..n)).collect();
    let affected: Vec<usize> = graph
        .dependents_closure(faults.iter().copied())
        .iter()
        .collect();
    let healthy: Vec<usize> = (0..n).filter(|i| !affected.contains(i)).collect();
    let at = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
    let observe = |i: usize, health, t| Observation {
        asset: ids[i].clone(),
        health,
        at: at(t),
        source: "bench".into(),
        detail: String::new(),
    };
    let mut symptoms: Vec<usize> = affected.choose_multiple(&mut rng, 51).copied().collect();
    let extra = observe(symptoms.pop().expect("51 chosen"), Health::Faulty, 10);
    let mut observations: Vec<Observation> = symptoms
        .iter()
        .map(|&i| observe(i, Health::Faulty, 1))
        .collect();
    observations.extend(
        healthy
            .choose_multiple(&mut rng, 200)
            .map(|&i| observe(i, Health::Ok, 1)),
    );
    Scenario {
        graph,
        priors,
        observations,
        extra,
    }
}

fn bench(c: &mut Criterion) {
    let s = scenario(7);
    let options = HsOptions::default();
    let diagnose = || {
        let mut d = Diagnoser::new(s.graph.clone(), s.priors.clone(), options).unwrap();
        d.observe_all(s.observations.clone()).unwrap();
        let report = d.report(5, 3, None);
        assert!(report.complete && !report.candidates.is_empty());
        report
    };
    let report = diagnose();
    eprintln!(
        "1000 assets, 50 symptoms, 200 OK: {} conflicts, {} candidates, best {:?}",
        report.conflicts.len(),
        report.candidate_count,
        report.candidates[0].assets
    );
    c.bench_function("diagnose_1000_assets_50_symptoms", |b| b.iter(diagnose));

    let mut base = Diagnoser::new(s.graph.clone(), s.priors.clone(), options).unwrap();
    base.observe_all(s.observations.clone()).unwrap();
    c.bench_function("incremental_one_symptom", |b| {
        b.iter_batched(
            || base.clone(),
            |mut d| {
                d.observe(s.extra.clone()).unwrap();
                d
            },
            criterion::BatchSize::LargeInput,
        )
    });
    c.bench_function("incremental_one_symptom_and_ranking", |b| {
        b.iter_batched(
            || base.clone(),
            |mut d| {
                d.observe(s.extra.clone()).unwrap();
                d.report(5, 3, None)
            },
            criterion::BatchSize::LargeInput,
        )
    });
    let ok = Observation {
        health: Health::Ok,
        ..s.observations[s.observations.len() - 1].clone()
    };
    let ok = Observation {
        asset: s.graph.id(0).to_string(),
        at: s.extra.at,
        ..ok
    };
    c.bench_function("incremental_one_ok_observation_rebuild", |b| {
        b.iter_batched(
            || base.clone(),
            |mut d| {
                d.observe(ok.clone()).unwrap();
                d
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
