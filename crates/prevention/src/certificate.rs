//! Certificates: a signed statement of what was checked (an OpenAPI audit or a workflow check),
//! against which rules or properties, the SHA-256 of every file checked, and the verdict. The
//! statement is a C2SP signed note (the envelope of the audit log's checkpoints) signed with
//! the audit log's Ed25519 key, so anyone holding the log's verifier key can check it offline.

use std::sync::Arc;

use ensuresec_auditlog::note::{
    Ed25519Signer, Note, NoteError, NoteSigner, NoteVerifier, VerifierSet, parse_verifier_key,
    sign_note,
};

/// SHA-256 of bytes, hex: how certificates name file contents.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// First line of every certificate.
pub const HEADER: &str = "ensuresec prevention certificate v1";

/// What a certificate states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `openapi-audit` or `workflow-check`.
    pub check: String,
    /// The tool and its version.
    pub tool: String,
    /// When, RFC 3339 (given by the caller).
    pub time: String,
    /// Every file checked, with its SHA-256 (hex); the first is the root.
    pub files: Vec<(String, String)>,
    /// Rule ids or property names checked.
    pub checked: Vec<String>,
    /// `pass` or `fail`.
    pub verdict: String,
    /// One line: counts, the failing properties or the severity threshold.
    pub summary: String,
}

/// Why a certificate was refused.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// Not a signed note, or no trusted signature verifies.
    #[error("signature: {0}")]
    Note(#[from] NoteError),
    /// A verifier key is malformed.
    #[error("verifier key {key:?}: {source}")]
    Key {
        /// The key as given.
        key: String,
        /// Why.
        source: NoteError,
    },
    /// The signed text is not a certificate.
    #[error("line {line}: {message}")]
    Format {
        /// 1-based line of the note text.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A value on one line: newlines and other control characters would change the statement.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Statement {
    /// The note text: `key: value` lines, files and checked items one per line.
    pub fn to_text(&self) -> String {
        let mut t = format!("{HEADER}\n");
        t.push_str(&format!("check: {}\n", one_line(&self.check)));
        t.push_str(&format!("tool: {}\n", one_line(&self.tool)));
        t.push_str(&format!("time: {}\n", one_line(&self.time)));
        for (path, sha) in &self.files {
            t.push_str(&format!("file: {} {}\n", one_line(sha), one_line(path)));
        }
        for c in &self.checked {
            t.push_str(&format!("checked: {}\n", one_line(c)));
        }
        t.push_str(&format!("verdict: {}\n", one_line(&self.verdict)));
        t.push_str(&format!("summary: {}\n", one_line(&self.summary)));
        t
    }

    /// Reads the note text back.
    pub fn parse(text: &str) -> Result<Self, CertificateError> {
        let err = |line: usize, message: String| CertificateError::Format { line, message };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(err(1, format!("expected `{HEADER}`"))),
        }
        let mut s = Statement {
            check: String::new(),
            tool: String::new(),
            time: String::new(),
            files: Vec::new(),
            checked: Vec::new(),
            verdict: String::new(),
            summary: String::new(),
        };
        for (i, line) in lines {
            let (key, value) = line
                .split_once(": ")
                .ok_or_else(|| err(i + 1, "expected `key: value`".into()))?;
            match key {
                "check" => s.check = value.into(),
                "tool" => s.tool = value.into(),
                "time" => s.time = value.into(),
                "file" => {
                    let (sha, path) = value
                        .split_once(' ')
                        .ok_or_else(|| err(i + 1, "expected `file: SHA256 PATH`".into()))?;
                    s.files.push((path.into(), sha.into()));
                }
                "checked" => s.checked.push(value.into()),
                "verdict" => s.verdict = value.into(),
                "summary" => s.summary = value.into(),
                other => return Err(err(i + 1, format!("unknown key `{other}`"))),
            }
        }
        if s.check.is_empty() || s.verdict.is_empty() || s.files.is_empty() {
            return Err(err(1, "missing check, verdict or file".into()));
        }
        Ok(s)
    }

    /// The signed note (text, blank line, signature line).
    pub fn sign(&self, signer: &Ed25519Signer) -> Result<String, CertificateError> {
        let signers: [&dyn NoteSigner; 1] = [signer];
        Ok(sign_note(&self.to_text(), &signers)?.to_string())
    }
}

/// Verifies a certificate against verifier keys (`name+id+key`, as `ensuresec ledger key`
/// prints them) and returns its statement.
pub fn verify(note: &[u8], vkeys: &[String]) -> Result<Statement, CertificateError> {
    let keys = vkeys
        .iter()
        .map(|k| {
            parse_verifier_key(k.trim()).map_err(|source| CertificateError::Key {
                key: k.clone(),
                source,
            })
        })
        .collect::<Result<Vec<Arc<dyn NoteVerifier>>, _>>()?;
    let note = Note::parse(note)?;
    note.verify(&VerifierSet::new(keys))?;
    Statement::parse(&note.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> Statement {
        Statement {
            check: "openapi-audit".into(),
            tool: "ensuresec 0.1.0".into(),
            time: "2026-12-04T15:00:00Z".into(),
            files: vec![("api.yaml".into(), "ab".repeat(32))],
            checked: vec!["bola-unscoped-object-id".into(), "tls-missing".into()],
            verdict: "pass".into(),
            summary: "0 findings at or above medium\nforged: line".into(),
        }
    }

    #[test]
    fn a_signed_certificate_verifies_and_reads_back() {
        let signer = Ed25519Signer::from_seed("shop.example/audit", &[7; 32]).expect("key");
        let cert = statement().sign(&signer).expect("signs");
        let back = verify(cert.as_bytes(), &[signer.vkey()]).expect("verifies");
        let mut expected = statement();
        expected.summary = "0 findings at or above medium forged: line".into();
        assert_eq!(back, expected);
    }

    #[test]
    fn tampering_or_a_foreign_key_is_refused() {
        let signer = Ed25519Signer::from_seed("shop.example/audit", &[7; 32]).expect("key");
        let cert = statement().sign(&signer).expect("signs");
        let forged = cert.replace("verdict: pass", "verdict: fail");
        assert!(matches!(
            verify(forged.as_bytes(), &[signer.vkey()]),
            Err(CertificateError::Note(NoteError::BadSignature { .. }))
        ));
        let other = Ed25519Signer::from_seed("other.example/audit", &[8; 32]).expect("key");
        assert!(matches!(
            verify(cert.as_bytes(), &[other.vkey()]),
            Err(CertificateError::Note(NoteError::NoTrustedSignature))
        ));
        assert!(verify(cert.as_bytes(), &["not a key".into()]).is_err());
    }
}
