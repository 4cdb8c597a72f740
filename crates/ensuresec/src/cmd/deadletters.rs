//! `ensuresec deadletters`: deliveries whose every attempt failed, and their replay.

use std::process::ExitCode;

use reqwest::Method;

use crate::api::{Remote, print_items};

/// The `deadletters` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Dead letters, newest first.
    List {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead letter again (same idempotency key).
    Replay {
        /// Delivery id.
        id: u64,
    },
}

/// Runs a `deadletters` subcommand.
pub async fn run(remote: Remote, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { json } => {
            let v = remote.call(Method::GET, "/v1/deadletters", None).await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            print_items(
                &items,
                &[
                    "id",
                    "channel",
                    "target",
                    "attempts",
                    "last_error",
                    "incident_id",
                ],
                json,
            );
        }
        Command::Replay { id } => {
            remote
                .call(Method::POST, &format!("/v1/deadletters/{id}/replay"), None)
                .await?;
            println!("delivery {id} queued again");
        }
    }
    Ok(ExitCode::SUCCESS)
}
