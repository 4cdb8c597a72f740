//! Figures for bench/prevention.sh: the auditor's time per description (load and audit, in
//! process), and the checker's states per second and time to the counterexample on the shipped
//! models and on larger variants of them, for both engines, per CPU-second. Prints Markdown
//! table rows. Arguments (optional): `audit` or `check` to run only that part, and words that a
//! checked model's label and engine must contain (`webshop`, `Compiled`), for profiling one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ensuresec_prevention::workflow::{Engine, Options, Outcome, Workflow, check};
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

/// CPU seconds this process has used (every thread): the machine is shared, so wall time
/// measures the other users as much as the checker.
fn cpu_seconds() -> f64 {
    cpu_time::ProcessTime::now().as_duration().as_secs_f64()
}

fn options(engine: Engine, threads: usize, stop_at_first_violation: bool) -> Options {
    Options {
        threads,
        stop_at_first_violation,
        engine,
    }
}

/// States per CPU-second and per wall-second, over as many runs as fill 0.3 CPU-seconds (at
/// least 3).
fn check_row(label: &str, text: &str, engine: Engine, threads: usize) {
    let name = match engine {
        Engine::Compiled => "compiled, 1 thread".to_string(),
        Engine::Stateright => format!("stateright, {threads} threads"),
    };
    let parsed = Workflow::parse(text, label).expect("model");
    let (mut runs, mut states, mut cpu, mut wall) = (0usize, 0usize, 0.0, 0.0);
    while runs < 3 || cpu < 0.3 {
        let wf = parsed.clone();
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        states = check(wf, options(engine, threads, false)).unique_states;
        cpu += cpu_seconds() - cpu0;
        wall += wall0.elapsed().as_secs_f64();
        runs += 1;
    }
    let total = (states * runs) as f64;
    println!(
        "| check | {label} | {name} | {states} states, {runs} runs | {:.3} ms CPU per run | {:.0} states/CPU-s ({:.0} states/s wall) |",
        cpu / runs as f64 * 1e3,
        total / cpu,
        total / wall
    );
    let wf = parsed.clone();
    let (cpu0, t) = (cpu_seconds(), Instant::now());
    let report = check(wf, options(engine, threads, true));
    let (cpu, first) = (cpu_seconds() - cpu0, t.elapsed().as_secs_f64());
    if let Some(v) = report
        .verdicts
        .iter()
        .find(|v| matches!(v.outcome, Outcome::Violated { .. }))
    {
        let Outcome::Violated { trace, .. } = &v.outcome else {
            return;
        };
        println!(
            "| counterexample | {label} | {name} | `{}`, {} steps | {:.2} ms CPU, {:.2} ms wall to the minimal trace | |",
            v.property,
            trace.len(),
            cpu * 1e3,
            first * 1e3
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let part =
        |p: &str| !args.iter().any(|a| a == "audit" || a == "check") || args.iter().any(|a| a == p);
    let words: Vec<&String> = args
        .iter()
        .filter(|a| *a != "audit" && *a != "check")
        .collect();
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
    if part("audit") {
        for s in &specs {
            audit_row(s, &rules);
        }
    }
    if !part("check") {
        return;
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
        // A larger variant: every request may be sent twice and the attacker replays three.
        let big = text
            .replace("    request: true\n", "    request: true\n    sends: 2\n")
            .replace("replays: 1", "replays: 3")
            .replace("replays: 2", "replays: 3");
        for (label, text) in [
            (name.to_string(), &text),
            (format!("{name} (sends 2, replays 3)"), &big),
        ] {
            for engine in [Engine::Compiled, Engine::Stateright] {
                let tag = format!("{label} {engine:?}");
                if words.iter().all(|w| tag.contains(w.as_str())) {
                    check_row(&label, text, engine, threads);
                }
            }
        }
    }
}
