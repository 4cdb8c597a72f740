//! `ensuresec rules list` and `ensuresec rules test [DIR]`: the web-attack rules as data.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ensuresec_webattack::rules::{self, Rule};
use ensuresec_webattack::{Severity, selftest};

/// Rule subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the web-attack rules as a table: id, family, paranoia level, severity, description.
    List {
        /// Only rules active at this paranoia level (1–4) [default: all].
        #[arg(long, short, value_parser = clap::value_parser!(u8).range(1..=4))]
        paranoia: Option<u8>,
        /// A directory of extra rule files, listed after the shipped ones.
        #[arg(long)]
        rules_dir: Option<PathBuf>,
    },
    /// Run the test cases embedded in rule files; exits non-zero when one fails.
    Test {
        /// A directory of rule files to test [default: the shipped rules].
        dir: Option<PathBuf>,
    },
}

/// Runs the subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List {
            paranoia,
            rules_dir,
        } => list(paranoia, rules_dir),
        Command::Test { dir } => test(dir),
    }
}

fn load(dir: Option<&std::path::Path>) -> anyhow::Result<Vec<Rule>> {
    rules::embedded_and_dir(dir).context("loading the web-attack rules")
}

/// The colour of a severity in tables.
pub fn severity_colour(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Red,
        Severity::Error => Color::Magenta,
        Severity::Warning => Color::Yellow,
        Severity::Notice => Color::Cyan,
    }
}

fn list(paranoia: Option<u8>, rules_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let rules = load(rules_dir.as_deref())?;
    let shown: Vec<&Rule> = rules
        .iter()
        .filter(|r| paranoia.is_none_or(|pl| r.paranoia <= pl))
        .collect();
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["id", "family", "PL", "severity", "description"]);
    for r in &shown {
        table.add_row([
            Cell::new(&r.id),
            Cell::new(&r.family),
            Cell::new(r.paranoia),
            Cell::new(r.severity.name()).fg(severity_colour(r.severity)),
            Cell::new(&r.description),
        ]);
    }
    println!("{table}");
    println!(
        "{} rules{}",
        shown.len(),
        paranoia.map_or(String::new(), |pl| format!(" at paranoia level {pl}"))
    );
    Ok(ExitCode::SUCCESS)
}

fn test(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let (rules, what) = match &dir {
        Some(d) => (
            rules::load_dir(d).with_context(|| format!("loading rules from {}", d.display()))?,
            d.display().to_string(),
        ),
        None => (load(None)?, "shipped rules".to_owned()),
    };
    let (failures, cases) = selftest::run(&rules);
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "{what}: {} rules, {cases} cases: {} passed, {} failed",
        rules.len(),
        cases - failures.len(),
        failures.len()
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
