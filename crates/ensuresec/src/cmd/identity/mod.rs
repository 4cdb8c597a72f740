//! `ensuresec identity issuer|wallet|status-list|verify`: privacy-preserving age verification
//! with SD-JWT credentials (crates/identity, docs/identity.md) from the command line.

mod files;
mod issuer;
mod verify;
mod wallet;

use std::process::ExitCode;

use chrono::{DateTime, Utc};

/// Identity subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// An issuer: keys, metadata and age credentials.
    Issuer {
        #[command(subcommand)]
        command: issuer::IssuerCommand,
    },
    /// The issuer's status list: revoke credentials, publish the signed list.
    StatusList {
        #[command(subcommand)]
        command: issuer::StatusCommand,
    },
    /// A holder's wallet: store credentials, present only what is asked.
    Wallet {
        #[command(subcommand)]
        command: wallet::WalletCommand,
    },
    /// Verify a presentation offline, as a shop would, and print only the age predicate.
    Verify(verify::Args),
}

/// Runs an identity subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Issuer { command } => issuer::run(command),
        Command::StatusList { command } => issuer::run_status(command),
        Command::Wallet { command } => wallet::run(command),
        Command::Verify(args) => verify::run(args),
    }
}

fn now() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // a CLI edge: the operation's time
    Utc::now()
}
