//! `ensuresec ledger`: the audit log's keys (`key`, `keygen`, `rotate`) and offline verification
//! of a whole log directory (`verify`) or of one receipt (`verify-receipt`), with no server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use ensuresec_auditlog::note::{
    KeyKind, NoteVerifier, VerifierSet, generate_key, parse_verifier_key,
};
use ensuresec_auditlog::receipt::{MAX_RECEIPT_BYTES, Receipt};
use ensuresec_auditlog::verify_dir::{VerifyOptions, VerifyReport, describe_root, verify_log_dir};
use ensuresec_auditlog::witness::WitnessPolicy;
use ensuresec_server::ledger::keys;
use owo_colors::OwoColorize;
use serde_json::json;

/// Output format of the verifiers.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Words, with colour on a terminal.
    Text,
    /// One JSON object.
    Json,
}

/// Ledger subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the log's origin and verifier keys (current last), creating the key on first use.
    Key {
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Generate a key pair NAME.skey (mode 0600) and NAME.vkey: a witness cosigning key with
    /// --witness, else a log signing key.
    Keygen {
        /// Key name (for a witness, a URL-like name such as example.com/witness).
        name: String,
        /// Make a witness cosigning key (cosignature/v1).
        #[arg(long)]
        witness: bool,
        /// Folder to write the files in [default: .].
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Replace the log's signing key; the old verifier key stays listed so that old checkpoints
    /// still verify. Stop the server first.
    Rotate {
        /// Data directory [default: ./ensuresec-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Verify a whole log directory offline: every entry, node hash, checkpoint signature and
    /// cosignature. Exits 1 and names the first bad index on tampering.
    Verify {
        /// The log directory (DATA_DIR/ledger).
        dir: PathBuf,
        /// A trusted log verifier key (repeat for rotated keys).
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// A witness verifier key (repeat).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// How many witnesses must have cosigned the latest checkpoint [default: all given].
        #[arg(long)]
        policy: Option<usize>,
        /// The expected origin.
        #[arg(long)]
        origin: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Verify a receipt (JSON, from /v1/ledger/receipt/…) offline against a trusted log key.
    VerifyReceipt {
        /// The receipt file.
        file: PathBuf,
        /// A trusted log verifier key (repeat for rotated keys).
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// A witness verifier key (repeat).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// How many witnesses must have cosigned [default: all given].
        #[arg(long)]
        policy: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn verifiers(keys: &[String], what: &str) -> anyhow::Result<Vec<Arc<dyn NoteVerifier>>> {
    keys.iter()
        .map(|k| parse_verifier_key(k).with_context(|| format!("{what} key {k:?}")))
        .collect()
}

fn policy(witnesses: &[String], k: Option<usize>) -> anyhow::Result<Option<WitnessPolicy>> {
    if witnesses.is_empty() {
        if k.is_some() {
            bail!("--policy needs at least one --witness key");
        }
        return Ok(None);
    }
    let v = verifiers(witnesses, "witness")?;
    let k = k.unwrap_or(v.len());
    Ok(Some(WitnessPolicy::new(v, k)?))
}

/// Runs the subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Key { data_dir } => {
            let config = super::load_config(None, data_dir)?;
            let dir = keys::ledger_dir(&config.storage.data_dir);
            std::fs::create_dir_all(&dir)?;
            let k = keys::load_or_create(&dir, &config.ledger)?;
            println!("origin: {}", keys::origin(&dir, &config.ledger)?);
            for v in &k.vkeys {
                println!("{v}");
            }
        }
        Command::Keygen { name, witness, out } => {
            let kind = if witness {
                KeyKind::CosignatureEd25519
            } else {
                KeyKind::Ed25519
            };
            let (skey, vkey) = generate_key(&name, kind)?;
            let stem = name.replace(['/', ':'], "_");
            let skey_path = out.join(format!("{stem}.skey"));
            let vkey_path = out.join(format!("{stem}.vkey"));
            ensuresec_durable::create_new(&skey_path, 0o600, format!("{skey}\n").as_bytes())?;
            ensuresec_durable::create_new(&vkey_path, 0o644, format!("{vkey}\n").as_bytes())?;
            println!("secret key: {} (mode 0600)", skey_path.display());
            println!("{vkey}");
        }
        Command::Rotate { data_dir } => {
            let config = super::load_config(None, data_dir)?;
            let dir = keys::ledger_dir(&config.storage.data_dir);
            std::fs::create_dir_all(&dir)?;
            let (old, new) = keys::rotate(&dir, &config.ledger)?;
            println!("retired: {old}");
            println!("current: {}", new.bold());
            println!(
                "Give the new key to verifiers and witnesses (--log-vkey); keep the retired one for checkpoints signed before now."
            );
        }
        Command::Verify {
            dir,
            keys,
            witnesses,
            policy: k,
            origin,
            format,
        } => {
            let mut options = VerifyOptions::new(VerifierSet::new(verifiers(&keys, "log")?));
            options.origin = origin;
            options.witness_policy = policy(&witnesses, k)?;
            return Ok(match verify_log_dir(&dir, &options) {
                Ok(report) => {
                    match format {
                        Format::Json => println!(
                            "{}",
                            json!({
                                "ok": true,
                                "entries": report.entries,
                                "entry_bytes": report.entry_bytes,
                                "root": describe_root(&report.root),
                                "checkpoints": report.checkpoints,
                                "cosigned": report.cosigned,
                                "underived": report.underived,
                                "torn_tail_bytes": report.torn_tail_bytes,
                            })
                        ),
                        Format::Text => {
                            println!(
                                "{} {} entries, {} checkpoints ({} meeting the witness policy), root {}",
                                "OK".green().bold(),
                                report.entries,
                                report.checkpoints,
                                report.cosigned,
                                describe_root(&report.root)
                            );
                            print_unfinished_batch(&report);
                        }
                    }
                    if options.witness_policy.is_some() && report.cosigned == 0 {
                        eprintln!("no checkpoint meets the witness policy");
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    let index = match &e {
                        ensuresec_auditlog::verify_dir::VerifyError::Entry { index, .. } => {
                            Some(*index)
                        }
                        ensuresec_auditlog::verify_dir::VerifyError::Altered { from, .. } => {
                            Some(*from)
                        }
                        ensuresec_auditlog::verify_dir::VerifyError::Missing {
                            entries, ..
                        } => Some(*entries),
                        _ => None,
                    };
                    match format {
                        Format::Json => println!(
                            "{}",
                            json!({ "ok": false, "first_bad_index": index, "error": e.to_string() })
                        ),
                        Format::Text => println!("{} {e}", "TAMPERED".red().bold()),
                    }
                    ExitCode::from(1)
                }
            });
        }
        Command::VerifyReceipt {
            file,
            keys,
            witnesses,
            policy: k,
            format,
        } => {
            let meta = std::fs::metadata(&file).with_context(|| format!("{}", file.display()))?;
            if meta.len() > MAX_RECEIPT_BYTES as u64 {
                bail!("{} is larger than a receipt can be", file.display());
            }
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let log_keys = VerifierSet::new(verifiers(&keys, "log")?);
            let policy = policy(&witnesses, k)?;
            let result =
                Receipt::from_json(&text).and_then(|r| r.verify(&log_keys, None, policy.as_ref()));
            return Ok(match result {
                Ok(v) => {
                    let record: serde_json::Value =
                        serde_json::from_slice(&v.entry).unwrap_or(serde_json::Value::Null);
                    match format {
                        Format::Json => println!(
                            "{}",
                            json!({
                                "ok": true,
                                "index": v.index,
                                "origin": v.checkpoint.origin,
                                "tree_size": v.checkpoint.size,
                                "witnesses": v.witnesses,
                                "record": record,
                            })
                        ),
                        Format::Text => {
                            println!(
                                "{} entry {} is in {} at tree size {}{}",
                                "OK".green().bold(),
                                v.index,
                                v.checkpoint.origin,
                                v.checkpoint.size,
                                if v.witnesses.is_empty() {
                                    String::new()
                                } else {
                                    format!(", cosigned by {}", v.witnesses.join(", "))
                                }
                            );
                            println!("{record}");
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    match format {
                        Format::Json => {
                            println!("{}", json!({ "ok": false, "error": e.to_string() }))
                        }
                        Format::Text => println!("{} {e}", "INVALID".red().bold()),
                    }
                    ExitCode::from(1)
                }
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Notes what a writer that stopped abruptly left behind: not tampering, but worth knowing.
fn print_unfinished_batch(report: &VerifyReport) {
    if report.underived > 0 {
        println!(
            "note: the last {} entries are not in the derived files yet (the writer stopped before deriving them); they were verified from the entries alone and are derived when the log is opened",
            report.underived
        );
    }
    if report.torn_tail_bytes > 0 {
        println!(
            "note: entries.log ends with {} bytes of an unfinished record that was never acknowledged (the writer stopped while writing it); opening the log drops them",
            report.torn_tail_bytes
        );
    }
}
