//! `ensuresec token`: API tokens, managed directly in the data directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use comfy_table::Table;
use ensuresec_server::config::Config;
use ensuresec_server::ledger::{RecordKind, inbox};
use ensuresec_store::{NewToken, Scope, SqliteOptions, SqliteStore, Store};

/// Token subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a token and print its secret (shown once).
    Create {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// What it may do: ingest, read, admin (repeat for several).
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// List tokens (never their secrets).
    List {
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Revoke a token by name.
    Revoke {
        /// The token's name.
        name: String,
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse()
}

fn open(data_dir: Option<PathBuf>) -> anyhow::Result<(SqliteStore, Config)> {
    let config = super::load_config(None, data_dir)?;
    let store = SqliteStore::open(&config.storage.data_dir, SqliteOptions::default())?;
    Ok((store, config))
}

/// Token changes go to the audit log through its inbox (the server may hold the log open); the
/// server appends them at start and before every checkpoint.
pub(crate) fn audit(
    config: &Config,
    kind: RecordKind,
    record: serde_json::Value,
) -> anyhow::Result<()> {
    if !config.ledger.enabled {
        return Ok(());
    }
    #[allow(clippy::disallowed_methods)] // a CLI edge, not detection: the record's time
    let now = Utc::now();
    inbox::submit(&config.storage.data_dir, kind, now, &record)
        .context("recording the token change in the audit log inbox")
}

/// Runs the subcommand.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Create {
            name,
            scopes,
            data_dir,
        } => {
            let (store, config) = open(data_dir)?;
            #[allow(clippy::disallowed_methods)] // a CLI edge, not detection: records creation time
            let created = Utc::now();
            let scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            let record =
                serde_json::json!({ "name": name, "scopes": scope_names, "created": created });
            let secret = store
                .create_token(NewToken {
                    name,
                    scopes,
                    secret: None,
                    replace: false,
                    created,
                })
                .await?;
            audit(&config, RecordKind::TokenCreated, record)?;
            println!("{secret}");
        }
        Command::List { data_dir } => {
            let (store, _) = open(data_dir)?;
            let mut table = Table::new();
            table.set_header(["name", "scopes", "created", "revoked"]);
            for t in store.list_tokens().await? {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                table.add_row([
                    t.name,
                    scopes.join(","),
                    t.created.to_rfc3339(),
                    if t.revoked { "yes".into() } else { "no".into() },
                ]);
            }
            println!("{table}");
        }
        Command::Revoke { name, data_dir } => {
            let (store, config) = open(data_dir)?;
            if !store.revoke_token(&name).await? {
                eprintln!("no token named `{name}`");
                return Ok(ExitCode::from(2));
            }
            audit(
                &config,
                RecordKind::TokenRevoked,
                serde_json::json!({ "name": name }),
            )?;
            println!("revoked `{name}`");
        }
    }
    Ok(ExitCode::SUCCESS)
}
