//! The files behind the identity commands: private JWKs (owner-only), JSON documents, and the
//! issuer's status list state.

use std::path::Path;

use anyhow::{Context, bail};
use ensuresec_identity::{Jwk, SigningKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Writes a new file (refusing to overwrite) with `mode`; a crash never leaves half of it.
pub fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    ensuresec_durable::create_new(path, mode, text.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} exists already; it is not overwritten", path.display())
        } else {
            e.into()
        }
    })
}

/// Replaces a public file whole: a crash leaves the old content or the new, never a mix (the
/// status list is what tells verifiers which credentials are revoked).
pub fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    Ok(ensuresec_durable::replace(path, 0o644, text.as_bytes())?)
}

/// Reads a JSON document.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Pretty JSON text with a final newline.
pub fn json_text(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    text.push('\n');
    text
}

/// Writes a new private key file (owner read/write only).
pub fn write_private_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    write_new(path, &json_text(&key.to_jwk()), 0o600)
}

/// Reads a private key file.
pub fn read_private_key(path: &Path) -> anyhow::Result<SigningKey> {
    let jwk: Jwk = read_json(path)?;
    if jwk.d.is_none() {
        bail!(
            "{} holds a public key; a private key (with \"d\") is needed",
            path.display()
        );
    }
    SigningKey::from_jwk(&jwk).with_context(|| format!("key in {}", path.display()))
}
