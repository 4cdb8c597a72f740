//! The compiled engine against stateright's: the same verdicts, the same minimal traces and the
//! same state counts on the shipped models and on variants of them (more sends, more replays,
//! atomic or racy refunds); and `eventually` judged without stateright's path dependence.

use std::path::PathBuf;

use ensuresec_prevention::workflow::{CheckReport, Engine, Options, Outcome, Workflow, check};
use proptest::prelude::*;

const MODELS: [&str; 4] = [
    "webshop-refund-race",
    "webshop",
    "pharmacy-delivery",
    "bank-payments",
];

fn text(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(format!("{name}.yaml"));
    std::fs::read_to_string(path).expect("model")
}

fn run(text: &str, engine: Engine, stop_at_first_violation: bool) -> CheckReport {
    let wf = Workflow::parse(text, "model.yaml").unwrap_or_else(|e| panic!("{e}"));
    check(
        wf,
        Options {
            // One thread: stateright's search is then strictly level by level, so its depth
            // is comparable.
            threads: 1,
            stop_at_first_violation,
            engine,
        },
    )
}

/// The outcome with `eventually` traces reduced to their kind: stateright's is the run it
/// happened to take, ours the shortest.
fn comparable(report: &CheckReport) -> Vec<(String, Outcome)> {
    report
        .verdicts
        .iter()
        .map(|v| {
            let outcome = match (&v.outcome, v.kind) {
                (Outcome::Violated { .. }, "eventually") => Outcome::Violated {
                    trace: Vec::new(),
                    detail: String::new(),
                },
                (o, _) => o.clone(),
            };
            (v.property.clone(), outcome)
        })
        .collect()
}

fn assert_same(label: &str, text: &str) {
    let ours = run(text, Engine::Compiled, false);
    let theirs = run(text, Engine::Stateright, false);
    assert_eq!(comparable(&ours), comparable(&theirs), "{label}");
    assert_eq!(ours.unique_states, theirs.unique_states, "{label}");
    assert_eq!(ours.generated_states, theirs.generated_states, "{label}");
    assert_eq!(ours.max_depth, theirs.max_depth, "{label}");
    assert!(ours.complete && theirs.complete, "{label}");
}

#[test]
fn both_engines_agree_on_the_shipped_models() {
    for name in MODELS {
        assert_same(name, &text(name));
    }
}

#[test]
fn both_engines_find_the_same_first_counterexample() {
    let race = text("webshop-refund-race");
    let ours = run(&race, Engine::Compiled, true);
    let theirs = run(&race, Engine::Stateright, true);
    assert!(!ours.complete && !theirs.complete);
    let violated = |r: &CheckReport| {
        r.verdicts
            .iter()
            .find(|v| v.property == "at most one refund per capture")
            .map(|v| v.outcome.clone())
            .expect("property")
    };
    let Outcome::Violated { trace, .. } = violated(&ours) else {
        panic!("not violated: {:?}", ours.verdicts);
    };
    assert_eq!(trace.len(), 12, "{trace:#?}");
    assert_eq!(violated(&ours), violated(&theirs));
    // Stopped before exploring everything.
    assert!(ours.unique_states < run(&race, Engine::Compiled, false).unique_states);
}

/// A state first reached by a run that met the goal, and later by one that never did, after
/// it was expanded: the goal-missing run to the end must still be found.
const JOIN: &str = "workflow: join
roles: [shop]
variables:
  step: [start, up, m1, m2, x, end]
  flag: [down, up]
actions:
  - name: raise
    by: [shop]
    guard: [step == start]
    effect: [step = up, flag = up]
  - name: detour
    by: [shop]
    guard: [step == start]
    effect: [step = m1]
  - name: lower
    by: [shop]
    guard: [step == up]
    effect: [step = x, flag = down]
  - name: walk
    by: [shop]
    guard: [step == m1]
    effect: [step = m2]
  - name: join
    by: [shop]
    guard: [step == m2]
    effect: [step = x]
  - name: finish
    by: [shop]
    guard: [step == x]
    effect: [step = end]
properties:
  - name: the flag is raised on every run
    eventually: [flag == up]
";

#[test]
fn eventually_is_judged_on_every_path_to_a_shared_state() {
    let report = run(JOIN, Engine::Compiled, false);
    let Outcome::Violated { trace, detail } = &report.verdicts[0].outcome else {
        panic!("not violated: {:?}", report.verdicts);
    };
    let actions: Vec<&str> = trace
        .iter()
        .map(|s| s.split('`').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(actions, ["detour", "walk", "join", "finish"], "{trace:#?}");
    assert!(detail.contains("ends without"), "{detail}");
    // With the goal met on that path too, the property holds.
    let fixed = JOIN.replace("effect: [step = m1]", "effect: [step = m1, flag = up]");
    let report = run(&fixed, Engine::Compiled, false);
    assert_eq!(report.verdicts[0].outcome, Outcome::Holds);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Variants of the shipped models: every request sent up to `sends` times, `replays`
    /// replays, and the refund atomic or not.
    #[test]
    fn both_engines_agree_on_variants(
        model in 0..MODELS.len(),
        sends in 1u8..=2,
        replays in 0u8..=1,
        atomic in any::<bool>(),
    ) {
        let base = text(MODELS[model]);
        let mut variant = base
            .replace("    request: true\n", &format!("    request: true\n    sends: {sends}\n"))
            .replace("replays: 1", &format!("replays: {replays}"))
            .replace("replays: 2", &format!("replays: {replays}"));
        variant = if atomic {
            variant.replace("atomic: false", "atomic: true")
        } else {
            variant.replace("atomic: true", "atomic: false")
        };
        assert_same(&format!("{} sends {sends} replays {replays} atomic {atomic}", MODELS[model]), &variant);
    }
}
