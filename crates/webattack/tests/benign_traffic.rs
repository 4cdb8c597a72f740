//! False positives on 100,000 generated benign shop requests (browse, search, cart, checkout,
//! reviews, JSON APIs): the target is at most 0.1 % flagged at paranoia level 1.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::BTreeMap;

use ensuresec_webattack::{Engine, EngineConfig};
use support::benign::{Rng, request};

const REQUESTS: usize = 100_000;

// PL1 carries the target; PL2 is reported on a fifth of the stream to keep CI short. The
// two levels are separate tests so that they run side by side.
#[test]
fn benign_shop_traffic_false_positives_at_paranoia_1() {
    false_positives(1, REQUESTS, 0.1);
}

#[test]
fn benign_shop_traffic_false_positives_at_paranoia_2() {
    false_positives(2, REQUESTS / 5, 1.0);
}

/// Inspects `requests` generated benign requests at paranoia level `pl`, prints what was
/// flagged and by which rules, and fails when more than `max_pct` % were flagged.
fn false_positives(pl: u8, requests: usize, max_pct: f64) {
    let engine = Engine::embedded(EngineConfig::at_paranoia(pl)).expect("rules compile");
    let mut rng = Rng::new(0x5eed);
    let mut flagged = 0usize;
    let mut any = 0usize;
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut example: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..requests {
        let r = request(&mut rng);
        let v = engine.inspect(&r);
        if v.flagged {
            flagged += 1;
        }
        if !v.findings.is_empty() {
            any += 1;
        }
        for f in &v.findings {
            *by_rule.entry(f.rule_id.clone()).or_default() += 1;
            example
                .entry(f.rule_id.clone())
                .or_insert_with(|| format!("{}={:?} ({})", f.field, f.value, r.uri));
        }
    }
    let pct = 100.0 * flagged as f64 / requests as f64;
    println!(
        "PL{pl}: {flagged} of {requests} benign requests flagged ({pct:.3}%), {any} with any finding; by rule: {by_rule:?}"
    );
    for (rule, ex) in &example {
        println!("  {rule}: e.g. {ex}");
    }
    assert!(
        pct <= max_pct,
        "PL{pl} flags {pct:.3}% of benign traffic (limit {max_pct}%)"
    );
}
