//! Certificates of `audit api --certify` and `verify workflow --certify`: signed with the audit
//! log's key (the data directory's, or a key file), written to a file, and recorded in the
//! audit log through its inbox when the log is the data directory's; and `verify certificate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{SecondsFormat, Utc};
use ensuresec_auditlog::note::{Ed25519Signer, SignerKey, parse_signer_key};
use ensuresec_prevention::certificate::{self, Statement};
use ensuresec_server::ledger::{RecordKind, inbox, keys};

/// Flags shared by the commands that can certify.
#[derive(clap::Args)]
pub struct CertifyArgs {
    /// Write a signed certificate of this check to this file.
    #[arg(long, value_name = "FILE")]
    certify: Option<PathBuf>,
    /// Sign with this key file (`PRIVATE+KEY+…`) instead of the audit log's key; the
    /// certificate is then not recorded in the audit log.
    #[arg(long, value_name = "SKEY", requires = "certify")]
    key: Option<PathBuf>,
    /// Data directory whose audit log signs and records the certificate.
    #[arg(long, requires = "certify")]
    data_dir: Option<PathBuf>,
}

/// The time of a statement: a CLI edge, not detection.
pub fn now() -> String {
    #[allow(clippy::disallowed_methods)] // a CLI edge, not detection: the certificate's time
    let t = Utc::now();
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Signs and writes the statement when `--certify` was given; records it in the audit log when
/// the log's own key signed it.
pub fn issue(args: &CertifyArgs, statement: &Statement) -> anyhow::Result<()> {
    let Some(out) = &args.certify else {
        return Ok(());
    };
    let (signer, data_dir) = match &args.key {
        Some(path) => (signer_from_file(path)?, None),
        None => {
            let config = super::load_config(None, args.data_dir.clone())?;
            let dir = keys::ledger_dir(&config.storage.data_dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let k = keys::load_or_create(&dir, &config.ledger)?;
            let record_in = config
                .ledger
                .enabled
                .then(|| config.storage.data_dir.clone());
            (k.signer, record_in)
        }
    };
    let note = statement.sign(&signer)?;
    std::fs::write(out, &note).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "certificate written to {} (verifier key: {})",
        out.display(),
        signer.vkey()
    );
    if let Some(dir) = data_dir {
        let record = serde_json::json!({
            "check": statement.check,
            "files": statement.files.iter().map(|(p, h)| serde_json::json!({"path": p, "sha256": h})).collect::<Vec<_>>(),
            "verdict": statement.verdict,
            "summary": statement.summary,
            "certificate": note,
        });
        #[allow(clippy::disallowed_methods)] // a CLI edge, not detection: the record's time
        let t = Utc::now();
        inbox::submit(&dir, RecordKind::Certificate, t, &record)
            .context("recording the certificate in the audit log inbox")?;
    }
    Ok(())
}

fn signer_from_file(path: &Path) -> anyhow::Result<Ed25519Signer> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match parse_signer_key(text.trim()) {
        Ok(SignerKey::Ed25519(s)) => Ok(s),
        Ok(SignerKey::Cosigner(_)) => bail!(
            "{} is a witness cosigning key, not a signing key",
            path.display()
        ),
        Err(e) => bail!("{}: {e}", path.display()),
    }
}

/// Arguments of `ensuresec verify certificate`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The certificate file.
    file: PathBuf,
    /// Verifier keys to trust (default: the data directory's audit log keys).
    #[arg(long = "vkey")]
    vkeys: Vec<String>,
    /// Data directory whose audit log keys to trust.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also re-hash the certified files (paths as written in the certificate) and compare.
    #[arg(long)]
    check_files: bool,
}

/// Verifies a certificate: 0 valid (and files unchanged with `--check-files`), 1 not.
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let vkeys = if args.vkeys.is_empty() {
        let config = super::load_config(None, args.data_dir.clone())?;
        keys::read_vkeys(&keys::ledger_dir(&config.storage.data_dir))?
    } else {
        args.vkeys.clone()
    };
    if vkeys.is_empty() {
        bail!("no verifier key: pass --vkey or --data-dir");
    }
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let statement = match certificate::verify(&bytes, &vkeys) {
        Ok(s) => s,
        Err(e) => {
            println!("INVALID: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    println!(
        "valid: {} by {} at {}",
        statement.check, statement.tool, statement.time
    );
    println!("verdict: {} ({})", statement.verdict, statement.summary);
    let mut ok = true;
    for (path, sha) in &statement.files {
        if !args.check_files {
            println!("file: {path} sha256 {sha}");
            continue;
        }
        let now = std::fs::read(path).map(|b| certificate::sha256_hex(&b));
        match now {
            Ok(h) if &h == sha => println!("file: {path} unchanged"),
            Ok(_) => {
                ok = false;
                println!("file: {path} CHANGED since the certificate");
            }
            Err(e) => {
                ok = false;
                println!("file: {path} cannot be read: {e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
