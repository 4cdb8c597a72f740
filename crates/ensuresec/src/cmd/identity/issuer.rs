//! `ensuresec identity issuer init|issue` and `ensuresec identity status-list revoke|token`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use ensuresec_identity::age::{AgeCredential, SD_JWT_VC_TYP};
use ensuresec_identity::issue::{RandomSalts, issue};
use ensuresec_identity::status_list::{REVOKED, StatusList};
use ensuresec_identity::{Algorithm, Jwk, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::files::{json_text, read_json, read_private_key, replace, write_new, write_private_key};

const KEY_FILE: &str = "issuer.jwk";
const METADATA_FILE: &str = "metadata.json";
const STATUS_FILE: &str = "status.json";

/// Signature algorithm for new keys.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AlgArg {
    /// ECDSA P-256 (what EU wallets use).
    Es256,
    /// Ed25519.
    Eddsa,
}

impl From<AlgArg> for Algorithm {
    fn from(a: AlgArg) -> Algorithm {
        match a {
            AlgArg::Es256 => Algorithm::Es256,
            AlgArg::Eddsa => Algorithm::EdDsa,
        }
    }
}

/// Issuer subcommands.
#[derive(clap::Subcommand)]
pub enum IssuerCommand {
    /// Create an issuer: a key, its public metadata (`metadata.json`: issuer and JWKS, what
    /// verifiers trust) and an empty status list.
    Init {
        /// The issuer folder (created).
        #[arg(long, default_value = "identity-issuer")]
        dir: PathBuf,
        /// The issuer identifier (`iss`), an HTTPS URL.
        #[arg(long)]
        issuer: String,
        /// Key algorithm.
        #[arg(long, value_enum, default_value = "es256")]
        alg: AlgArg,
        /// Where the status list token will be published [default: ISSUER/status/1].
        #[arg(long)]
        status_uri: Option<String>,
        /// Entries in the status list (one per credential issued).
        #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(8..=8_000_000))]
        status_size: u32,
    },
    /// Issue an age credential to a holder; prints the SD-JWT (all disclosures) on stdout.
    Issue {
        /// The issuer folder.
        #[arg(long, default_value = "identity-issuer")]
        dir: PathBuf,
        /// The holder's public key (JWK file, e.g. the wallet's `holder.pub.jwk`).
        #[arg(long)]
        holder_jwk: PathBuf,
        /// The holder's birth date (YYYY-MM-DD), checked by the issuer beforehand.
        #[arg(long)]
        birthdate: NaiveDate,
        /// Age thresholds stated, each selectively disclosable.
        #[arg(long, value_delimiter = ',', default_value = "18,21")]
        thresholds: Vec<u8>,
        /// Validity in days.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        valid_days: u32,
    },
}

/// Status list subcommands.
#[derive(clap::Subcommand)]
pub enum StatusCommand {
    /// Revoke the credential at a status list index (printed by `issuer issue`).
    Revoke {
        /// The issuer folder.
        #[arg(long, default_value = "identity-issuer")]
        dir: PathBuf,
        /// The credential's index.
        #[arg(long)]
        index: usize,
    },
    /// Print the signed status list token to publish at the list's URI.
    Token {
        /// The issuer folder.
        #[arg(long, default_value = "identity-issuer")]
        dir: PathBuf,
        /// How long verifiers may cache it, in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: u32,
    },
}

/// The issuer's public metadata, in the layout of SD-JWT VC issuer metadata
/// (`/.well-known/jwt-vc-issuer`).
#[derive(Serialize, Deserialize)]
pub struct Metadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The issuer's public keys.
    pub jwks: Jwks,
}

/// A JWK set.
#[derive(Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// The status list and the next free index.
#[derive(Serialize, Deserialize)]
struct StatusState {
    uri: String,
    next_index: usize,
    list: Value,
}

/// Takes the issuer folder's write lock, held from reading the status list to saving it: two
/// credentials issued at once would otherwise get the same index, and an issue running beside a
/// revocation would save the list it read before, bringing the revoked credential back.
fn lock_issuer(dir: &Path) -> anyhow::Result<ensuresec_durable::Lock> {
    if !dir.join(STATUS_FILE).is_file() {
        bail!(
            "{} is not an issuer folder (no {STATUS_FILE}): create one with `ensuresec identity issuer init`",
            dir.display()
        );
    }
    Ok(ensuresec_durable::lock_folder(dir, &["."])?)
}

fn status_state(dir: &Path) -> anyhow::Result<(StatusState, StatusList)> {
    let state: StatusState = read_json(&dir.join(STATUS_FILE))?;
    let list = StatusList::from_claim(&state.list).context("status list state")?;
    Ok((state, list))
}

fn save_status(dir: &Path, mut state: StatusState, list: &StatusList) -> anyhow::Result<()> {
    state.list = list.to_claim();
    replace(&dir.join(STATUS_FILE), &json_text(&state))
}

/// Runs an issuer subcommand.
pub fn run(command: IssuerCommand) -> anyhow::Result<ExitCode> {
    match command {
        IssuerCommand::Init {
            dir,
            issuer,
            alg,
            status_uri,
            status_size,
        } => {
            if !issuer.starts_with("https://") {
                bail!("--issuer must be an https:// URL, got {issuer:?}");
            }
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let key = SigningKey::generate(alg.into())?;
            write_private_key(&dir.join(KEY_FILE), &key)?;
            let metadata = Metadata {
                issuer: issuer.clone(),
                jwks: Jwks {
                    keys: vec![key.verifying_key().to_jwk()],
                },
            };
            write_new(&dir.join(METADATA_FILE), &json_text(&metadata), 0o644)?;
            let list = StatusList::new(1, status_size as usize)?;
            let uri =
                status_uri.unwrap_or_else(|| format!("{}/status/1", issuer.trim_end_matches('/')));
            let state = StatusState {
                uri,
                next_index: 0,
                list: list.to_claim(),
            };
            write_new(&dir.join(STATUS_FILE), &json_text(&state), 0o644)?;
            println!(
                "issuer {issuer} created in {}; verifiers trust {}",
                dir.display(),
                dir.join(METADATA_FILE).display()
            );
        }
        IssuerCommand::Issue {
            dir,
            holder_jwk,
            birthdate,
            thresholds,
            valid_days,
        } => {
            let key = read_private_key(&dir.join(KEY_FILE))?;
            let metadata: Metadata = read_json(&dir.join(METADATA_FILE))?;
            let holder: Jwk = read_json(&holder_jwk)?;
            ensuresec_identity::VerifyingKey::from_jwk(&holder)
                .with_context(|| format!("holder key {}", holder_jwk.display()))?;
            let _lock = lock_issuer(&dir)?;
            let (mut state, list) = status_state(&dir)?;
            let index = state.next_index;
            if index >= list.len() {
                bail!(
                    "the status list is full ({} entries): create a new issuer or a larger list",
                    list.len()
                );
            }
            let credential = AgeCredential {
                issuer: metadata.issuer,
                birthdate,
                thresholds,
                holder: holder.public(),
                issued_at: super::now().timestamp(),
                valid_for_secs: i64::from(valid_days) * 86_400,
                status: Some((state.uri.clone(), index)),
            };
            let sd_jwt = issue(
                &credential.request()?,
                SD_JWT_VC_TYP,
                &key,
                &mut RandomSalts,
            )?;
            state.next_index += 1;
            save_status(&dir, state, &list)?;
            println!("{}", sd_jwt.serialize());
            eprintln!("status list index {index}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a status list subcommand.
pub fn run_status(command: StatusCommand) -> anyhow::Result<ExitCode> {
    match command {
        StatusCommand::Revoke { dir, index } => {
            let _lock = lock_issuer(&dir)?;
            let (state, mut list) = status_state(&dir)?;
            if index >= state.next_index {
                bail!(
                    "index {index} was never issued (next is {})",
                    state.next_index
                );
            }
            list.set(index, REVOKED)?;
            save_status(&dir, state, &list)?;
            println!(
                "revoked index {index}; publish the new list with `ensuresec identity status-list token`"
            );
        }
        StatusCommand::Token { dir, ttl_seconds } => {
            let key = read_private_key(&dir.join(KEY_FILE))?;
            let metadata: Metadata = read_json(&dir.join(METADATA_FILE))?;
            let (state, list) = status_state(&dir)?;
            let token = list.to_token(
                &metadata.issuer,
                &state.uri,
                super::now().timestamp(),
                i64::from(ttl_seconds),
                &key,
            );
            println!("{token}");
            eprintln!("publish at {}", json!(state.uri));
        }
    }
    Ok(ExitCode::SUCCESS)
}
