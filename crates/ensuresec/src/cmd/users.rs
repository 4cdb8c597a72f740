//! `ensuresec users`: dashboard accounts, managed directly in the data directory. Passwords are
//! read from standard input (one line), never from the command line where `ps` would show them.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use comfy_table::Table;
use ensuresec_dashboard::users::{Role, UserDb};
use ensuresec_server::config::Config;
use ensuresec_server::ledger::RecordKind;

use super::token::audit;

/// Users subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an account; the password is read from standard input.
    Add {
        /// Login name.
        name: String,
        /// admin, analyst, viewer or partner.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The partner organisation (partner role only), as named in the asset model's `partners`.
        #[arg(long)]
        partner: Option<String>,
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Set a new password (read from standard input); unlocks the account and ends its sessions.
    Passwd {
        /// Login name.
        name: String,
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Change an account's role; ends its sessions.
    Role {
        /// Login name.
        name: String,
        /// admin, analyst, viewer or partner.
        #[arg(value_parser = parse_role)]
        role: Role,
        /// The partner organisation (partner role only).
        #[arg(long)]
        partner: Option<String>,
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Remove an account and its sessions.
    Remove {
        /// Login name.
        name: String,
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// List accounts.
    List {
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

fn open(data_dir: Option<PathBuf>) -> anyhow::Result<(UserDb, Config)> {
    let config = super::load_config(None, data_dir)?;
    let db = UserDb::open(&config.storage.data_dir)?;
    Ok((db, config))
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs the subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Add {
            name,
            role,
            partner,
            data_dir,
        } => {
            let (db, config) = open(data_dir)?;
            let password = read_password()?;
            #[allow(clippy::disallowed_methods)] // a CLI edge, not detection: creation time
            let now = Utc::now();
            let user = db.add(&name, &password, role, partner.as_deref(), now)?;
            audit(
                &config,
                RecordKind::UserCreated,
                serde_json::json!({ "user": user.name, "role": role.as_str(), "partner": user.partner }),
            )?;
            println!("created `{name}` ({role})");
        }
        Command::Passwd { name, data_dir } => {
            let (db, config) = open(data_dir)?;
            let password = read_password()?;
            db.set_password(&name, &password)?;
            audit(
                &config,
                RecordKind::UserPasswordChanged,
                serde_json::json!({ "user": name }),
            )?;
            println!("password of `{name}` changed; its sessions ended");
        }
        Command::Role {
            name,
            role,
            partner,
            data_dir,
        } => {
            let (db, config) = open(data_dir)?;
            db.set_role(&name, role, partner.as_deref())?;
            audit(
                &config,
                RecordKind::UserRoleChanged,
                serde_json::json!({ "user": name, "role": role.as_str(), "partner": partner, "by": "cli" }),
            )?;
            println!("`{name}` is now {role}; its sessions ended");
        }
        Command::Remove { name, data_dir } => {
            let (db, config) = open(data_dir)?;
            db.remove(&name)?;
            audit(
                &config,
                RecordKind::UserRemoved,
                serde_json::json!({ "user": name }),
            )?;
            println!("removed `{name}`");
        }
        Command::List { data_dir } => {
            let (db, _) = open(data_dir)?;
            let mut table = Table::new();
            table.set_header(["name", "role", "partner", "created", "locked until"]);
            for u in db.list()? {
                table.add_row([
                    u.name,
                    u.role.to_string(),
                    u.partner.unwrap_or_default(),
                    u.created.to_rfc3339(),
                    u.locked_until.map(|t| t.to_rfc3339()).unwrap_or_default(),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
