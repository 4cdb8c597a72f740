//! The files behind the identity commands: private JWKs (owner-only), JSON documents, and the
//! issuer's status list state.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context, bail};
use ensuresec_identity::{Jwk, SigningKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Writes a new file (refusing to overwrite) with `mode`.
pub fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Replaces a file atomically (write then rename).
pub fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
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
