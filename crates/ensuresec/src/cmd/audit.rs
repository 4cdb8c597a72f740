//! `ensuresec audit api SPEC`: the OpenAPI security audit, as a table for people, JSON or SARIF.
//! Exit codes for CI: 0 nothing at or above `--fail-on`, 1 findings at or above it, 2 bad input.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ensuresec_prevention::{Limits, Report, RuleSet, Severity, Spec};
use owo_colors::OwoColorize;

/// Exit code of a description or rules file that cannot be read.
const BAD_INPUT: u8 = 2;
/// Exit code when findings reach `--fail-on`.
const FINDINGS: u8 = 1;

/// `ensuresec audit …`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Audit an OpenAPI 3.0/3.1 description (YAML or JSON) against the OWASP API Security Top 10.
    Api(ApiArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// The findings as JSON.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// Severities for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    /// Any finding.
    Info,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
    /// Never fail on findings (exit 0 unless the input is bad).
    Never,
}

impl SeverityArg {
    fn threshold(self) -> Option<Severity> {
        match self {
            Self::Info => Some(Severity::Info),
            Self::Low => Some(Severity::Low),
            Self::Medium => Some(Severity::Medium),
            Self::High => Some(Severity::High),
            Self::Critical => Some(Severity::Critical),
            Self::Never => None,
        }
    }
}

/// Arguments of `ensuresec audit api`.
#[derive(clap::Args)]
pub struct ApiArgs {
    /// The root file of the description; files it `$ref`s are read too.
    spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the output to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = SeverityArg::Medium)]
    fail_on: SeverityArg,
    /// A rules file replacing the built-in texts and parameters (see docs/prevention.md).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Largest file of the description, in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_bytes: u64,
    #[command(flatten)]
    certify: super::certify::CertifyArgs,
}

/// Runs `ensuresec audit`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Api(args) => api(args),
    }
}

fn api(args: ApiArgs) -> anyhow::Result<ExitCode> {
    let rules = match &args.rules {
        Some(path) => match RuleSet::from_file(path) {
            Ok(r) => r,
            Err(e) => return Ok(bad_input(&e)),
        },
        None => RuleSet::builtin(),
    };
    let limits = Limits {
        max_file_bytes: args.max_file_bytes,
        ..Limits::default()
    };
    let spec = match ensuresec_prevention::load(&args.spec, limits) {
        Ok(s) => s,
        Err(e) => return Ok(bad_input(&e)),
    };
    let report = ensuresec_prevention::audit(&spec, &rules);
    let text = match args.format {
        Format::Json => pretty(&ensuresec_prevention::report::json(&spec, &report))?,
        Format::Sarif => pretty(&ensuresec_prevention::report::sarif(
            &rules,
            &report,
            env!("CARGO_PKG_VERSION"),
        ))?,
        Format::Text => human(&spec, &report, args.output.is_none() && colour()),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    let failed = args
        .fail_on
        .threshold()
        .is_some_and(|t| report.at_least(t) > 0);
    super::certify::issue(
        &args.certify,
        &statement(&spec, &rules, &report, args.fail_on, failed),
    )?;
    Ok(if failed {
        ExitCode::from(FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

/// What a certificate of this audit states.
fn statement(
    spec: &Spec,
    rules: &RuleSet,
    report: &Report,
    fail_on: SeverityArg,
    failed: bool,
) -> ensuresec_prevention::certificate::Statement {
    let threshold = fail_on
        .threshold()
        .map_or_else(|| "never".to_string(), |s| s.to_string());
    ensuresec_prevention::certificate::Statement {
        check: "openapi-audit".into(),
        tool: format!("ensuresec {}", env!("CARGO_PKG_VERSION")),
        time: super::certify::now(),
        files: spec
            .files
            .iter()
            .map(|f| (f.path.display().to_string(), f.sha256.clone()))
            .collect(),
        checked: rules.rules.keys().cloned().collect(),
        verdict: if failed { "fail" } else { "pass" }.into(),
        summary: format!(
            "{} operations, {} findings, fail on {threshold}",
            report.operations,
            report.findings.len()
        ),
    }
}

fn bad_input(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(BAD_INPUT)
}

fn pretty(v: &serde_json::Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}

/// Whether stdout takes colour (a terminal, and `NO_COLOR` unset).
pub(crate) fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn severity_colour(s: Severity) -> Color {
    match s {
        Severity::Critical | Severity::High => Color::Red,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Cyan,
        Severity::Info => Color::Grey,
    }
}

/// The findings as a table, then each rule's explanation and fix once.
fn human(spec: &Spec, report: &Report, colour: bool) -> String {
    let mut out = String::new();
    let files = spec.files.len();
    let head = format!(
        "{}: {} operations, {} file{}, {} findings\n",
        spec.files[0].path.display(),
        report.operations,
        files,
        if files == 1 { "" } else { "s" },
        report.findings.len()
    );
    out.push_str(&if colour {
        head.bold().to_string()
    } else {
        head
    });
    if report.findings.is_empty() {
        return out;
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["severity", "OWASP", "rule", "where", "finding"]);
    if !colour {
        table.force_no_tty();
    }
    for f in &report.findings {
        let mut sev = Cell::new(f.severity);
        if colour {
            sev = sev.fg(severity_colour(f.severity));
        }
        table.add_row([
            sev,
            Cell::new(f.owasp.code()),
            Cell::new(&f.rule),
            Cell::new(format!("{}:{}\n#{}", f.file.display(), f.line, f.pointer)),
            Cell::new(&f.message),
        ]);
    }
    out.push_str(&table.to_string());
    out.push_str("\n\n");
    let mut seen = std::collections::BTreeSet::new();
    for f in &report.findings {
        if seen.insert(&f.rule) {
            let title = format!(
                "{} — {} ({} {})",
                f.rule,
                f.title,
                f.owasp.code(),
                f.owasp.name()
            );
            out.push_str(&if colour {
                title.bold().to_string()
            } else {
                title
            });
            out.push_str(&format!("\n  why: {}\n  fix: {}\n", f.explanation, f.fix));
        }
    }
    out
}
