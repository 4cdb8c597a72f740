//! Precision, recall and detection delay of every behaviour scenario on a simulated shop day with
//! labelled attacks: the simulator's own campaigns (`mixed`) plus this crate's generated ones.
//!
//! `cargo run --release -p ensuresec-behaviour --example evaluate -- [hours] [rate] [seed]`

use chrono::{Duration, TimeZone, Utc};
use ensuresec_behaviour::RuleSet;
use ensuresec_behaviour::eval::{self, Evaluation, campaigns};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let hours: i64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(6);
    let rate: f64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(20.0);
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let start = Utc
        .with_ymd_and_hms(2026, 11, 21, 6, 0, 0)
        .single()
        .ok_or("start time")?;
    let span = Duration::hours(hours);
    let profile = Profile::from_yaml("shop.yaml", DEFAULT_PROFILE)?;
    let host = profile.shop.host.clone();
    let sim = Simulator::new(SimConfig {
        seed,
        start,
        rate,
        scenario: Scenario::named("mixed")?,
        profile,
        campaigns_per_hour: Some(4.0),
    })?;
    let end = start + span;
    let shop = sim.take_while(move |e| e.time < end);
    // Generated campaigns start after an hour so that the baselines and the anomaly model have
    // learned normal traffic, as they would have in production.
    let warm = Duration::hours(1);
    let mut extra = campaigns::campaigns(
        seed,
        start + warm,
        span - warm - Duration::minutes(20),
        &host,
        &campaigns::KINDS,
        3,
    );
    extra.extend(campaigns::background_flows(seed, start, span, 20.0));
    extra.sort_by_key(|e| e.time);
    let rules = RuleSet::builtin()?;
    let mut detectors = eval::all_detectors(&rules);
    let mut evaluation = Evaluation::new(eval::default_expectations());
    let began = std::time::Instant::now();
    eval::run(
        eval::merge_by_time(shop, extra),
        &mut detectors,
        &mut evaluation,
    );
    let elapsed = began.elapsed();
    println!(
        "# {} events, {hours} h simulated at {rate} ev/s + campaigns, seed {seed}, {:.1} s",
        evaluation.events(),
        elapsed.as_secs_f64()
    );
    println!();
    println!(
        "| scenario (truth) | attackers | detected | recall | alerts | precision | median delay s | p95 delay s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in evaluation.scenarios() {
        let d = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
        println!(
            "| {} | {} | {} | {:.2} | {} | {:.2} | {} | {} |",
            s.truth,
            s.attackers,
            s.detected,
            s.recall(),
            s.alerts,
            s.precision(),
            d(s.median_delay()),
            d(s.p95_delay())
        );
    }
    println!();
    println!("| rule | alerts | true | precision |");
    println!("|---|---:|---:|---:|");
    for (rule, r) in evaluation.rules() {
        println!(
            "| {rule} | {} | {} | {:.2} |",
            r.alerts,
            r.true_alerts,
            r.true_alerts as f64 / r.alerts.max(1) as f64
        );
    }
    Ok(())
}
