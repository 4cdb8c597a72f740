//! Side by side with libmodsecurity3 + OWASP CRS 3.3.4 (driven by `bench/webattack.sh`).
//!
//! * `sidebyside export FILE [BENIGN]` writes the evaluation requests — the CRS v3.3.4 regression
//!   cases ("must fire" and "must not fire") then `BENIGN` generated benign shop requests
//!   (default 100,000) — in the length-prefixed format `bench/modsec/harness.c` reads, with
//!   `Accept-Charset` stripped (Debian's CRS blocks any request carrying it).
//! * `sidebyside compare PL1_RESULTS PL2_RESULTS [BENIGN]` rebuilds the same requests, runs this
//!   engine over them at PL1 and PL2 on one thread, reads the harness's results and prints
//!   detection rate, false-positive rates and requests/s per core for both, and the ratio.
//!
//! A CRS "must fire" case counts as detected when a rule of the same attack class fired (for
//! ModSecurity: a CRS rule of a file of that class); "must not fire" false alarms are counted
//! the same way (an upper bound: labels are per rule, not per request). On benign traffic a false
//! positive is a request flagged at the inbound threshold (5), the CRS blocking decision.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use ensuresec_webattack::{AttackClass, Engine, EngineConfig, InspectRequest};
use support::benign::{Rng, request};
use support::ftw;

const DEFAULT_BENIGN: usize = 100_000;

struct Item {
    /// CRS folder, or `None` for benign traffic.
    folder: Option<String>,
    /// CRS test title and rule id (empty for benign traffic).
    title: String,
    must_fire: bool,
    request: InspectRequest,
}

fn items(benign: usize) -> Vec<Item> {
    let mut out = Vec::new();
    match support::corpus("crs-regression/v3.3.4") {
        Some(root) => {
            for c in ftw::load(&root) {
                out.push(Item {
                    title: format!("{} ({})", c.title, c.rule),
                    folder: Some(c.folder),
                    must_fire: c.must_fire,
                    request: c.request,
                });
            }
        }
        None => eprintln!("(no CRS regression corpus: benign traffic only)"),
    }
    let mut rng = Rng::new(0x5eed);
    for _ in 0..benign {
        out.push(Item {
            title: String::new(),
            folder: None,
            must_fire: false,
            request: request(&mut rng),
        });
    }
    for it in &mut out {
        it.request
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("accept-charset"));
    }
    out
}

fn field(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    writeln!(out, "{}", bytes.len())?;
    out.write_all(bytes)?;
    out.write_all(b"\n")
}

fn export(path: &str, benign: usize) -> std::io::Result<()> {
    let items = items(benign);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (i, it) in items.iter().enumerate() {
        let r = &it.request;
        field(&mut out, i.to_string().as_bytes())?;
        field(&mut out, r.method.as_bytes())?;
        field(&mut out, r.uri.as_bytes())?;
        field(&mut out, r.http_version.as_bytes())?;
        field(&mut out, r.headers.len().to_string().as_bytes())?;
        for (n, v) in &r.headers {
            field(&mut out, n.as_bytes())?;
            field(&mut out, v.as_bytes())?;
        }
        field(&mut out, &r.body)?;
    }
    out.flush()?;
    eprintln!("{} requests written to {path}", items.len());
    Ok(())
}

/// One engine's answer for one request: flagged at the threshold, and the classes that fired.
struct Answer {
    flagged: bool,
    classes: Vec<AttackClass>,
    /// Rule ids that fired.
    ids: Vec<String>,
}

/// Reads the harness's output: answers in request order, and the seconds it spent.
fn modsec_results(path: &str, n: usize) -> (Vec<Answer>, f64) {
    let text = std::fs::read_to_string(path).expect("read harness results");
    let mut answers = Vec::with_capacity(n);
    let mut seconds = 0.0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# seconds ") {
            seconds = rest
                .split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            continue;
        }
        let mut parts = line.split(' ');
        let (Some(_), Some(flag), Some(ids)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let mut classes = Vec::new();
        for id in ids.split(',').filter_map(|s| s.parse::<u32>().ok()) {
            let folder = format!("REQUEST-{}-", id / 1000);
            for c in ftw::classes_for(&folder) {
                if !classes.contains(c) {
                    classes.push(*c);
                }
            }
        }
        answers.push(Answer {
            flagged: flag == "1",
            classes,
            ids: ids.split(',').map(str::to_owned).collect(),
        });
    }
    assert_eq!(answers.len(), n, "the harness answered every request");
    (answers, seconds)
}

/// CPU seconds this process has used (user + system, from `/proc/self/stat`), so that other work
/// on a shared machine does not count; `None` where `/proc` is absent.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some((utime + stime) / 100.0)
}

fn ours(items: &[Item], pl: u8) -> (Vec<Answer>, f64) {
    let engine = Engine::embedded(EngineConfig::at_paranoia(pl)).expect("embedded rules compile");
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let verdicts: Vec<_> = items.iter().map(|it| engine.inspect(&it.request)).collect();
    let seconds = match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => start.elapsed().as_secs_f64(),
    };
    let answers = verdicts
        .into_iter()
        .map(|v| Answer {
            flagged: v.flagged,
            classes: v.findings.iter().map(|f| f.class).collect(),
            ids: v.findings.iter().map(|f| f.rule_id.clone()).collect(),
        })
        .collect();
    (answers, seconds)
}

#[derive(Default)]
struct Score {
    fire: usize,
    detected: usize,
    nofire: usize,
    false_alarms: usize,
    benign: usize,
    benign_flagged: usize,
    per_folder: BTreeMap<String, (usize, usize)>,
}

fn score(items: &[Item], answers: &[Answer]) -> Score {
    let mut s = Score::default();
    for (it, a) in items.iter().zip(answers) {
        match &it.folder {
            Some(folder) => {
                let hit = ftw::classes_for(folder)
                    .iter()
                    .any(|c| a.classes.contains(c));
                if it.must_fire {
                    s.fire += 1;
                    let e = s.per_folder.entry(folder.clone()).or_default();
                    e.0 += 1;
                    if hit {
                        s.detected += 1;
                        e.1 += 1;
                    }
                } else {
                    s.nofire += 1;
                    s.false_alarms += usize::from(hit);
                }
            }
            None => {
                s.benign += 1;
                s.benign_flagged += usize::from(a.flagged);
            }
        }
    }
    s
}

fn pct(a: usize, b: usize) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

fn compare(pl1: &str, pl2: &str, benign: usize) {
    let items = items(benign);
    let n = items.len();
    println!(
        "Side by side on {n} requests ({} CRS v3.3.4 regression cases, {benign} benign shop requests), one thread each, CPU time",
        n - benign
    );
    println!(
        "{:<5} {:<22} {:>16} {:>18} {:>16} {:>12}",
        "PL", "engine", "CRS must-fire", "CRS must-not FA", "benign FP", "requests/s"
    );
    let mut per_folder = Vec::new();
    for (pl, path) in [(1u8, pl1), (2, pl2)] {
        let (theirs, their_secs) = modsec_results(path, n);
        let (mine, my_secs) = ours(&items, pl);
        let (a, b) = (score(&items, &mine), score(&items, &theirs));
        let rps = |secs: f64| n as f64 / secs.max(1e-9);
        for (name, s, secs) in [
            ("ensuresec", &a, my_secs),
            ("libmodsecurity3+CRS", &b, their_secs),
        ] {
            println!(
                "{:<5} {:<22} {:>15.1}% {:>17.1}% {:>15.3}% {:>12.0}",
                format!("PL{pl}"),
                name,
                pct(s.detected, s.fire),
                pct(s.false_alarms, s.nofire),
                pct(s.benign_flagged, s.benign),
                rps(secs),
            );
        }
        println!(
            "{:<5} {:<22} {:>+15.1}pt {:>+16.1}pt {:>+14.3}pt {:>11.1}x",
            format!("PL{pl}"),
            "ensuresec vs modsec",
            pct(a.detected, a.fire) - pct(b.detected, b.fire),
            pct(a.false_alarms, a.nofire) - pct(b.false_alarms, b.nofire),
            pct(a.benign_flagged, a.benign) - pct(b.benign_flagged, b.benign),
            rps(my_secs) / rps(their_secs),
        );
        per_folder.push((pl, a.per_folder, b.per_folder));
        if let Ok(path) = std::env::var("SIDEBYSIDE_GAPS") {
            gaps(&format!("{path}.pl{pl}"), &items, &mine, &theirs);
        }
    }
    println!("\nCRS must-fire detection per rule file (ensuresec / libmodsecurity3+CRS)");
    println!(
        "{:<45} {:>6} {:>15} {:>15}",
        "rule file", "fire", "PL1", "PL2"
    );
    if let [(_, a1, b1), (_, a2, b2)] = per_folder.as_slice() {
        for (folder, (fire, _)) in a1 {
            let get = |m: &BTreeMap<String, (usize, usize)>| m.get(folder).map_or(0, |e| e.1);
            println!(
                "{folder:<45} {fire:>6} {:>7}/{:<7} {:>7}/{:<7}",
                get(a1),
                get(b1),
                get(a2),
                get(b2)
            );
        }
    }
}

/// Writes the cases one engine got right and the other wrong, for rule work.
fn gaps(path: &str, items: &[Item], mine: &[Answer], theirs: &[Answer]) {
    let mut out = String::new();
    for (it, (a, b)) in items.iter().zip(mine.iter().zip(theirs)) {
        let (tag, hit_a, hit_b) = match &it.folder {
            Some(folder) => {
                let cls = ftw::classes_for(folder);
                let hit = |x: &Answer| cls.iter().any(|c| x.classes.contains(c));
                (if it.must_fire { "MISS" } else { "FA" }, hit(a), hit(b))
            }
            None => ("BENIGN", a.flagged, b.flagged),
        };
        let wrong_a = if tag == "MISS" { !hit_a } else { hit_a };
        let wrong_b = if tag == "MISS" { !hit_b } else { hit_b };
        if wrong_a != wrong_b {
            let who = if wrong_a { "ours" } else { "modsec" };
            out.push_str(&format!(
                "{tag} only-{who} {} | ours {:?} | modsec {:?} | {} {} body={:?}\n",
                it.title,
                a.ids,
                b.ids,
                it.request.method,
                it.request.uri,
                String::from_utf8_lossy(&it.request.body)
            ));
        }
    }
    let _ = std::fs::write(path, out);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benign_at = |i: usize| {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_BENIGN)
    };
    match args.get(1).map(String::as_str) {
        Some("export") if args.len() >= 3 => {
            if let Err(e) = export(&args[2], benign_at(3)) {
                eprintln!("export failed: {e}");
                std::process::exit(1);
            }
        }
        Some("compare") if args.len() >= 4 => compare(&args[2], &args[3], benign_at(4)),
        _ => {
            eprintln!(
                "usage: sidebyside export FILE [BENIGN] | sidebyside compare PL1_RESULTS PL2_RESULTS [BENIGN]"
            );
            std::process::exit(2);
        }
    }
}
