//! `ensuresec integrity pages scan|list|authorize|revoke`: the payment-page monitor from the
//! command line: fetch the configured pages once, show their script inventory, authorise a
//! script with a justification (PCI DSS 6.4.3) or revoke it. `serve` shares the same records.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::Table;
use ensuresec_integrity::pages::authz::{self, AuthorizationChange, Authorizations};
use ensuresec_integrity::pages::fetch::Fetcher;
use ensuresec_integrity::pages::scan::scan_page;
use ensuresec_integrity::pages::store::PageStore;
use ensuresec_server::config::Config;
use ensuresec_server::ledger::RecordKind;
use owo_colors::{OwoColorize, Stream::Stdout};

use super::integrity::{DIFFERS, Where, audit, now};

/// Page-monitor subcommands.
#[derive(clap::Subcommand)]
pub enum PagesCommand {
    /// Fetch the pages once (the configured ones, or those given), compare them with their last
    /// inventory and print what changed; exits with 3 when something did.
    Scan {
        /// Page URLs [default: every `[[integrity.pages]]`].
        urls: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: Where,
    },
    /// Show every monitored page's scripts, forms and security headers as last fetched.
    List {
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        at: Where,
    },
    /// Authorise a script (its URL, or `inline:<sha256>` as `list` shows it), pinned to its
    /// content's hash, with a written justification.
    Authorize {
        /// The script.
        script: String,
        /// Why the page needs it (recorded with the authorisation and in the audit log).
        #[arg(long)]
        justification: String,
        /// The content's SHA-256 [default: the hash last seen on a monitored page].
        #[arg(long)]
        sha256: Option<String>,
        /// Who authorises it [default: the user running the command].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Revoke a script's authorisation: it alerts again at the next fetch.
    Revoke {
        /// The script.
        script: String,
        /// Who revokes it [default: the user running the command].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: Where,
    },
}

fn store(at: &Where) -> anyhow::Result<(Config, PageStore)> {
    let (config, dir): (Config, PathBuf) = super::integrity::state_dir(at)?;
    Ok((config, PageStore::new(&dir)))
}

/// Who authorises or revokes: `--by`, else the user running the command.
fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

/// Submits an authorisation change to the audit log, as the server records one.
fn record(config: &Config, change: AuthorizationChange) -> anyhow::Result<()> {
    audit(
        config,
        RecordKind::IntegrityScriptAuthorization,
        serde_json::to_value(change)?,
    )
}

/// Runs the subcommand.
pub fn run(command: PagesCommand) -> anyhow::Result<ExitCode> {
    match command {
        PagesCommand::Scan { urls, json, at } => {
            let (config, store) = store(&at)?;
            let urls = if urls.is_empty() {
                config
                    .integrity
                    .pages
                    .iter()
                    .map(|p| p.url.clone())
                    .collect()
            } else {
                urls
            };
            anyhow::ensure!(
                !urls.is_empty(),
                "no pages: give URLs or configure [[integrity.pages]]"
            );
            let settings = &config.integrity.page_monitor;
            let fetcher = Fetcher::new(settings)?;
            let asset = config.integrity.asset.as_deref();
            let mut all = Vec::new();
            for url in &urls {
                let found = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(scan_page(
                        &store,
                        &fetcher,
                        settings,
                        url,
                        asset,
                        now(),
                    ))
                })
                .with_context(|| format!("scanning {url}"))?;
                all.extend(found);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for c in &all {
                    println!(
                        "{}  {}",
                        c.url,
                        c.summary.if_supports_color(Stdout, |t| t.red())
                    );
                }
                println!("{} page(s) fetched, {} change(s)", urls.len(), all.len());
            }
            Ok(if all.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(DIFFERS)
            })
        }
        PagesCommand::List { json, at } => {
            let (_, store) = store(&at)?;
            let records = store.list()?;
            let auths = Authorizations::load(store.dir())?;
            if json {
                let pages: Vec<_> = records.iter().map(|r| &r.inventory).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"pages": pages, "authorizations": auths.scripts})
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            for r in &records {
                let i = &r.inventory;
                println!("{} (HTTP {}, fetched {})", i.url, i.status, i.fetched);
                let mut table = Table::new();
                table.set_header(["script", "sha256", "SRI", "authorised"]);
                for s in &i.scripts {
                    let a = auths.get(&s.key());
                    let ok = auths.covers(s);
                    table.add_row([
                        s.key(),
                        s.sha256
                            .as_deref()
                            .map(|h| h[..16].to_owned())
                            .unwrap_or_else(|| s.note.clone().unwrap_or_else(|| "?".into())),
                        s.sri_status().to_owned(),
                        match (ok, a) {
                            (true, Some(a)) => format!("yes: {}", a.justification),
                            (false, Some(_)) => "NO (content changed)".into(),
                            _ => "NO".into(),
                        },
                    ]);
                }
                println!("{table}");
                for f in &i.forms {
                    println!("  form {} {}", f.method, f.action);
                }
                for f in &i.iframes {
                    println!("  iframe {f}");
                }
                for (k, v) in &i.headers {
                    println!("  {k}: {v}");
                }
            }
            if records.is_empty() {
                println!("no page fetched yet: run `ensuresec integrity pages scan` or `serve`");
            }
            Ok(ExitCode::SUCCESS)
        }
        PagesCommand::Authorize {
            script,
            justification,
            sha256,
            by,
            at,
        } => {
            let (config, store) = store(&at)?;
            let a =
                authz::authorize_script(&store, &script, sha256, &justification, &who(by), now())?;
            println!("authorised {} (sha256 {}) by {}", a.script, a.sha256, a.by);
            record(&config, AuthorizationChange::Authorize { authorization: a })?;
            Ok(ExitCode::SUCCESS)
        }
        PagesCommand::Revoke { script, by, at } => {
            let (config, store) = store(&at)?;
            anyhow::ensure!(
                authz::revoke_script(&store, &script)?,
                "`{script}` is not authorised"
            );
            println!("revoked {script}: it alerts again at the next fetch");
            record(
                &config,
                AuthorizationChange::Revoke {
                    script,
                    by: who(by),
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
