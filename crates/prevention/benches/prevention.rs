//! Figures for bench/prevention.sh: the auditor's time per description (load and audit, in
//! process), and the checker's states per second and time to the counterexample on the shipped
//! models and on larger variants of them. Prints Markdown table rows; medians of repeated runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ensuresec_prevention::workflow::{Options, Outcome, Workflow, check};
use ensuresec_prevention::{Limits, RuleSet, audit, load};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn audit_row(path: &Path, rules: &RuleSet) {
    let runs = 50;
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let spec = load(path, Limits::default()).expect("loads");
        findings = audit(&spec, rules).findings.len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "| audit | {} | {findings} findings | {:.3} ms (median of {runs}) |",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        median(times)
    );
}

fn check_row(label: &str, text: &str, threads: usize) {
    let runs = 5;
    let mut times = Vec::new();
    let mut states = 0;
    for _ in 0..runs {
        let wf = Workflow::parse(text, label).expect("model");
        let t = Instant::now();
        let report = check(
            wf,
            Options {
                threads,
                stop_at_first_violation: false,
            },
        );
        times.push(t.elapsed().as_secs_f64());
        states = report.unique_states;
    }
    let t = median(times);
    println!(
        "| check | {label} | {states} states, {threads} threads | {:.1} ms, {:.0} states/s |",
        t * 1e3,
        states as f64 / t
    );
    let wf = Workflow::parse(text, label).expect("model");
    let t = Instant::now();
    let report = check(
        wf,
        Options {
            threads,
            stop_at_first_violation: true,
        },
    );
    let first = t.elapsed().as_secs_f64();
    if let Some(v) = report
        .verdicts
        .iter()
        .find(|v| matches!(v.outcome, Outcome::Violated { .. }))
    {
        let Outcome::Violated { trace, .. } = &v.outcome else {
            return;
        };
        println!(
            "| counterexample | {label} | `{}`, {} steps | {:.1} ms to the minimal trace |",
            v.property,
            trace.len(),
            first * 1e3
        );
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rules = RuleSet::builtin();
    let shared = std::env::var_os("ENSURESEC_SHARED_DIR")
        .map_or_else(|| root.join("../../../shared"), PathBuf::from)
        .join("corpora/openapi");
    let mut specs = vec![
        root.join("tests/specs/shop-bad.yaml"),
        root.join("tests/specs/shop-good.yaml"),
    ];
    if let Ok(dir) = std::fs::read_dir(&shared) {
        let mut extra: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "yml" || x == "yaml" || x == "json")
            })
            .collect();
        extra.sort();
        specs.splice(0..0, extra);
    } else {
        eprintln!("SKIP: {} not found; VAmPI not timed", shared.display());
    }
    for s in &specs {
        audit_row(s, &rules);
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let models = root.join("models");
    for name in [
        "webshop-refund-race",
        "webshop",
        "pharmacy-delivery",
        "bank-payments",
    ] {
        let text = std::fs::read_to_string(models.join(format!("{name}.yaml"))).expect("model");
        check_row(name, &text, threads);
        // A larger variant: every request may be sent twice and the attacker replays three.
        let big = text
            .replace("    request: true\n", "    request: true\n    sends: 2\n")
            .replace("replays: 1", "replays: 3")
            .replace("replays: 2", "replays: 3");
        check_row(&format!("{name} (sends 2, replays 3)"), &big, threads);
    }
}
