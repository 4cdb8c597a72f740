//! Diagnosis on a generated 1,000-asset model with 50 simultaneous symptoms (target < 100 ms),
//! and the incremental update after one more observation (target < 10 ms).
//!
//! The model has five layers of 200 assets; each asset depends on one to three assets of
//! deeper layers (infrastructure at the bottom). Two deep assets are faulty; 50 of the assets
//! depending on them are observed faulty and 200 unaffected assets are observed OK.
//!
//! A harder case (`diagnose_1000_assets_9_disjoint_roots`): ten independent parts of 100 assets
//! (no shared infrastructure), nine with a faulty root; 50 symptoms spread over the nine parts
//! give many minimal conflicts, disjoint between parts, so that every diagnosis has at least
//! nine members and the size bound (one more than that) prunes the search, which must still
//! find the nine roots first.

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

/// `1..=most` distinct assets drawn from `range`, sorted.
fn draw(rng: &mut ChaCha8Rng, most: usize, range: std::ops::Range<usize>) -> Vec<usize> {
    let count = rng.random_range(1..=most);
    let mut d: Vec<usize> = (0..count)
        .map(|_| rng.random_range(range.clone()))
        .collect();
    d.sort_unstable();
    d.dedup();
    d
}

/// A random prior for each of `n` assets.
fn generated_priors(rng: &mut ChaCha8Rng, n: usize) -> Vec<Prior> {
    (0..n)
        .map(|_| Prior {
            p: rng.random_range(0.005..0.05),
            why: "generated".into(),
        })
        .collect()
}

/// An observation of `asset` at `second` past a fixed instant.
fn observation(asset: &str, health: Health, second: i64) -> Observation {
    Observation {
        asset: asset.to_string(),
        health,
        at: DateTime::<Utc>::from_timestamp(1_800_000_000 + second, 0).unwrap(),
        source: "bench".into(),
        detail: String::new(),
    }
}

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
            draw(&mut rng, 3, (layer + 1) * PER_LAYER..n)
        })
        .collect();
    let graph = DepGraph::new(ids.clone(), deps).unwrap();
    let priors = generated_priors(&mut rng, n);
    let faults: Vec<usize> = (0..2).map(|_| rng.random_range(3 * PER_LAYER..n)).collect();
    let affected: Vec<usize> = graph
        .dependents_closure(faults.iter().copied())
        .iter()
        .collect();
    let healthy: Vec<usize> = (0..n).filter(|i| !affected.contains(i)).collect();
    let observe = |i: usize, health, t| observation(&ids[i], health, t);
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

/// Parts, assets per part, parts with a faulty root, symptoms in all.
const PARTS: usize = 10;
const PER_PART: usize = 100;
const FAULTY_PARTS: usize = 9;
const SPREAD_SYMPTOMS: usize = 50;

/// In each part: local 0 to 4 infrastructure (0 is the part's root cause when the part is
/// faulty), 5 to 24 middle tier (each on one infrastructure asset), 25 to 99 front tier (each on
/// one or two middle assets of its part). Every healthy middle asset is observed OK, which
/// clears the healthy infrastructure; the symptoms are front assets reached by the root.
struct Disjoint {
    graph: DepGraph,
    priors: Vec<Prior>,
    observations: Vec<Observation>,
    roots: Vec<String>,
}

fn disjoint_scenario(seed: u64) -> Disjoint {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = PARTS * PER_PART;
    let ids: Vec<String> = (0..n).map(|i| format!("asset-{i}")).collect();
    let deps: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let (base, local) = (i - i % PER_PART, i % PER_PART);
            match local {
                0..5 => Vec::new(),
                5..25 => vec![base + local % 5],
                _ => draw(&mut rng, 2, base + 5..base + 25),
            }
        })
        .collect();
    let graph = DepGraph::new(ids.clone(), deps).unwrap();
    let priors = generated_priors(&mut rng, n);
    let roots: Vec<usize> = (0..FAULTY_PARTS).map(|p| p * PER_PART).collect();
    let affected = graph.dependents_closure(roots.iter().copied());
    let observe = |i: usize, health| observation(&ids[i], health, 1);
    let mut observations: Vec<Observation> = (0..n)
        .filter(|i| (5..25).contains(&(i % PER_PART)) && !affected.contains(*i))
        .map(|i| observe(i, Health::Ok))
        .collect();
    for (k, &root) in roots.iter().enumerate() {
        // 50 symptoms over nine parts: five or six each.
        let want = SPREAD_SYMPTOMS / FAULTY_PARTS + usize::from(k < SPREAD_SYMPTOMS % FAULTY_PARTS);
        let front: Vec<usize> = (root + 25..root + PER_PART)
            .filter(|&i| affected.contains(i))
            .collect();
        observations.extend(
            front
                .choose_multiple(&mut rng, want)
                .map(|&i| observe(i, Health::Faulty)),
        );
    }
    Disjoint {
        graph,
        priors,
        observations,
        roots: roots.iter().map(|&i| ids[i].clone()).collect(),
    }
}

fn bench_disjoint(c: &mut Criterion) {
    let s = disjoint_scenario(11);
    let options = HsOptions {
        max_size: FAULTY_PARTS + 1,
        ..HsOptions::default()
    };
    let diagnose = || {
        let mut d = Diagnoser::new(s.graph.clone(), s.priors.clone(), options).unwrap();
        d.observe_all(s.observations.clone()).unwrap();
        d.report(5, 3, None)
    };
    let report = diagnose();
    eprintln!(
        "{} assets in {PARTS} independent parts, {} symptoms, {FAULTY_PARTS} faulty roots, max size {}: \
         {} conflicts, {} candidates, complete {}",
        s.graph.len(),
        report.symptoms.len(),
        options.max_size,
        report.conflicts.len(),
        report.candidate_count,
        report.complete
    );
    assert_eq!(report.symptoms.len(), SPREAD_SYMPTOMS);
    assert_eq!(
        report.candidates[0].assets, s.roots,
        "the nine roots rank first"
    );
    c.bench_function("diagnose_1000_assets_9_disjoint_roots", |b| {
        b.iter(diagnose)
    });
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

criterion_group!(benches, bench, bench_disjoint);
criterion_main!(benches);
