//! `ensuresec identity verify`: a shop's check of a presentation, offline.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ensuresec_identity::age::prove_age;
use ensuresec_identity::status_list::StatusLists;
use ensuresec_identity::{KeyBinding, TrustedIssuers, VerifyOptions, VerifyingKey, verify};
use serde_json::json;

use super::files::read_json;
use super::issuer::Metadata;

/// Exit code when the presentation is refused (errors exit with 1).
const REFUSED: u8 = 3;

/// Arguments of `identity verify`.
#[derive(clap::Args)]
pub struct Args {
    /// A trusted issuer's metadata file (`metadata.json` from `issuer init`; repeat).
    #[arg(long, required = true)]
    trust: Vec<PathBuf>,
    /// A status list token file (from `status-list token`; repeat).
    #[arg(long)]
    status_list: Vec<PathBuf>,
    /// The nonce the KB-JWT must carry (base64url, so it may start with '-').
    #[arg(long, allow_hyphen_values = true)]
    nonce: String,
    /// The audience the KB-JWT must name.
    #[arg(long)]
    audience: String,
    /// The age to prove.
    #[arg(long, default_value_t = 18)]
    min_age: u8,
    /// The presentation (a file, or - for standard input).
    presentation: PathBuf,
}

/// Verifies; prints `{"age_over_N": true}` or the refusal's reason, nothing disclosed.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut trusted = TrustedIssuers::default();
    for path in &args.trust {
        let metadata: Metadata = read_json(path)?;
        for jwk in &metadata.jwks.keys {
            trusted.add(
                &metadata.issuer,
                VerifyingKey::from_jwk(jwk)
                    .with_context(|| format!("key in {}", path.display()))?,
            );
        }
    }
    let now = super::now();
    let mut lists = StatusLists::default();
    for path in &args.status_list {
        let token =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        lists
            .accept_token(&token, &trusted, now.timestamp())
            .with_context(|| format!("status list {}", path.display()))?;
    }
    let mut presentation = String::new();
    if args.presentation.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut presentation)
            .context("reading standard input")?;
    } else {
        presentation = std::fs::read_to_string(&args.presentation)
            .with_context(|| format!("reading {}", args.presentation.display()))?;
    }
    let options = VerifyOptions::new(
        now.timestamp(),
        KeyBinding::Required {
            nonce: args.nonce,
            audience: args.audience,
        },
    );
    let outcome = verify(presentation.trim(), &trusted, &lists, &options)
        .and_then(|v| prove_age(&v.claims, args.min_age, now.date_naive()).map(|()| v.issuer));
    let predicate = format!("age_over_{}", args.min_age);
    match outcome {
        Ok(issuer) => {
            println!("{}", json!({ predicate: true, "issuer": issuer }));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!(
                "{}",
                json!({ predicate: false, "reason": e.reason(), "detail": e.to_string() })
            );
            Ok(ExitCode::from(REFUSED))
        }
    }
}
