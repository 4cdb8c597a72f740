//! `ensuresec diagnose`: what is actually broken, from the asset model and the symptoms
//! (observations from a file and/or live probes), as a table or JSON; with `--plan` the
//! recovery plan for the most likely cause (a dry run), with `--execute` its approved run
//! (crates/recovery, docs/recovery.md).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ensuresec_recovery::assess::{Assessment, assess};
use ensuresec_recovery::audit::AuditSink;
use ensuresec_recovery::config::RecoveryConfig;
use ensuresec_recovery::execute::{Approval, Context as RunContext, Outcome, execute};
use ensuresec_recovery::hitting::HsOptions;
use ensuresec_recovery::plan::Plan;
use ensuresec_recovery::probe::{Heartbeats, Prober};
use ensuresec_recovery::{DepGraph, DiagnosisReport, Observation};
use ensuresec_server::ledger::{RecordKind, inbox};
use owo_colors::OwoColorize;

use super::audit::colour;

/// Largest observations, heartbeats or recovery file read.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;
/// Exit code when the plan ran but the shop did not come back healthy.
const NOT_RECOVERED: u8 = 3;

/// `ensuresec diagnose …`
#[derive(clap::Args)]
pub struct Args {
    /// The asset model [default: `assets.file` of the configuration, else the reference shop].
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Probes and recovery actions (`recovery.yaml`, see docs/recovery.md).
    #[arg(long)]
    recovery: Option<PathBuf>,
    /// Observations as a JSON list of {asset, health, at, source, detail}.
    #[arg(long)]
    observations: Option<PathBuf>,
    /// Run the probes of the recovery file now and use their results.
    #[arg(long)]
    probe: bool,
    /// Last event times of heartbeat sources, a JSON object {source: RFC 3339 time}.
    #[arg(long)]
    heartbeats: Option<PathBuf>,
    /// Largest set of simultaneously faulty assets considered.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=6))]
    max_size: u8,
    /// Candidates shown.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Show the recovery plan for the most likely candidate (nothing is run).
    #[arg(long)]
    plan: bool,
    /// Run the plan; needs `--approved-by` and the audit log (`ledger.enabled`).
    #[arg(long, requires = "approved_by")]
    execute: bool,
    /// Who approves running the plan (recorded in the audit log with every step).
    #[arg(long)]
    approved_by: Option<String>,
    /// Why the plan is run, recorded with the approval.
    #[arg(long, requires = "execute")]
    reason: Option<String>,
    /// Configuration file [default: ./ensuresec.toml when present].
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data directory (the audit log inbox is there) [default: ./ensuresec-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn now() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // a CLI edge: observations and steps are stamped now
    Utc::now()
}

fn read(path: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .with_context(|| format!("opening {}", path.display()))?
        .take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        bail!(
            "{}: over the limit of {MAX_INPUT_BYTES} bytes",
            path.display()
        );
    }
    Ok(text)
}

/// Records plan steps in the audit log through its inbox (the server may hold the log open).
struct InboxAudit {
    data_dir: PathBuf,
}

impl AuditSink for InboxAudit {
    fn record(&self, record: &serde_json::Value) -> Result<(), String> {
        inbox::submit(&self.data_dir, RecordKind::Recovery, now(), record)
            .map_err(|e| e.to_string())
    }
}

/// Runs the subcommand.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = super::load_config(args.config.as_deref(), args.data_dir.clone())?;
    let model_file = args.assets.clone().or_else(|| config.assets.file.clone());
    let model = ensuresec_server::assets::load(model_file.as_deref(), model_file.is_none())
        .context("asset model")?;
    let graph = DepGraph::from_model(&model);
    let recovery = match &args.recovery {
        Some(p) => RecoveryConfig::from_yaml(&p.display().to_string(), &read(p)?, &graph)?,
        None => RecoveryConfig::default(),
    };
    if (args.probe || args.plan || args.execute) && args.recovery.is_none() {
        bail!("--probe, --plan and --execute need --recovery FILE (the probes and actions)");
    }
    let heartbeats: Heartbeats = match &args.heartbeats {
        Some(p) => serde_json::from_str(&read(p)?)
            .with_context(|| format!("{}: expected {{source: time}}", p.display()))?,
        None => HashMap::new(),
    };
    let mut observations: Vec<Observation> = match &args.observations {
        Some(p) => serde_json::from_str(&read(p)?)
            .with_context(|| format!("{}: expected a list of observations", p.display()))?,
        None => Vec::new(),
    };
    let prober = Prober::new();
    if args.probe {
        observations.extend(prober.run_all(&recovery.probes, &heartbeats, now()).await);
    }
    let options = HsOptions {
        max_size: usize::from(args.max_size),
        ..HsOptions::default()
    };
    let Assessment {
        diagnosis: report,
        plan,
        ..
    } = assess(
        &model,
        &recovery,
        &HashMap::new(),
        observations,
        options,
        args.top,
    )?;
    let plan = plan.filter(|_| args.plan || args.execute);

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "diagnosis": report, "plan": plan })
            )?
        );
    } else {
        print_report(&report);
        if let Some(plan) = &plan {
            print_plan(plan);
        }
    }
    if !args.execute {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(plan) = plan else {
        println!("nothing to recover: no asset is observed faulty");
        return Ok(ExitCode::SUCCESS);
    };
    if !config.ledger.enabled {
        bail!("--execute records every step in the audit log; enable [ledger] first");
    }
    let approval = Approval {
        by: args.approved_by.clone().unwrap_or_default(),
        at: now(),
        via: "ensuresec diagnose --execute".into(),
        reason: args.reason.clone(),
    };
    let audit = InboxAudit {
        data_dir: config.storage.data_dir.clone(),
    };
    let known = move || heartbeats.clone();
    let cx = RunContext {
        config: &recovery,
        prober: &prober,
        heartbeats: &known,
        audit: &audit,
        now: &now,
    };
    let run = execute(&plan, approval, &cx).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["#", "step", "outcome", "detail"]);
        for s in &run.steps {
            let (text, c) = match s.outcome {
                Outcome::Done => ("done", Color::Green),
                Outcome::Failed => ("FAILED", Color::Red),
                Outcome::Skipped => ("skipped", Color::Yellow),
            };
            t.add_row([
                Cell::new(s.number),
                Cell::new(&s.step),
                if colour() {
                    Cell::new(text).fg(c)
                } else {
                    Cell::new(text)
                },
                Cell::new(&s.detail),
            ]);
        }
        println!("{t}");
        println!(
            "{}",
            if run.recovered {
                "recovered: every step done, every probe healthy"
            } else {
                "NOT recovered: see the failed step"
            }
        );
    }
    Ok(if run.recovered {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_RECOVERED)
    })
}

fn heading(s: &str) -> String {
    if colour() {
        s.bold().underline().to_string()
    } else {
        s.to_string()
    }
}

fn print_report(r: &DiagnosisReport) {
    println!("{} {} symptom(s)", heading("Symptoms:"), r.symptoms.len());
    for s in &r.symptoms {
        println!("  {s}");
    }
    if !r.exonerated.is_empty() {
        println!(
            "{} {}",
            heading("Observed healthy (with what they depend on):"),
            r.exonerated.join(", ")
        );
    }
    for c in &r.contradictions {
        println!(
            "warning: `{c}` is observed faulty but everything it depends on is observed OK: check the observation or the model"
        );
    }
    if r.candidates.first().is_some_and(|c| c.assets.is_empty()) {
        println!("No asset is observed faulty: nothing to diagnose.");
        return;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["rank", "root cause (faulty together)", "likelihood"]);
    for c in &r.candidates {
        let share = format!("{:5.1} %", c.likelihood * 100.0);
        let cell = if colour() && c.rank == 1 {
            Cell::new(c.assets.join(" + ")).fg(Color::Red)
        } else {
            Cell::new(c.assets.join(" + "))
        };
        t.add_row([Cell::new(c.rank), cell, Cell::new(share)]);
    }
    println!(
        "{} {} candidate(s){}",
        heading("Diagnosis:"),
        r.candidate_count,
        if r.complete {
            String::new()
        } else {
            format!(
                " (search stopped early: more may exist up to size {})",
                r.max_size
            )
        }
    );
    println!("{t}");
    if let Some(best) = r.candidates.first() {
        println!("{}", heading("Why the first:"));
        for line in &best.reasoning {
            println!("  {line}");
        }
    }
    if !r.next_probes.is_empty() {
        println!("{}", heading("Most informative next probes:"));
        for p in &r.next_probes {
            println!("  {} ({:.2} bits): {}", p.asset, p.entropy_bits, p.reason);
        }
    }
}

fn print_plan(plan: &Plan) {
    println!(
        "{} for {} (dry run: nothing is executed without --execute)",
        heading("Recovery plan"),
        plan.diagnosis.join(" + ")
    );
    for (n, s) in plan.steps.iter().enumerate() {
        println!("  {:>2}. {}", n + 1, s.describe());
    }
}
