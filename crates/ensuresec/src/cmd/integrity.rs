//! `ensuresec integrity baseline|accept|status|restore`: file-integrity baselines of the shop's
//! code and web root, and putting files back (crates/integrity, docs/integrity.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use comfy_table::Table;
use ensuresec_integrity::{Change, ChangeKind, StateDir, ops, restore};
use ensuresec_server::config::Config;
use ensuresec_server::ledger::{RecordKind, inbox};

/// Exit code of `status` when the tree differs from the baseline, and of `scan` when a rule
/// matches (errors exit with 1).
pub(super) const DIFFERS: u8 = 3;

/// Where the configuration and state are.
#[derive(clap::Args)]
pub struct Where {
    /// Configuration file [default: ./ensuresec.toml when present].
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data directory [default: ./ensuresec-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// State folder [default: `integrity.state_dir`, else DATA_DIR/integrity].
    #[arg(long)]
    state: Option<PathBuf>,
}

/// Integrity subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Take the first baseline of a root: hash and copy every file, sign the result.
    Baseline {
        /// The root [default: `integrity.root`].
        dir: Option<PathBuf>,
        /// Ignore pattern (repeat; added to `integrity.ignore`).
        #[arg(long)]
        ignore: Vec<String>,
        /// Why (recorded in the signed baseline).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Accept the tree as it is now (a deploy) as the next signed baseline.
    Accept {
        /// Why (a release, a change ticket); recorded in the signed baseline.
        #[arg(long)]
        reason: Option<String>,
        /// Replace the ignore patterns (repeat); without it the baseline's are kept.
        #[arg(long)]
        ignore: Vec<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Start a deploy window: `serve` reports no change until `accept` (or the window ends);
    /// changes made meanwhile are checked against the baseline accepted by then.
    Hold {
        /// Longest the window stays open, in minutes.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
        /// Why (a release).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        at: Where,
    },
    /// Compare the tree with the baseline; exits with 3 when something differs.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: Where,
    },
    /// Scan files with YARA rules (the shipped web-shell and skimmer rules and your own); exits
    /// with 3 when a rule matches.
    Scan {
        /// Folder to scan [default: the baseline's root, else `integrity.root`].
        dir: Option<PathBuf>,
        /// More rule files or folders of `.yar` files (repeat; added to `integrity.rules`).
        #[arg(long)]
        rules: Vec<PathBuf>,
        /// Leave out the shipped rules.
        #[arg(long)]
        no_builtin_rules: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: Where,
    },
    /// The payment-page monitor: scan pages, list their scripts, authorise scripts.
    Pages {
        #[command(subcommand)]
        command: super::integrity_pages::PagesCommand,
    },
    /// Put files back as the baseline has them: planted files go to quarantine, tampered and
    /// deleted ones are rewritten. Shows what it would do; `--yes` does it.
    Restore {
        /// A file or folder (relative to the root) to restore.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        path: Option<String>,
        /// Restore everything that differs.
        #[arg(long)]
        all: bool,
        /// Apply (without it, only the summary is shown).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        at: Where,
    },
}

/// The configuration and the integrity state folder, created or not.
pub(super) fn state_dir(at: &Where) -> anyhow::Result<(Config, PathBuf)> {
    let config = super::load_config(at.config.as_deref(), at.data_dir.clone())?;
    let dir = at
        .state
        .clone()
        .unwrap_or_else(|| config.integrity.state_dir(&config.storage.data_dir));
    Ok((config, dir))
}

fn open(at: &Where) -> anyhow::Result<(Config, StateDir)> {
    let (config, dir) = state_dir(at)?;
    let state = StateDir::open(&dir, config.integrity.verifier_key.clone())
        .with_context(|| format!("integrity state in {}", dir.display()))?;
    Ok((config, state))
}

pub(super) fn now() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // a CLI edge, not detection: the operation's time
    Utc::now()
}

/// Records an operation in the audit log through its inbox (the server may hold the log open).
pub(super) fn audit(
    config: &Config,
    kind: RecordKind,
    record: serde_json::Value,
) -> anyhow::Result<()> {
    if !config.ledger.enabled {
        return Ok(());
    }
    inbox::submit(&config.storage.data_dir, kind, now(), &record)
        .context("recording the integrity operation in the audit log inbox")
}

/// Runs the subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Pages { command } => super::integrity_pages::run(command),
        Command::Baseline {
            dir,
            ignore,
            reason,
            at,
        } => {
            let (config, state) = open(&at)?;
            let root = dir
                .or_else(|| config.integrity.root.clone())
                .context("no root: give DIR or set integrity.root")?;
            let mut patterns = config.integrity.ignore.clone();
            patterns.extend(ignore);
            let b = ops::create(&state, &root, patterns, now(), reason)?;
            println!(
                "baseline {} of {}: {} files, {} bytes, manifest {}",
                b.header.generation,
                b.header.root,
                b.header.files,
                b.header.bytes,
                b.header.manifest
            );
            println!("signed with {}", state.vkey()?);
            audit(
                &config,
                RecordKind::IntegrityBaseline,
                baseline_record(&b, &state)?,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Accept { reason, ignore, at } => {
            let (config, state) = open(&at)?;
            let replace = (!ignore.is_empty()).then_some(ignore);
            let (b, changes) = ops::accept(&state, now(), reason, replace)?;
            print_changes(&changes);
            println!(
                "accepted as baseline {}: {} files, {} changed, manifest {}",
                b.header.generation,
                b.header.files,
                changes.len(),
                b.header.manifest
            );
            let mut record = baseline_record(&b, &state)?;
            record["changed"] = changes.len().into();
            audit(&config, RecordKind::IntegrityBaseline, record)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Hold {
            minutes,
            reason,
            at,
        } => {
            let (config, state) = open(&at)?;
            state.load()?;
            let hold = ensuresec_integrity::monitor::Hold {
                until: now() + chrono::Duration::minutes(i64::from(minutes)),
                reason,
            };
            state.set_hold(&hold)?;
            println!(
                "changes are held until {} or the next `ensuresec integrity accept`",
                hold.until
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            audit(
                &config,
                RecordKind::IntegrityBaseline,
                serde_json::json!({ "hold_until": hold.until, "reason": hold.reason }),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json, at } => {
            let (_, state) = open(&at)?;
            let (b, status) = ops::status(&state)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_changes(&status.changes);
                print_diffs(&state, Path::new(&b.header.root), &status.changes)?;
                println!(
                    "{}: {} files, {} differ from baseline {}",
                    status.root,
                    status.files,
                    status.changes.len(),
                    status.generation
                );
            }
            Ok(if status.changes.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(DIFFERS)
            })
        }
        Command::Scan {
            dir,
            rules,
            no_builtin_rules,
            json,
            at,
        } => {
            let (config, state) = open(&at)?;
            let (root, ignore) =
                match dir {
                    Some(d) => (d, Vec::new()),
                    None if state.has_baseline() => {
                        let b = state.load()?;
                        (PathBuf::from(b.header.root), b.header.ignore)
                    }
                    None => (
                        config.integrity.root.clone().context(
                            "no folder: give DIR, take a baseline or set integrity.root",
                        )?,
                        config.integrity.ignore.clone(),
                    ),
                };
            let mut files = config.integrity.rules.clone();
            files.extend(rules);
            let builtin = config.integrity.builtin_rules && !no_builtin_rules;
            let set = ensuresec_integrity::content::RuleSet::load(builtin, &files)?;
            let ignore = ensuresec_integrity::ignore::Ignore::new(&ignore)?;
            let started = std::time::Instant::now();
            let found =
                ensuresec_integrity::content::scan_tree(&set, &root, &ignore, Some(state.dir()))?;
            let secs = started.elapsed().as_secs_f64();
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                for (path, matches) in &found.matches {
                    for m in matches {
                        println!("{path}: {m}");
                    }
                }
                for (path, e) in &found.errors {
                    eprintln!("{path}: {e}");
                }
                println!(
                    "{} files, {} bytes scanned in {secs:.2} s with {} rule files; {} skipped; {} matched",
                    found.files,
                    found.bytes,
                    set.files().len(),
                    found.skipped,
                    found.matches.len()
                );
            }
            Ok(if found.matches.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(DIFFERS)
            })
        }
        Command::Restore {
            path,
            all: _,
            yes,
            at,
        } => {
            let (config, state) = open(&at)?;
            let (b, status) = ops::status(&state)?;
            let root = PathBuf::from(&b.header.root);
            let changes = restore::select(status.changes, path.as_deref());
            if changes.is_empty() {
                println!(
                    "nothing to restore: the files match baseline {}",
                    b.header.generation
                );
                return Ok(ExitCode::SUCCESS);
            }
            print_changes(&changes);
            print_diffs(&state, &root, &changes)?;
            if !yes {
                println!(
                    "{} to restore; nothing changed yet: run again with --yes",
                    changes.len()
                );
                return Ok(ExitCode::from(DIFFERS));
            }
            let report = restore::apply(&state, &b, &changes, now())?;
            for (path, to) in &report.quarantined {
                println!("quarantined {path} → {}", to.display());
            }
            for path in &report.restored {
                println!("restored    {path}");
            }
            for path in &report.metadata {
                println!("mode/owner  {path}");
            }
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            audit(
                &config,
                RecordKind::IntegrityRestore,
                serde_json::json!({
                    "root": b.header.root,
                    "generation": b.header.generation,
                    "report": report,
                }),
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn baseline_record(
    b: &ensuresec_integrity::Baseline,
    state: &StateDir,
) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "root": b.header.root,
        "generation": b.header.generation,
        "manifest": b.header.manifest,
        "files": b.header.files,
        "bytes": b.header.bytes,
        "reason": b.header.reason,
        "vkey": state.vkey()?,
    }))
}

fn short(hash: &str) -> &str {
    &hash[..12.min(hash.len())]
}

fn print_changes(changes: &[Change]) {
    if changes.is_empty() {
        return;
    }
    let mut table = Table::new();
    table.set_header(["change", "path", "before", "after"]);
    let describe = |e: Option<&ensuresec_integrity::manifest::FileEntry>| match e {
        Some(e) => format!(
            "{} {} B {:o} {}:{}",
            short(&e.hash),
            e.size,
            e.mode,
            e.uid,
            e.gid
        ),
        None => "-".into(),
    };
    for c in changes {
        let kind = match c.kind {
            ChangeKind::Added => "planted",
            ChangeKind::Modified => "modified",
            ChangeKind::Metadata => "mode/owner",
            ChangeKind::Deleted => "deleted",
        };
        table.add_row([
            kind.to_string(),
            c.path.clone(),
            describe(c.before.as_ref()),
            describe(c.after.as_ref()),
        ]);
    }
    println!("{table}");
}

fn print_diffs(state: &StateDir, root: &Path, changes: &[Change]) -> anyhow::Result<()> {
    for c in changes {
        if let Some(d) = ops::text_diff_of(state, root, c)? {
            println!("{}: {d}", c.path);
        }
    }
    Ok(())
}
