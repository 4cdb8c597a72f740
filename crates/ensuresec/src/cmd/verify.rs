//! `ensuresec verify workflow FILE`: model-checks a commerce workflow against its security
//! properties and prints, for each violated one, a minimal counterexample in plain words.
//! Exit codes: 0 every property holds, 1 a property fails, 2 bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ensuresec_prevention::workflow::{self, CheckReport, Engine, Options, Outcome, Workflow};

/// `ensuresec verify …`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a workflow model (YAML) exhaustively, with an attacker who replays, reorders and
    /// races requests.
    Workflow(WorkflowArgs),
    /// Verify a certificate written by `--certify`.
    Certificate(super::certify::VerifyArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Verdicts and counterexamples for people.
    Text,
    /// The report as JSON.
    Json,
}

/// The search engines, by name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// Our breadth-first search over bit-packed states (fast, one thread).
    Compiled,
    /// stateright's checker (multi-threaded), the cross-checking reference.
    Stateright,
}

/// Arguments of `ensuresec verify workflow`.
#[derive(clap::Args)]
pub struct WorkflowArgs {
    /// The workflow model (see docs/prevention.md for the language).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Search engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Compiled)]
    engine: EngineArg,
    /// Threads of the stateright engine (default: all cores; the compiled engine uses one).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop at the first violated property.
    #[arg(long)]
    stop_at_first: bool,
    #[command(flatten)]
    certify: super::certify::CertifyArgs,
}

/// Runs `ensuresec verify`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Workflow(args) => verify(args),
        Command::Certificate(args) => super::certify::verify(args),
    }
}

fn verify(args: WorkflowArgs) -> anyhow::Result<ExitCode> {
    let wf = match Workflow::from_file(&args.file) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut options = Options {
        stop_at_first_violation: args.stop_at_first,
        engine: match args.engine {
            EngineArg::Compiled => Engine::Compiled,
            EngineArg::Stateright => Engine::Stateright,
        },
        ..Options::default()
    };
    if let Some(t) = args.threads {
        options.threads = t;
    }
    let checked: Vec<String> = wf
        .properties
        .iter()
        .map(|p| format!("{:?} {}", p.kind, p.name).to_lowercase())
        .collect();
    let started = Instant::now();
    let report = workflow::check(wf, options);
    let seconds = started.elapsed().as_secs_f64();
    let text = match args.format {
        Format::Json => {
            let mut v = serde_json::to_value(&report)?;
            v["seconds"] = serde_json::json!(seconds);
            serde_json::to_string_pretty(&v)? + "\n"
        }
        Format::Text => human(&report, seconds),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    let failing: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| v.failed())
        .map(|v| v.property.as_str())
        .collect();
    let statement = ensuresec_prevention::certificate::Statement {
        check: "workflow-check".into(),
        tool: format!("ensuresec {}", env!("CARGO_PKG_VERSION")),
        time: super::certify::now(),
        files: vec![(args.file.display().to_string(), report.sha256.clone())],
        checked,
        verdict: if report.passed() { "pass" } else { "fail" }.into(),
        summary: format!(
            "{} states{}; failing: {}",
            report.unique_states,
            if report.complete {
                ""
            } else {
                " (stopped early)"
            },
            if failing.is_empty() {
                "none".to_string()
            } else {
                failing.join("; ")
            }
        ),
    };
    super::certify::issue(&args.certify, &statement)?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn human(report: &CheckReport, seconds: f64) -> String {
    let rate = report.unique_states as f64 / seconds.max(1e-9);
    let mut out = format!(
        "{}: {} states ({} generated, depth {}) in {:.3} s, {:.0} states/s{}\n\n",
        report.workflow,
        report.unique_states,
        report.generated_states,
        report.max_depth,
        seconds,
        rate,
        if report.complete {
            ""
        } else {
            " (stopped at the first violation)"
        }
    );
    for v in &report.verdicts {
        let (mark, tail) = match &v.outcome {
            Outcome::Holds => ("holds", String::new()),
            Outcome::Reachable { trace } => ("reachable", format!(" in {} steps", trace.len())),
            Outcome::Unreachable => ("NEVER REACHED", String::new()),
            Outcome::Undecided => ("undecided", String::new()),
            Outcome::Violated { trace, .. } => ("VIOLATED", format!(" in {} steps", trace.len())),
        };
        out.push_str(&format!("[{mark}] {} {}{tail}\n", v.kind, v.property));
        if let Outcome::Violated { trace, detail } = &v.outcome {
            out.push_str("  counterexample:\n");
            for (i, step) in trace.iter().enumerate() {
                out.push_str(&format!("  {:>3}. {step}\n", i + 1));
            }
            out.push_str(&format!("  then: {detail}\n"));
        }
    }
    out
}
