//! `ensuresec identity wallet init|add|list|present`: a holder's credentials in a folder.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use comfy_table::Table;
use ensuresec_identity::disclosure::{Disclosure, digest};
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::resolve::resolve;
use ensuresec_identity::{ClaimPath, Jwk, Limits, SdJwt, SigningKey, jws};
use serde_json::Value;

use super::files::{json_text, read_private_key, write_new, write_private_key};
use super::issuer::AlgArg;

const KEY_FILE: &str = "holder.jwk";
const PUBLIC_KEY_FILE: &str = "holder.pub.jwk";
const CREDENTIALS: &str = "credentials";

/// Wallet subcommands.
#[derive(clap::Subcommand)]
pub enum WalletCommand {
    /// Create a wallet: the holder key (`holder.jwk`) and its public half (`holder.pub.jwk`,
    /// given to issuers).
    Init {
        /// The wallet folder (created).
        #[arg(long, default_value = "identity-wallet")]
        dir: PathBuf,
        /// Key algorithm.
        #[arg(long, value_enum, default_value = "es256")]
        alg: AlgArg,
    },
    /// Store a credential (a file, or - for standard input); it must be bound to this wallet's key.
    Add {
        /// The wallet folder.
        #[arg(long, default_value = "identity-wallet")]
        dir: PathBuf,
        /// The SD-JWT as issued.
        file: PathBuf,
    },
    /// List the stored credentials and the claims each can disclose.
    List {
        /// The wallet folder.
        #[arg(long, default_value = "identity-wallet")]
        dir: PathBuf,
    },
    /// Print a presentation disclosing only the given claims, bound to a nonce and audience.
    Present {
        /// The wallet folder.
        #[arg(long, default_value = "identity-wallet")]
        dir: PathBuf,
        /// The credential id (from `list`; base64url, so it may start with '-').
        #[arg(long, allow_hyphen_values = true)]
        id: String,
        /// A claim to disclose, as a path (repeat), e.g. /age_equal_or_over/18.
        #[arg(long, required = true)]
        disclose: Vec<ClaimPath>,
        /// The verifier's nonce (from its challenge; base64url, so it may start with '-').
        #[arg(long, allow_hyphen_values = true)]
        nonce: String,
        /// The audience (from the challenge: the shop and order).
        #[arg(long)]
        audience: String,
    },
}

/// A stored credential with what its payload says.
struct Stored {
    id: String,
    sd_jwt: SdJwt,
    claims: serde_json::Map<String, Value>,
    paths: Vec<ClaimPath>,
}

fn open(text: &str) -> anyhow::Result<Stored> {
    let sd_jwt = SdJwt::parse(text.trim(), &Limits::default())?;
    if sd_jwt.kb_jwt.is_some() {
        bail!("this is a presentation (it has a KB-JWT), not a credential as issued");
    }
    let payload = jws::decode("issuer-signed JWT", &sd_jwt.jwt)?.payload;
    let disclosures = sd_jwt
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| Disclosure::parse(i, d))
        .collect::<Result<Vec<_>, _>>()?;
    let resolved = resolve(&payload, &disclosures, Limits::default().max_depth)?;
    let id = digest(&sd_jwt.jwt).chars().take(12).collect();
    Ok(Stored {
        id,
        sd_jwt,
        claims: resolved.claims,
        paths: resolved.paths,
    })
}

fn stored(dir: &Path) -> anyhow::Result<Vec<Stored>> {
    let folder = dir.join(CREDENTIALS);
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?
    {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        out.push(open(&text).with_context(|| format!("credential {}", path.display()))?);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Runs a wallet subcommand.
pub fn run(command: WalletCommand) -> anyhow::Result<ExitCode> {
    match command {
        WalletCommand::Init { dir, alg } => {
            std::fs::create_dir_all(dir.join(CREDENTIALS))
                .with_context(|| format!("creating {}", dir.display()))?;
            let key = SigningKey::generate(alg.into())?;
            write_private_key(&dir.join(KEY_FILE), &key)?;
            write_new(
                &dir.join(PUBLIC_KEY_FILE),
                &json_text(&key.verifying_key().to_jwk()),
                0o644,
            )?;
            println!(
                "wallet created in {}; give issuers {}",
                dir.display(),
                dir.join(PUBLIC_KEY_FILE).display()
            );
        }
        WalletCommand::Add { dir, file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading standard input")?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
            }
            let credential = open(&text)?;
            let mine = read_private_key(&dir.join(KEY_FILE))?
                .verifying_key()
                .to_jwk();
            let bound: Option<Jwk> = credential
                .claims
                .get("cnf")
                .and_then(|c| c.get("jwk"))
                .and_then(|j| serde_json::from_value(j.clone()).ok());
            if bound.as_ref().map(|j| (&j.x, &j.y)) != Some((&mine.x, &mine.y)) {
                bail!("the credential is bound to another key (cnf.jwk), not this wallet's");
            }
            let path = dir
                .join(CREDENTIALS)
                .join(format!("{}.sd-jwt", credential.id));
            write_new(
                &path,
                &format!("{}\n", credential.sd_jwt.serialize()),
                0o600,
            )?;
            println!("stored credential {}", credential.id);
        }
        WalletCommand::List { dir } => {
            let mut table = Table::new();
            table.set_header(["id", "issuer", "type (vct)", "expires", "can disclose"]);
            for c in stored(&dir)? {
                let text = |name: &str| {
                    c.claims
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or("-")
                        .to_owned()
                };
                let expires = c
                    .claims
                    .get("exp")
                    .and_then(Value::as_i64)
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d").to_string());
                let paths: Vec<String> = c.paths.iter().map(ToString::to_string).collect();
                table.add_row([
                    c.id.clone(),
                    text("iss"),
                    text("vct"),
                    expires,
                    paths.join(" "),
                ]);
            }
            println!("{table}");
        }
        WalletCommand::Present {
            dir,
            id,
            disclose,
            nonce,
            audience,
        } => {
            let credential = stored(&dir)?
                .into_iter()
                .find(|c| c.id == id)
                .with_context(|| format!("no credential {id} in {}", dir.display()))?;
            let key = read_private_key(&dir.join(KEY_FILE))?;
            let binding = Binding {
                key: &key,
                nonce: &nonce,
                audience: &audience,
                issued_at: super::now().timestamp(),
            };
            println!(
                "{}",
                present(&credential.sd_jwt, &disclose, Some(&binding))?.serialize()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
