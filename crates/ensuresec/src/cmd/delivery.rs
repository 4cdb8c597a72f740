//! `ensuresec delivery evaluate`: simulated delivery days with labelled attacks, run through the
//! same detectors and chains the pipeline registers, scored per attack kind.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use ensuresec_behaviour::RuleSet;
use ensuresec_delivery::DeliveryRules;
use ensuresec_model::{Alert, AlertChain, Detector, Event};
use ensuresec_pipeline::detectors;
use ensuresec_simulator::day::score::{KindScore, Scores, score};
use ensuresec_simulator::day::{DEFAULT_DAY, DayScenario, simulate_day};

/// Subcommands of `ensuresec delivery`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Simulate days of deliveries with labelled attacks, run them through the detectors and print
    /// precision, recall and detection delay per attack kind.
    Evaluate(EvaluateArgs),
}

/// Arguments of `ensuresec delivery evaluate`.
#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// First random seed; days use seeds `seed`, `seed + 1`, …
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many simulated days to score together.
    #[arg(long, default_value_t = 5)]
    days: u64,
    /// The first day (a weekday: staff work Monday to Saturday), RFC 3339.
    #[arg(long, default_value = "2026-11-16T00:00:00Z")]
    day: DateTime<Utc>,
    /// A delivery-day scenario instead of the built-in one.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Delivery rules instead of the built-in ones.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Print the table as Markdown (for bench/RESULTS.md).
    #[arg(long)]
    markdown: bool,
    /// Write every alert (NDJSON) to this file, to look into misses and false positives.
    #[arg(long)]
    alerts: Option<PathBuf>,
    /// Write the ground truth (NDJSON) of all days to this file.
    #[arg(long)]
    labels: Option<PathBuf>,
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Evaluate(args) => evaluate(args),
    }
}

/// Loads the delivery-day scenario from `path`, or the built-in one.
pub fn load_scenario(path: Option<&PathBuf>) -> anyhow::Result<DayScenario> {
    Ok(match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            DayScenario::from_yaml(&p.display().to_string(), &text)?
        }
        None => DayScenario::from_yaml("delivery.yaml (built in)", DEFAULT_DAY)?,
    })
}

fn evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let scenario = load_scenario(args.scenario.as_ref())?;
    let rules = Arc::new(match &args.rules {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            DeliveryRules::from_yaml(&p.display().to_string(), &text)?
        }
        None => DeliveryRules::builtin()?,
    });
    let behaviour = RuleSet::builtin().context("behaviour rules")?;
    let (mut events, mut truth, mut alerts) = (0usize, Vec::new(), Vec::new());
    let mut total: Option<Scores> = None;
    for d in 0..args.days {
        let day = args.day + chrono::Duration::days(d as i64);
        let run = simulate_day(&scenario, args.seed + d, day);
        let found = detect(&run.events, &behaviour, rules.clone());
        let scores = score(&run.truth, &run.events, &found);
        events += run.events.len();
        truth.extend(run.truth);
        alerts.extend(found);
        total = Some(match total {
            None => scores,
            Some(t) => merge(t, scores),
        });
    }
    let scores = total.unwrap_or_default();
    write_lines(args.alerts.as_ref(), &alerts)?;
    write_lines(args.labels.as_ref(), &truth)?;
    println!(
        "{} days, {events} events, {} attacks injected, {} alerts",
        args.days,
        truth.len(),
        alerts.len()
    );
    print_table(&scores, args.markdown);
    Ok(ExitCode::SUCCESS)
}

/// Every event through one instance of each detector the pipeline registers for the delivery
/// and behaviour modules (one partition: each grouped detector sees the events that carry its
/// entity), then every alert through the chains, in order.
pub fn detect(events: &[Event], behaviour: &RuleSet, rules: Arc<DeliveryRules>) -> Vec<Alert> {
    let mut factories = detectors::threshold(behaviour);
    factories.extend(detectors::delivery(rules.clone()));
    let mut instances: Vec<Box<dyn Detector>> = factories.iter().map(|f| f()).collect();
    let mut alerts = Vec::new();
    for e in events {
        let t = e.event_type();
        for d in &mut instances {
            let owned = d.group_by().is_none_or(|k| e.entity(k).is_some());
            if owned && d.accepts(t) {
                d.on_event(e, &mut alerts);
            }
        }
    }
    let mut chains: Vec<Box<dyn AlertChain>> = detectors::delivery_chains(rules);
    let mut derived = Vec::new();
    for chain in &mut chains {
        for a in &alerts {
            chain.on_alert(a, &mut derived);
        }
    }
    alerts.extend(derived);
    alerts
}

fn write_lines<T: serde::Serialize>(path: Option<&PathBuf>, items: &[T]) -> anyhow::Result<()> {
    use std::io::Write;
    let Some(path) = path else { return Ok(()) };
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for item in items {
        serde_json::to_writer(&mut out, item)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn merge(mut a: Scores, b: Scores) -> Scores {
    for k in b.kinds {
        match a.kinds.iter_mut().find(|x| x.kind == k.kind) {
            Some(x) => {
                x.injected += k.injected;
                x.detected += k.detected;
                x.alerts += k.alerts;
                x.true_alerts += k.true_alerts;
                x.delay_seconds.extend(k.delay_seconds);
                x.delay_readings.extend(k.delay_readings);
            }
            None => a.kinds.push(k),
        }
    }
    for (rule, n) in b.other_alerts {
        *a.other_alerts.entry(rule).or_default() += n;
    }
    a.kinds.sort_by(|x, y| x.kind.cmp(&y.kind));
    a
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.2}", x))
}

fn median_max<T: Copy + Ord>(v: &[T]) -> Option<(T, T)> {
    let mut s = v.to_vec();
    s.sort_unstable();
    Some((*s.get(s.len() / 2)?, *s.last()?))
}

fn minutes(v: &[i64]) -> String {
    median_max(v).map_or("—".into(), |(m, x)| {
        format!("{:.1} / {:.1}", m as f64 / 60.0, x as f64 / 60.0)
    })
}

fn readings(v: &[usize]) -> String {
    median_max(v).map_or("—".into(), |(m, x)| format!("{m} / {x}"))
}

fn row(k: &KindScore) -> Vec<String> {
    vec![
        k.kind.clone(),
        k.injected.to_string(),
        k.detected.to_string(),
        format!("{}/{}", k.true_alerts, k.alerts),
        ratio(k.precision()),
        ratio(k.recall()),
        minutes(&k.delay_seconds),
        readings(&k.delay_readings),
    ]
}

const HEADER: [&str; 8] = [
    "attack",
    "injected",
    "detected",
    "true/all alerts",
    "precision",
    "recall",
    "delay min (median / max)",
    "delay readings (median / max)",
];

fn print_table(scores: &Scores, markdown: bool) {
    if markdown {
        println!("| {} |", HEADER.join(" | "));
        println!("|{}", "---|".repeat(HEADER.len()));
        for k in &scores.kinds {
            println!("| {} |", row(k).join(" | "));
        }
    } else {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header(HEADER);
        for k in &scores.kinds {
            table.add_row(row(k));
        }
        println!("{table}");
    }
    if !scores.other_alerts.is_empty() {
        let other: Vec<String> = scores
            .other_alerts
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        println!("other alerts (no attack kind): {}", other.join(", "));
    }
}
