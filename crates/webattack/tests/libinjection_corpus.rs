//! libinjection's own sample files: detection rate of our SQLi and XSS classes on the attack
//! samples, and false positives on `false_positives.txt`. Each payload is sent as the value of a
//! form field, as a browser would.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use ensuresec_webattack::{AttackClass, Engine, EngineConfig};

struct Rate {
    total: usize,
    hit: usize,
}

fn rate(engine: &Engine, lines: &[Vec<u8>], class: AttackClass) -> Rate {
    let hit = lines
        .iter()
        .filter(|l| engine.inspect(&support::form_post(l)).has_class(class))
        .count();
    Rate {
        total: lines.len(),
        hit,
    }
}

#[test]
fn libinjection_samples() {
    let Some(dir) = support::corpus("libinjection/data") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let by_prefix = |p: &str| -> Vec<Vec<u8>> {
        files
            .iter()
            .filter(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(p))
            })
            .flat_map(|f| support::sample_lines(f))
            .collect()
    };
    let sqli = by_prefix("sqli-");
    let xss = by_prefix("xss-");
    let benign = support::sample_lines(&dir.join("false_positives.txt"));
    assert!(
        sqli.len() > 1000 && xss.len() > 1000 && benign.len() > 100,
        "corpus looks truncated"
    );
    println!(
        "\nlibinjection corpora ({} sqli, {} xss, {} benign samples)",
        sqli.len(),
        xss.len(),
        benign.len()
    );
    println!(
        "{:<4} {:>10} {:>10} {:>14} {:>14}",
        "PL", "sqli det.", "xss det.", "benign FP any", "benign flagged"
    );
    let mut results = Vec::new();
    for pl in 1..=2u8 {
        let engine = Engine::embedded(EngineConfig::at_paranoia(pl)).expect("rules compile");
        let s = rate(&engine, &sqli, AttackClass::Sqli);
        let x = rate(&engine, &xss, AttackClass::Xss);
        let fp_any = benign
            .iter()
            .filter(|l| !engine.inspect(&support::form_post(l)).findings.is_empty())
            .count();
        let fp_flag = benign
            .iter()
            .filter(|l| engine.inspect(&support::form_post(l)).flagged)
            .count();
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        println!(
            "{pl:<4} {:>9.1}% {:>9.1}% {:>13.1}% {:>13.1}%",
            pct(s.hit, s.total),
            pct(x.hit, x.total),
            pct(fp_any, benign.len()),
            pct(fp_flag, benign.len())
        );
        results.push((
            pct(s.hit, s.total),
            pct(x.hit, x.total),
            pct(fp_flag, benign.len()),
        ));
    }
    // Floors a little under the measured figures, so a regression fails.
    let (s1, x1, fp1) = results[0];
    assert!(s1 >= 85.0, "PL1 sqli detection fell to {s1:.1}%");
    assert!(x1 >= 85.0, "PL1 xss detection fell to {x1:.1}%");
    assert!(
        fp1 <= 25.0,
        "PL1 flags {fp1:.1}% of libinjection's false-positive samples"
    );
}
