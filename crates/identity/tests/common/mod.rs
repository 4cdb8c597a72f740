//! Helpers shared by the integration tests: the SD-JWT specification's examples (a shared
//! corpus, absent on users' machines) and the keys in their `settings.yml`.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::fs;
use std::path::{Path, PathBuf};

use ensuresec_identity::disclosure::Disclosure;
use ensuresec_identity::{Jwk, SigningKey};
use serde_json::Value;

/// The examples folder (`../shared` beside the project, or `$ENSURESEC_SHARED_DIR`), or `None`
/// (after printing why) when it is absent outside CI. Under `CI=true` an absent corpus is a
/// failure, so CI can never pass by skipping.
pub fn corpus() -> Option<PathBuf> {
    let shared = std::env::var_os("ENSURESEC_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("corpora/sd-jwt/examples");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "SD-JWT corpus missing at {} (required when CI=true)",
        dir.display()
    );
    eprintln!(
        "SKIP: SD-JWT corpus not found at {}; skipping",
        dir.display()
    );
    None
}

/// The keys, identifiers and times of `settings.yml`.
pub struct Settings {
    pub issuer_key: SigningKey,
    pub holder_key: SigningKey,
    pub holder_jwk: Jwk,
    pub issuer: String,
    pub verifier: String,
    pub nonce: String,
    pub iat: i64,
    pub exp: i64,
}

fn jwk(settings: &Value, name: &str) -> Jwk {
    serde_json::from_value(settings["key_settings"][name].clone())
        .expect("settings.yml key is a JWK")
}

/// Reads `settings.yml`.
pub fn settings(corpus: &Path) -> Settings {
    let text = fs::read_to_string(corpus.join("settings.yml")).expect("settings.yml is readable");
    let settings: Value = serde_yaml_ng::from_str(&text).expect("settings.yml is YAML");
    let holder = jwk(&settings, "holder_key");
    Settings {
        issuer_key: SigningKey::from_jwk(&jwk(&settings, "issuer_key")).expect("issuer key"),
        holder_key: SigningKey::from_jwk(&holder).expect("holder key"),
        holder_jwk: holder.public(),
        issuer: settings["identifiers"]["issuer"]
            .as_str()
            .expect("issuer")
            .to_owned(),
        verifier: settings["identifiers"]["verifier"]
            .as_str()
            .expect("verifier")
            .to_owned(),
        nonce: settings["key_binding_nonce"]
            .as_str()
            .expect("nonce")
            .to_owned(),
        iat: settings["iat"].as_i64().expect("iat"),
        exp: settings["exp"].as_i64().expect("exp"),
    }
}

/// The example folders with a compact presentation (`sd_jwt_presentation.txt`); the JWS JSON
/// serialization examples are not supported and left out.
pub fn compact_examples(corpus: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(corpus)
        .expect("corpus is a folder")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.join("sd_jwt_presentation.txt").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// A file of the example with its line wrapping removed.
pub fn unwrapped(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name))
        .expect("example file is readable")
        .split_whitespace()
        .collect()
}

/// A JSON file of the example.
pub fn json(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(dir.join(name)).expect("example file is readable"))
        .expect("example file is JSON")
}

/// The disclosures listed in `disclosures.md`, in order: `(digest, encoded)`.
pub fn listed_disclosures(dir: &Path) -> Vec<(String, Disclosure)> {
    let text = fs::read_to_string(dir.join("disclosures.md")).expect("disclosures.md is readable");
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    let mut digest = None;
    while let Some(line) = lines.next() {
        if let Some(rest) = line.trim().strip_prefix("* SHA-256 Hash: `") {
            digest = Some(rest.trim_end_matches('`').to_owned());
        } else if line.trim() == "* Disclosure:\\" {
            let mut encoded = String::new();
            while let Some(part) = lines.next_if(|l| l.starts_with('`')) {
                encoded.push_str(part.trim_end_matches('\\').trim_matches('`'));
            }
            let d = Disclosure::parse(out.len(), &encoded).expect("listed disclosure parses");
            out.push((digest.take().expect("hash listed before disclosure"), d));
        }
    }
    out
}

pub mod fixture;
pub mod random_claims;
