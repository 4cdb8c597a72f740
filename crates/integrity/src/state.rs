//! The state folder of one monitored root:
//!
//! ```text
//! baseline.note            the current signed header (C2SP signed note)
//! manifests/<blake3>.ndjson every manifest ever signed, named by its hash
//! history/<generation>.note the headers it replaced
//! objects/ab/cdef…         the copy store
//! quarantine/<time>/…      what restore removed
//! journal.ndjson           what accept and restore did
//! baseline.skey / .vkey    the signing key (0600) and its verifier key
//! .lock                    held while a baseline, accept, restore or hold changes the folder
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ensuresec_auditlog::note::{
    self, Ed25519Signer, KeyKind, Note, NoteVerifier, SignerKey, VerifierSet,
};
use ensuresec_durable::Lock;

use crate::error::{IntegrityError, io};
use crate::header::Header;
use crate::manifest::{self, Manifest};
use crate::objects::ObjectStore;

/// Name of the baseline signing key in its notes.
pub const KEY_NAME: &str = "ensuresec-integrity";
/// Largest manifest read back, in bytes (about 5 million files).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// A verified baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// What it vouches for.
    pub header: Header,
    /// Its files.
    pub manifest: Manifest,
    /// The signed note, as stored.
    pub note: String,
}

/// The state folder of one root.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
    objects: ObjectStore,
    trusted: Option<String>,
}

/// Replaces a state file whole (see `ensuresec_durable`).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), IntegrityError> {
    Ok(ensuresec_durable::replace(path, mode, bytes)?)
}

impl StateDir {
    /// Opens (creating) the state folder. `trusted` pins the verifier key baselines must be
    /// signed with; without it the key in the folder is trusted (first use).
    pub fn open(dir: &Path, trusted: Option<String>) -> Result<StateDir, IntegrityError> {
        for sub in ["manifests", "history", "quarantine"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io(dir.join(sub)))?;
        }
        let dir = std::fs::canonicalize(dir).map_err(io(dir))?;
        let objects = ObjectStore::open(&dir.join("objects"))?;
        Ok(StateDir {
            dir,
            objects,
            trusted,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The copy store.
    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    /// Takes the folder's write lock, waiting while another process (the server's monitor, an
    /// operator's command) changes it, and removes what an interrupted write left in it. Every
    /// change of the folder holds it, from reading the baseline it starts from to the journal
    /// record it ends with, so that two changes never both start from the same baseline.
    pub fn lock(&self) -> Result<Lock, IntegrityError> {
        Ok(ensuresec_durable::lock_folder(
            &self.dir,
            &[".", "manifests", "history", "objects/tmp"],
        )?)
    }

    /// Whether a baseline has been taken.
    pub fn has_baseline(&self) -> bool {
        self.dir.join("baseline.note").is_file()
    }

    /// The signing key, created (owner-only) on first use.
    fn signer(&self) -> Result<Ed25519Signer, IntegrityError> {
        let skey_path = self.dir.join("baseline.skey");
        if !skey_path.exists() {
            let (skey, vkey) = note::generate_key(KEY_NAME, KeyKind::Ed25519)
                .map_err(|e| IntegrityError::Signature(e.to_string()))?;
            ensuresec_durable::create_new(&skey_path, 0o600, format!("{skey}\n").as_bytes())?;
            write_atomic(
                &self.dir.join("baseline.vkey"),
                format!("{vkey}\n").as_bytes(),
                0o644,
            )?;
        }
        let text = std::fs::read_to_string(&skey_path).map_err(io(&skey_path))?;
        match note::parse_signer_key(&text)
            .map_err(|e| IntegrityError::Signature(format!("{}: {e}", skey_path.display())))?
        {
            SignerKey::Ed25519(s) => Ok(s),
            SignerKey::Cosigner(_) => Err(IntegrityError::Signature(format!(
                "{}: a cosigning key, not a signing key",
                skey_path.display()
            ))),
        }
    }

    /// The verifier key baselines are checked with (pinned, else the folder's).
    pub fn vkey(&self) -> Result<String, IntegrityError> {
        if let Some(k) = &self.trusted {
            return Ok(k.clone());
        }
        let path = self.dir.join("baseline.vkey");
        Ok(std::fs::read_to_string(&path)
            .map_err(io(&path))?
            .trim()
            .to_string())
    }

    fn verifier(&self) -> Result<Arc<dyn NoteVerifier>, IntegrityError> {
        note::parse_verifier_key(&self.vkey()?)
            .map_err(|e| IntegrityError::Signature(format!("verifier key: {e}")))
    }

    /// Loads the current baseline, verifying its signature and its manifest's hash.
    pub fn load(&self) -> Result<Baseline, IntegrityError> {
        if !self.has_baseline() {
            return Err(IntegrityError::NoBaseline(self.dir.clone()));
        }
        let path = self.dir.join("baseline.note");
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let parsed = Note::parse(&bytes)
            .map_err(|e| IntegrityError::Signature(format!("{}: {e}", path.display())))?;
        parsed
            .verify(&VerifierSet::new(vec![self.verifier()?]))
            .map_err(|e| IntegrityError::Signature(format!("{}: {e}", path.display())))?;
        let header = Header::parse(&path.display().to_string(), &parsed.text)?;
        let mpath = self
            .dir
            .join("manifests")
            .join(format!("{}.ndjson", header.manifest));
        let len = std::fs::metadata(&mpath).map_err(io(&mpath))?.len();
        if len > MAX_MANIFEST_BYTES {
            return Err(IntegrityError::Limit {
                what: format!("{}: bytes", mpath.display()),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let mbytes = std::fs::read(&mpath).map_err(io(&mpath))?;
        let got = blake3::hash(&mbytes).to_hex().to_string();
        if got != header.manifest {
            return Err(IntegrityError::Signature(format!(
                "{}: hashes to {got}, the signed baseline says {}",
                mpath.display(),
                header.manifest
            )));
        }
        let manifest = manifest::parse(&mpath.display().to_string(), &mbytes)?;
        Ok(Baseline {
            header,
            manifest,
            note: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Signs and stores a new baseline; the header's `manifest`, `files` and `bytes` are filled
    /// in from `manifest`. The previous header is kept in `history/`.
    pub fn commit(
        &self,
        mut header: Header,
        manifest: Manifest,
    ) -> Result<Baseline, IntegrityError> {
        // The copies the manifest refers to are durable before the manifest is.
        self.objects.sync()?;
        let bytes = manifest::to_ndjson(&manifest);
        header.manifest = blake3::hash(&bytes).to_hex().to_string();
        header.files = manifest.len() as u64;
        header.bytes = manifest.values().map(|e| e.size).sum();
        let mpath = self
            .dir
            .join("manifests")
            .join(format!("{}.ndjson", header.manifest));
        write_atomic(&mpath, &bytes, 0o644)?;
        let signer = self.signer()?;
        let signed = note::sign_note(&header.to_text(), &[&signer])
            .map_err(|e| IntegrityError::Signature(e.to_string()))?
            .to_string();
        let current = self.dir.join("baseline.note");
        if current.is_file() {
            let old = std::fs::read(&current).map_err(io(&current))?;
            let generation = header.generation.saturating_sub(1);
            write_atomic(
                &self.dir.join("history").join(format!("{generation}.note")),
                &old,
                0o644,
            )?;
        }
        write_atomic(&current, signed.as_bytes(), 0o644)?;
        Ok(Baseline {
            header,
            manifest,
            note: signed,
        })
    }

    /// Where a deploy hold is written (see [`crate::monitor::Hold`]).
    pub fn hold_path(&self) -> PathBuf {
        self.dir.join("hold.json")
    }

    /// Starts a deploy hold: the monitor reports nothing until `hold.until` or the next accept.
    pub fn set_hold(&self, hold: &crate::monitor::Hold) -> Result<(), IntegrityError> {
        crate::header::check_value("reason", &hold.reason)?;
        let bytes = serde_json::to_vec(hold).expect("a hold serialises");
        let _lock = self.lock()?;
        write_atomic(&self.hold_path(), &bytes, 0o644)
    }

    /// Ends a deploy hold (nothing happens when there is none); the caller holds the lock.
    pub(crate) fn clear_hold(&self) -> Result<(), IntegrityError> {
        match std::fs::remove_file(self.hold_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(self.hold_path())(e)),
        }
    }

    /// Appends one record to `journal.ndjson`, durably.
    pub fn journal(&self, record: &serde_json::Value) -> Result<(), IntegrityError> {
        let path = self.dir.join("journal.ndjson");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut line = serde_json::to_vec(record).expect("a JSON value serialises");
        line.push(b'\n');
        f.write_all(&line)
            .and_then(|()| f.sync_data())
            .map_err(io(&path))
    }
}
