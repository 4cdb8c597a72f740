#![allow(missing_docs)] // a benchmark binary
//! The anomaly model (streaming Half-Space Trees) on public labelled network-intrusion data:
//! NSL-KDD (learn on `KDDTrain+_20Percent`'s normal records, score `KDDTest+`) and UNSW-NB15
//! (learn on the normal records of the even rows of its training set, score the odd rows).
//!
//! The model is unsupervised: it learns what normal traffic looks like and is never shown an
//! attack label. Features are scaled the way the pipeline's model scales its own: `ln(1 + x)` for
//! counts and sizes, then divided by the largest value seen while learning (clamped to 1);
//! categorical columns (protocol, service, state) become their category's rank in the learning
//! data. The alert threshold is the 99th percentile of the learning data's own scores, i.e. a
//! 1 % false-positive budget chosen without looking at any attack.
//!
//! Prints ROC AUC, precision, recall and false-positive rate per dataset (and recall per attack
//! category for UNSW-NB15). Skips with a message when `../shared/datasets/network` is absent.
//! Run: `cargo bench -p ensuresec-behaviour --bench datasets`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use ensuresec_behaviour::anomaly::hst::{HalfSpaceTrees, HstConfig};

/// One labelled record: raw columns, numeric or categorical, and its label.
struct Record {
    numeric: Vec<f64>,
    categorical: Vec<String>,
    attack: Option<String>,
}

fn dataset_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/network");
    dir.is_dir().then_some(dir)
}

fn lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("dataset file");
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| l.expect("readable gzip text"))
        .collect()
}

/// NSL-KDD: 41 features (columns 1–3 categorical), the label (`normal` or an attack), difficulty.
fn nsl_kdd(path: &Path) -> Vec<Record> {
    lines(path)
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            assert!(cols.len() >= 42, "NSL-KDD row with {} columns", cols.len());
            let categorical = cols[1..4].iter().map(|s| s.to_string()).collect();
            let numeric = cols[..41]
                .iter()
                .enumerate()
                .filter(|(i, _)| !(1..4).contains(i))
                .map(|(_, v)| v.parse().unwrap_or(0.0))
                .collect();
            let label = cols[41];
            Record {
                numeric,
                categorical,
                attack: (label != "normal").then(|| label.to_string()),
            }
        })
        .collect()
}

/// UNSW-NB15 training set: a header; `proto`, `service`, `state` categorical; `id`, `attack_cat`
/// and `label` are not features.
fn unsw_nb15(path: &Path) -> Vec<Record> {
    let all = lines(path);
    let header: Vec<&str> = all[0].trim_start_matches('\u{feff}').split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (label, category) = (at("label"), at("attack_cat"));
    let categorical_cols = [at("proto"), at("service"), at("state")];
    let skip = [at("id"), label, category];
    all[1..]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            Record {
                numeric: cols
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !skip.contains(i) && !categorical_cols.contains(i))
                    .map(|(_, v)| v.parse().unwrap_or(0.0))
                    .collect(),
                categorical: categorical_cols
                    .iter()
                    .map(|&i| cols[i].to_string())
                    .collect(),
                attack: (cols[label] == "1").then(|| cols[category].trim().to_string()),
            }
        })
        .collect()
}

/// Scaling learnt from the learning records only.
struct Scaler {
    max_log: Vec<f64>,
    ranks: Vec<HashMap<String, usize>>,
}

impl Scaler {
    fn fit(learn: &[&Record]) -> Scaler {
        let dims = learn[0].numeric.len();
        let mut max_log = vec![0f64; dims];
        let mut counts: Vec<HashMap<String, usize>> =
            vec![HashMap::new(); learn[0].categorical.len()];
        for r in learn {
            for (m, v) in max_log.iter_mut().zip(&r.numeric) {
                *m = m.max(v.max(0.0).ln_1p());
            }
            for (c, v) in counts.iter_mut().zip(&r.categorical) {
                *c.entry(v.clone()).or_default() += 1;
            }
        }
        // Rank by frequency: common categories near 0, rare ones near 1, unseen ones at 1.
        let ranks = counts
            .into_iter()
            .map(|c| {
                let mut v: Vec<(String, usize)> = c.into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                v.into_iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k, i))
                    .collect()
            })
            .collect();
        Scaler { max_log, ranks }
    }

    fn scale(&self, r: &Record) -> Vec<f64> {
        let mut x: Vec<f64> = r
            .numeric
            .iter()
            .zip(&self.max_log)
            .map(|(v, m)| {
                if *m > 0.0 {
                    (v.max(0.0).ln_1p() / m).min(1.0)
                } else {
                    0.0
                }
            })
            .collect();
        for (ranks, v) in self.ranks.iter().zip(&r.categorical) {
            let n = ranks.len().max(1) as f64;
            x.push(ranks.get(v).map_or(1.0, |&i| i as f64 / n));
        }
        x
    }
}

/// Area under the ROC curve: the chance that an attack scores above a normal record (ties half).
fn roc_auc(scored: &[(f64, bool)]) -> f64 {
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0f64, 0usize);
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // mean 1-based rank of the tie group
        rank_sum += mid * v[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let pos = v.iter().filter(|x| x.1).count() as f64;
    let neg = v.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

fn evaluate(name: &str, learn: &[&Record], test: &[&Record]) {
    let scaler = Scaler::fit(learn);
    let dims = scaler.scale(learn[0]).len();
    // One window holding all the learning records: the reference mass is the whole normal
    // sample (in the pipeline, windows follow the shop's traffic instead).
    let config = HstConfig {
        window_size: u32::try_from(learn.len()).unwrap_or(u32::MAX),
        ..HstConfig::default()
    };
    let mut model = HalfSpaceTrees::new(dims, config);
    let learn_x: Vec<Vec<f64>> = learn.iter().map(|r| scaler.scale(r)).collect();
    for x in &learn_x {
        model.learn(x);
    }
    let mut own: Vec<f64> = learn_x.iter().map(|x| model.score(x).score).collect();
    own.sort_by(f64::total_cmp);
    let threshold = own[(own.len() as f64 * 0.99) as usize];
    let scored: Vec<(f64, bool)> = test
        .iter()
        .map(|r| (model.score(&scaler.scale(r)).score, r.attack.is_some()))
        .collect();
    let flagged = |s: f64| s > threshold;
    let tp = scored.iter().filter(|(s, a)| *a && flagged(*s)).count() as f64;
    let fp = scored.iter().filter(|(s, a)| !*a && flagged(*s)).count() as f64;
    let attacks = scored.iter().filter(|x| x.1).count() as f64;
    let normal = scored.len() as f64 - attacks;
    println!(
        "{name}: learnt on {} normal records, scored {} ({} attacks): ROC AUC {:.3}; at the 1 % budget threshold {:.3}: precision {:.3}, recall {:.3}, false-positive rate {:.3}",
        learn.len(),
        test.len(),
        attacks,
        roc_auc(&scored),
        threshold,
        tp / (tp + fp).max(1.0),
        tp / attacks.max(1.0),
        fp / normal.max(1.0),
    );
    let mut by_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (r, (s, _)) in test.iter().zip(&scored) {
        if let Some(a) = &r.attack {
            let e = by_category.entry(a.as_str()).or_default();
            e.0 += 1;
            e.1 += usize::from(flagged(*s));
        }
    }
    if by_category.len() <= 12 {
        let parts: Vec<String> = by_category
            .iter()
            .map(|(k, (n, hit))| format!("{k} {:.2} ({n})", *hit as f64 / *n as f64))
            .collect();
        println!("  recall by attack category: {}", parts.join(", "));
    }
}

fn main() {
    let Some(dir) = dataset_dir() else {
        println!("skipping: ../shared/datasets/network is absent");
        return;
    };
    let train = nsl_kdd(&dir.join("nsl-kdd-KDDTrain+_20Percent.txt.gz"));
    let test = nsl_kdd(&dir.join("nsl-kdd-KDDTest+.txt.gz"));
    let learn: Vec<&Record> = train.iter().filter(|r| r.attack.is_none()).collect();
    let test: Vec<&Record> = test.iter().collect();
    evaluate("NSL-KDD (KDDTest+)", &learn, &test);

    let unsw = unsw_nb15(&dir.join("unsw-nb15-training-set.csv.gz"));
    let learn: Vec<&Record> = unsw
        .iter()
        .step_by(2)
        .filter(|r| r.attack.is_none())
        .collect();
    let test: Vec<&Record> = unsw.iter().skip(1).step_by(2).collect();
    evaluate("UNSW-NB15 (odd rows of the training set)", &learn, &test);
}
