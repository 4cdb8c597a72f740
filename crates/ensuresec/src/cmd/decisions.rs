//! `ensuresec decisions`: list, add and revoke decisions on a running server.

use std::process::ExitCode;

use reqwest::Method;
use serde_json::json;

use crate::api::{Remote, print_items};

/// The `decisions` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Active decisions, newest first.
    List {
        /// Most to show.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make a decision by hand.
    Add {
        /// ban, throttle, challenge or review.
        #[arg(long = "type", default_value = "ban")]
        kind: String,
        /// ip, range, account, card or device.
        #[arg(long, default_value = "ip")]
        scope: String,
        /// The address, range, account, card fingerprint or device.
        value: String,
        /// How long, in seconds.
        #[arg(long, default_value_t = 14_400)]
        duration_seconds: u64,
        /// Why (shown to bouncers as the scenario).
        #[arg(long, default_value = "manual")]
        reason: String,
    },
    /// Revoke a decision: bouncers lift it on their next pull.
    Revoke {
        /// Decision id.
        id: u64,
    },
}

/// Runs a `decisions` subcommand.
pub async fn run(remote: Remote, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { limit, json } => {
            let v = remote
                .call(
                    Method::GET,
                    &format!("/v1/decisions/all?limit={limit}"),
                    None,
                )
                .await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            print_items(
                &items,
                &[
                    "id",
                    "type",
                    "scope",
                    "value",
                    "origin",
                    "until",
                    "incident_id",
                ],
                json,
            );
        }
        Command::Add {
            kind,
            scope,
            value,
            duration_seconds,
            reason,
        } => {
            let v = remote
                .call(
                    Method::POST,
                    "/v1/decisions",
                    Some(json!({"type": kind, "scope": scope, "value": value,
                                "duration_seconds": duration_seconds, "scenario": reason})),
                )
                .await?;
            let d = &v["items"][0];
            println!(
                "decision {}: {} {} {} until {}",
                d["id"],
                kind,
                scope,
                value,
                d["until"].as_str().unwrap_or("?")
            );
        }
        Command::Revoke { id } => {
            remote
                .call(Method::DELETE, &format!("/v1/decisions/{id}"), None)
                .await?;
            println!("revoked decision {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
