//! The workflow checker on the shipped models and on small hand-written ones: the known flaw
//! is found with a minimal trace, the fixed models pass, language errors name what is wrong.

use std::path::PathBuf;

use ensuresec_prevention::workflow::{CheckReport, Options, Outcome, Workflow, check};

fn model(name: &str) -> Workflow {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    Workflow::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn run(wf: Workflow) -> CheckReport {
    check(
        wf,
        Options {
            threads: 2,
            stop_at_first_violation: false,
            ..Options::default()
        },
    )
}

fn outcome<'a>(report: &'a CheckReport, property: &str) -> &'a Outcome {
    &report
        .verdicts
        .iter()
        .find(|v| v.property == property)
        .unwrap_or_else(|| panic!("no property {property}"))
        .outcome
}

#[test]
fn the_refund_race_is_found_with_a_minimal_trace() {
    let report = run(model("webshop-refund-race.yaml"));
    assert!(!report.passed());
    assert!(report.complete);
    let Outcome::Violated { trace, detail } = outcome(&report, "at most one refund per capture")
    else {
        panic!("not violated: {:?}", report.verdicts);
    };
    // The shortest run: place order (send, accept), authorise, capture, ship, lose, the customer's
    // refund request, its replay, two checks, two refunds — 12 steps.
    assert_eq!(trace.len(), 12, "{trace:#?}");
    assert!(
        trace[7].contains("replays customer's `refund`"),
        "{trace:#?}"
    );
    assert_eq!(
        trace
            .iter()
            .filter(|s| s.contains("checks customer's `refund`"))
            .count(),
        2
    );
    assert!(trace[11].contains("refunds 1 → 2"), "{trace:#?}");
    assert!(
        detail.contains("refunds <= 1") && detail.contains("refunds = 2"),
        "{detail}"
    );
    for holds in [
        "no shipment without a captured payment",
        "only the order's owner can cancel",
        "refund only after return or non-delivery",
        "every order ends cancelled, returned or lost, or stays with the customer",
    ] {
        assert_eq!(outcome(&report, holds), &Outcome::Holds, "{holds}");
    }
}

#[test]
fn the_fixed_models_pass() {
    for name in [
        "webshop.yaml",
        "pharmacy-delivery.yaml",
        "bank-payments.yaml",
    ] {
        let report = run(model(name));
        assert!(report.passed(), "{name}: {:#?}", report.verdicts);
        assert!(
            report.unique_states > 100,
            "{name}: {}",
            report.unique_states
        );
        // Every model shows that it can do its job (a `sometimes` property is reached).
        assert!(
            report
                .verdicts
                .iter()
                .any(|v| matches!(v.outcome, Outcome::Reachable { .. })),
            "{name}"
        );
    }
}

#[test]
fn a_missing_ownership_check_lets_the_attacker_cancel() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/webshop.yaml");
    let text = std::fs::read_to_string(path).expect("model");
    let flawed = text.replace(
        "guard: [actor == customer, order == placed, payment in none | authorized]",
        "guard: [order == placed, payment in none | authorized]",
    );
    assert_ne!(text, flawed);
    let report = run(Workflow::parse(&flawed, "mutated.yaml").expect("compiles"));
    let Outcome::Violated { trace, .. } = outcome(&report, "only the order's owner can cancel")
    else {
        panic!("not violated");
    };
    // place order (send, accept), the attacker's cancel (send, accept).
    assert_eq!(trace.len(), 4, "{trace:#?}");
    assert!(
        trace[3].contains("accepts attacker's `cancel`"),
        "{trace:#?}"
    );
}

const SMALL: &str = "workflow: t\nroles: [customer, attacker]\nvariables:\n  door: [closed, open]\n  opens: {max: 2}\nactions:\n  - name: open\n    by: [customer]\n    guard: [door == closed]\n    effect: [door = open, opens += 1]\n";

#[test]
fn unreachable_goals_and_unmet_liveness_fail() {
    let text = format!(
        "{SMALL}properties:\n  - name: never twice\n    always: [opens <= 1]\n  - name: opened twice\n    sometimes: [opens == 2]\n  - name: ends open\n    eventually: [door == open]\n"
    );
    let report = run(Workflow::parse(&text, "t.yaml").expect("compiles"));
    assert_eq!(outcome(&report, "never twice"), &Outcome::Holds);
    assert_eq!(outcome(&report, "opened twice"), &Outcome::Unreachable);
    assert_eq!(outcome(&report, "ends open"), &Outcome::Holds);
    assert!(!report.passed());

    let stuck = "workflow: t\nroles: [customer]\nvariables:\n  door: [closed, open]\n  locked: [no, yes]\nactions:\n  - name: open\n    by: [customer]\n    guard: [door == closed, locked == no]\n    effect: [door = open]\n  - name: lock\n    by: [customer]\n    guard: [door == closed, locked == no]\n    effect: [locked = yes]\nproperties:\n  - name: ends open\n    eventually: [door == open]\n";
    let report = run(Workflow::parse(stuck, "t.yaml").expect("compiles"));
    let Outcome::Violated { trace, detail } = outcome(&report, "ends open") else {
        panic!("not violated: {:?}", report.verdicts);
    };
    assert!(trace.iter().any(|s| s.contains("`lock`")), "{trace:?}");
    assert!(detail.contains("ends without"), "{detail}");
}

#[test]
fn language_errors_name_the_place() {
    let cases = [
        (
            SMALL.replace("door == closed", "window == closed"),
            "action `open`, guard: `window`",
        ),
        (
            SMALL.replace("door == closed", "door == ajar"),
            "`ajar` in `door == ajar` is not a value of `door`",
        ),
        (
            SMALL.replace("door == closed", "door < 2"),
            "compare counters only",
        ),
        (
            SMALL.replace("opens += 1", "door += 1"),
            "only counters can be incremented",
        ),
        (
            SMALL.replace("by: [customer]", "by: [courier]"),
            "`courier` is not a declared role",
        ),
        (
            SMALL.replace("    effect:", "    atomic: false\n    effect:"),
            "only requests can be non-atomic",
        ),
    ];
    for (text, expected) in cases {
        let text = format!("{text}properties:\n  - name: p\n    always: [opens <= 1]\n");
        let err = Workflow::parse(&text, "w.yaml")
            .expect_err(expected)
            .to_string();
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(err.starts_with("w.yaml: "), "{err}");
    }
    let err = Workflow::parse(
        &format!("{SMALL}properties:\n  - name: p\n    always: [actor == customer]\n"),
        "w.yaml",
    )
    .expect_err("actor in property")
    .to_string();
    assert!(
        err.contains("property `p`") && err.contains("`actor` only has a meaning in actions"),
        "{err}"
    );
    let err = Workflow::parse(&format!("{SMALL}properties:\n  - name: p\n"), "w.yaml")
        .expect_err("no kind")
        .to_string();
    assert!(err.contains("exactly one of"), "{err}");
    let err = Workflow::parse(
        &format!("{SMALL}properties:\n  - name: p\n    alwyas: [opens <= 1]\n"),
        "w.yaml",
    )
    .expect_err("typo")
    .to_string();
    assert!(err.contains("line"), "{err}");
}
