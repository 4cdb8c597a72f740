//! Turning appended records into the derived files: the offset index and every completed
//! node hash, buffered per batch and written with one positional write per file.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::hash::{HASH_SIZE, Hash};
use crate::merkle::Frontier;

use super::layout::{INDEX_RECORD, level_path, open_rw};
use super::{StoreError, io};

/// New node hashes of one level, consecutive from `first`.
#[derive(Debug, Default)]
pub(crate) struct LevelBuf {
    pub first: u64,
    pub hashes: Vec<Hash>,
}

/// The derived-state builder the writer (and recovery) feed records into.
#[derive(Debug)]
pub(crate) struct Deriver {
    pub frontier: Frontier,
    index_first: u64,
    index_buf: Vec<u8>,
    pub levels: Vec<LevelBuf>,
}

impl Deriver {
    /// Continues a tree whose frontier is `frontier`.
    pub(crate) fn new(frontier: Frontier) -> Self {
        let size = frontier.size();
        Self {
            frontier,
            index_first: size,
            index_buf: Vec::new(),
            levels: Vec::new(),
        }
    }

    /// Adds one record, at byte `offset` of the entries file, with its leaf hash.
    pub(crate) fn add(&mut self, offset: u64, leaf: Hash) {
        self.index_buf.extend_from_slice(&offset.to_be_bytes());
        let levels = &mut self.levels;
        self.frontier.push(leaf, |level, index, hash| {
            let level = usize::from(level);
            while levels.len() <= level {
                levels.push(LevelBuf::default());
            }
            let buf = &mut levels[level];
            if buf.hashes.is_empty() {
                buf.first = index;
            }
            buf.hashes.push(*hash);
        });
    }

    /// Writes the buffered index records and node hashes, then clears the buffers (keeping the
    /// new nodes of levels `from_level..` in `kept` for the caller's memory levels).
    pub(crate) fn flush(
        &mut self,
        files: &mut LevelFiles,
        index: &File,
        from_level: u8,
        kept: &mut Vec<(u8, LevelBuf)>,
    ) -> Result<(), StoreError> {
        index
            .write_all_at(&self.index_buf, self.index_first * INDEX_RECORD)
            .map_err(io("writing index.bin"))?;
        self.index_buf.clear();
        self.index_first = self.frontier.size();
        kept.clear();
        let mut bytes = Vec::new();
        for (level, buf) in self.levels.iter_mut().enumerate() {
            if buf.hashes.is_empty() {
                continue;
            }
            let level = u8::try_from(level)
                .map_err(|_| StoreError::Corrupt("tree deeper than 64 levels".into()))?;
            bytes.clear();
            for h in &buf.hashes {
                bytes.extend_from_slice(h);
            }
            files
                .get(level)?
                .write_all_at(&bytes, buf.first * HASH_SIZE as u64)
                .map_err(io(format!("writing node hashes of level {level}")))?;
            if level >= from_level {
                kept.push((level, std::mem::take(buf)));
            } else {
                buf.hashes.clear();
            }
        }
        Ok(())
    }
}

/// The node-hash files of every level, opened on first use.
#[derive(Debug)]
pub(crate) struct LevelFiles {
    dir: std::path::PathBuf,
    files: Vec<Option<File>>,
}

impl LevelFiles {
    /// Opens every level file that exists.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        let mut files = Vec::with_capacity(64);
        for level in 0..64u8 {
            let path = level_path(dir, level);
            files.push(if path.exists() {
                Some(open_rw(&path).map_err(io(format!("opening {}", path.display())))?)
            } else {
                None
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            files,
        })
    }

    /// The file of one level, created if needed.
    pub(crate) fn get(&mut self, level: u8) -> Result<&File, StoreError> {
        let slot = self
            .files
            .get_mut(usize::from(level))
            .ok_or_else(|| StoreError::Corrupt(format!("node level {level} beyond 63")))?;
        if slot.is_none() {
            let path = level_path(&self.dir, level);
            *slot = Some(open_rw(&path).map_err(io(format!("creating {}", path.display())))?);
        }
        slot.as_ref()
            .ok_or_else(|| StoreError::Corrupt("level file vanished".into()))
    }

    /// The file of one level if it exists.
    pub(crate) fn existing(&self, level: u8) -> Option<&File> {
        self.files.get(usize::from(level)).and_then(Option::as_ref)
    }

    /// Flushes every level file to disk.
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        for (level, f) in self.files.iter().enumerate() {
            if let Some(f) = f {
                f.sync_data()
                    .map_err(io(format!("syncing node hashes of level {level}")))?;
            }
        }
        Ok(())
    }
}
