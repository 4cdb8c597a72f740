//! The content-addressed copy store: every baselined file's bytes under `objects/ab/cdef…`,
//! named by their BLAKE3 hash. Objects are written once (temporary file, `fsync`, rename) and
//! verified against their name whenever they are read back, so a restore is byte-identical or
//! fails loudly. The folders their names went into are synced once per baseline
//! ([`ObjectStore::sync`]), before the baseline that refers to them is signed, not once per
//! object.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{IntegrityError, io};

/// Read buffer for hashing and copying.
const BUF: usize = 64 * 1024;

/// The copy store in a folder.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    dir: PathBuf,
    /// Fan-out folders that gained a name since the last [`ObjectStore::sync`] (shared by
    /// the clones).
    unsynced: Arc<Mutex<BTreeSet<PathBuf>>>,
}

/// BLAKE3 of everything `reader` yields, hex, and the number of bytes.
pub fn hash_reader(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().to_hex().to_string(), total))
}

/// Copies `reader` into `out` while hashing; returns the hash and size of what was copied.
fn copy_hashing(mut reader: impl Read, out: &mut impl Write) -> std::io::Result<(String, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
    Ok((hasher.finalize().to_hex().to_string(), total))
}

impl ObjectStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path) -> Result<ObjectStore, IntegrityError> {
        std::fs::create_dir_all(dir.join("tmp")).map_err(io(dir))?;
        Ok(ObjectStore {
            dir: dir.to_path_buf(),
            unsynced: Arc::default(),
        })
    }

    /// Where the object `hash` lives.
    pub fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(&hash[..2]).join(&hash[2..])
    }

    /// Whether the object is present.
    pub fn contains(&self, hash: &str) -> bool {
        self.path(hash).is_file()
    }

    /// Stores what `reader` yields; returns its hash and size. Nothing is written when the
    /// object is already present.
    pub fn put(&self, reader: impl Read) -> Result<(String, u64), IntegrityError> {
        let tmp_dir = self.dir.join("tmp");
        let mut tmp = ensuresec_durable::temporary_in(&tmp_dir, "object")?;
        let (hash, size) = copy_hashing(reader, tmp.as_file_mut()).map_err(io(tmp.path()))?;
        let dest = self.path(&hash);
        if dest.is_file() {
            return Ok((hash, size));
        }
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        let parent = dest.parent().expect("an object path has a fan-out folder");
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        tmp.persist(&dest).map_err(|e| IntegrityError::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        self.unsynced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(parent.to_path_buf());
        Ok((hash, size))
    }

    /// Syncs the folders that gained objects since the last call, and the store's own folder
    /// (where new fan-out folders appear), so that the objects a baseline refers to survive a
    /// crash; returns how many folders were synced.
    pub fn sync(&self) -> Result<usize, IntegrityError> {
        let folders =
            std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(PoisonError::into_inner));
        for folder in folders.iter().chain([&self.dir]) {
            ensuresec_durable::sync_dir(folder)?;
        }
        Ok(folders.len() + 1)
    }

    /// Stores a copy of the file at `path` unless the object `hash` is present already; returns
    /// the hash of what is stored (which differs from `hash` if the file changed meanwhile).
    pub fn put_file(&self, path: &Path, hash: &str) -> Result<String, IntegrityError> {
        if self.contains(hash) {
            return Ok(hash.to_string());
        }
        let file = File::open(path).map_err(io(path))?;
        Ok(self.put(file)?.0)
    }

    /// Copies the object `hash` into `out`, checking that the bytes hash to the name.
    pub fn copy_to(&self, hash: &str, out: &mut impl Write) -> Result<u64, IntegrityError> {
        let path = self.path(hash);
        let file = File::open(&path).map_err(|e| IntegrityError::Object {
            hash: hash.to_string(),
            message: e.to_string(),
        })?;
        let (got, size) = copy_hashing(file, out).map_err(io(&path))?;
        if got != hash {
            return Err(IntegrityError::Object {
                hash: hash.to_string(),
                message: format!("content hashes to {got}: the copy store was altered"),
            });
        }
        Ok(size)
    }

    /// The object's bytes, verified, when it is at most `max` bytes.
    pub fn read(&self, hash: &str, max: u64) -> Result<Option<Vec<u8>>, IntegrityError> {
        let len = std::fs::metadata(self.path(hash))
            .map_err(|e| IntegrityError::Object {
                hash: hash.to_string(),
                message: e.to_string(),
            })?
            .len();
        if len > max {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(len as usize);
        self.copy_to(hash, &mut out)?;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_by_content_and_verified_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let (hash, size) = store.put(&b"<?php echo 'hi';"[..]).unwrap();
        assert_eq!(hash, blake3::hash(b"<?php echo 'hi';").to_hex().to_string());
        assert_eq!(size, 16);
        assert_eq!(
            store.read(&hash, 1024).unwrap().unwrap(),
            b"<?php echo 'hi';"
        );
        assert_eq!(
            store.sync().unwrap(),
            2,
            "its fan-out folder and the store's"
        );
        assert_eq!(
            store.sync().unwrap(),
            1,
            "nothing new: the store's folder only"
        );
        let again = store.clone();
        again.put(&b"<?php echo 'hi';"[..]).unwrap();
        again.put(&b"another file"[..]).unwrap();
        assert_eq!(
            store.sync().unwrap(),
            2,
            "a clone's object counts; a present one not"
        );
        std::fs::write(store.path(&hash), b"tampered").unwrap();
        let e = store.read(&hash, 1024).unwrap_err();
        assert!(e.to_string().contains("the copy store was altered"), "{e}");
    }
}
