//! `ensuresec incidents`: list and change incidents, approve or reject playbook steps, draft a
//! breach notification — against a running server.

use std::process::ExitCode;

use reqwest::Method;
use serde_json::json;

use crate::api::{Remote, print_items};

/// The `incidents` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// List incidents, newest first.
    List {
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// Most to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One incident with its alerts, actions and playbook steps, as JSON.
    Show {
        /// Incident id.
        id: u64,
    },
    /// Change an incident's status (recorded with your token's name and the reason).
    SetStatus {
        /// Incident id.
        id: u64,
        /// open, mitigating, contained, recovering, resolved or false_positive.
        status: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Approve a playbook step waiting for approval.
    Approve {
        /// Incident id.
        id: u64,
        /// Step id.
        step: String,
    },
    /// Reject a playbook step waiting for approval.
    Reject {
        /// Incident id.
        id: u64,
        /// Step id.
        step: String,
    },
    /// Steps waiting for approval.
    Pending {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A GDPR Article 33 notification draft for the incident.
    BreachDraft {
        /// Incident id.
        id: u64,
    },
}

/// Runs an `incidents` subcommand.
pub async fn run(remote: Remote, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List {
            status,
            limit,
            json,
        } => {
            let mut path = format!("/v1/incidents?limit={}", limit.clamp(1, 1000));
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            let v = remote.call(Method::GET, &path, None).await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            print_items(
                &items,
                &[
                    "id",
                    "status",
                    "severity",
                    "title",
                    "alert_count",
                    "last_seen",
                ],
                json,
            );
        }
        Command::Show { id } => {
            let mut v = remote
                .call(Method::GET, &format!("/v1/incidents/{id}"), None)
                .await?;
            if let Ok(steps) = remote
                .call(Method::GET, &format!("/v1/incidents/{id}/steps"), None)
                .await
            {
                v["steps"] = steps["items"].clone();
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Command::SetStatus { id, status, reason } => {
            let v = remote
                .call(
                    Method::PATCH,
                    &format!("/v1/incidents/{id}"),
                    Some(json!({"status": status, "reason": reason})),
                )
                .await?;
            println!(
                "incident {id} is now {}",
                v["status"].as_str().unwrap_or("?")
            );
        }
        Command::Approve { id, step } => decide(&remote, id, &step, "approve").await?,
        Command::Reject { id, step } => decide(&remote, id, &step, "reject").await?,
        Command::Pending { json } => {
            let v = remote.call(Method::GET, "/v1/approvals", None).await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            print_items(
                &items,
                &["incident_id", "playbook", "step_id", "deadline"],
                json,
            );
        }
        Command::BreachDraft { id } => {
            let v = remote
                .call(
                    Method::GET,
                    &format!("/v1/incidents/{id}/breach-draft"),
                    None,
                )
                .await?;
            println!("{}", v["text"].as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn decide(remote: &Remote, id: u64, step: &str, verb: &str) -> anyhow::Result<()> {
    let v = remote
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/steps/{step}/{verb}"),
            None,
        )
        .await?;
    println!(
        "step `{step}` of incident {id}: {}",
        v["note"].as_str().unwrap_or(verb)
    );
    Ok(())
}
