//! The offline verifier of a whole log directory: recomputes every leaf and node hash from the
//! entries, checks them against the stored index and node hashes, checks every stored checkpoint
//! signature (and cosignature, under a witness policy) and that each checkpoint's root is the
//! recomputed one. On tampering it names the first bad index and what is wrong.
//!
//! It needs no running log and no lock: it only reads the files. A writer that stopped abruptly
//! (killed, or the machine lost power) leaves the end of its last batch written but not yet
//! derived, or a record half written; neither was acknowledged, and neither is tampering. So the
//! derived files are compared wherever they exist and must exist up to the watermark they were
//! synced to (`derived.json`), and an unfinished record is accepted at the very end when no
//! index entry and no checkpoint covers it. The report counts both.

mod chunks;
mod tree;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::hash::{HASH_SIZE, Hash, hash_to_base64};
use crate::note::{Note, VerifierSet};
use crate::store::{CHECKPOINTS, Derived, ENTRIES, INDEX, INDEX_RECORD, level_path};
use crate::witness::WitnessPolicy;
use chunks::{Chunk, ChunkEnd, ChunkReader};
use tree::{BadNode, TreeChecker};

/// What to trust while verifying.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log's public keys: every stored checkpoint must verify under them.
    pub log_keys: VerifierSet,
    /// When set, every checkpoint must be for this origin.
    pub origin: Option<String>,
    /// When set, cosignatures are checked: a bad one from a known witness is tampering, and the
    /// report counts the checkpoints that meet the policy.
    pub witness_policy: Option<WitnessPolicy>,
    /// Largest entry the log accepts (entries above it count as damaged records).
    pub max_entry_bytes: usize,
    /// Threads hashing leaves (1 or more).
    pub threads: usize,
}

impl VerifyOptions {
    /// Options trusting `log_keys`, with the defaults of [`crate::LogConfig`].
    pub fn new(log_keys: VerifierSet) -> Self {
        Self {
            log_keys,
            origin: None,
            witness_policy: None,
            max_entry_bytes: crate::store::TILES_MAX_ENTRY_BYTES,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8),
        }
    }
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries.
    pub entries: u64,
    /// Bytes of entry data hashed.
    pub entry_bytes: u64,
    /// Recomputed root of the whole log.
    pub root: Hash,
    /// Stored checkpoints checked.
    pub checkpoints: usize,
    /// Of those, how many meet the witness policy (0 without a policy).
    pub cosigned: usize,
    /// Entries at the end that the derived files (`index.bin`, the stored leaf hashes) do not
    /// cover yet: a writer that stops between writing a batch and deriving it leaves them so.
    /// They were verified from the entries alone; opening the log derives them.
    pub underived: u64,
    /// Bytes of an unfinished record after the last whole entry: a writer that stopped while
    /// writing a batch it never acknowledged leaves them. Opening the log drops them.
    pub torn_tail_bytes: u64,
}

/// What the verifier found wrong: always the first problem, naming the index when there is one.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// The first entry that is wrong, and how.
    #[error("entry {index}: {problem}")]
    Entry {
        /// Leaf index.
        index: u64,
        /// What is wrong.
        problem: String,
    },
    /// A stored checkpoint is not acceptable.
    #[error("checkpoint #{number} (size {size}): {problem}")]
    Checkpoint {
        /// Position in the checkpoint history, from 0.
        number: usize,
        /// Its tree size (0 when unreadable).
        size: u64,
        /// What is wrong.
        problem: String,
    },
    /// Entries were altered consistently with the derived files, so only a signed root tells.
    #[error(
        "entries in [{from}, {to}) were altered: the root at size {to} differs from checkpoint #{number}"
    )]
    Altered {
        /// Largest checkpointed size known good before the mismatch.
        from: u64,
        /// Checkpoint size whose root differs.
        to: u64,
        /// The checkpoint.
        number: usize,
    },
    /// A checkpoint covers entries the log no longer has.
    #[error("entries from index {entries} are missing: checkpoint #{number} covers {size} entries")]
    Missing {
        /// Entries present.
        entries: u64,
        /// Size of the checkpoint.
        size: u64,
        /// The checkpoint.
        number: usize,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Verifies the log directory `dir`.
pub fn verify_log_dir(dir: &Path, options: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let (checkpoints, cosigned) = load_checkpoints(dir, options)?;
    let mut by_size: BTreeMap<u64, Vec<(usize, Hash)>> = BTreeMap::new();
    for (n, cp) in checkpoints.iter().enumerate() {
        by_size.entry(cp.size).or_default().push((n, cp.root));
    }
    let mut walker = Walker::open(dir, by_size)?;
    walker.walk(dir, options)?;
    let entries = walker.tree.size();
    if let Some((&size, list)) = walker.pending.range(entries + 1..).next() {
        return Err(VerifyError::Missing {
            entries,
            size,
            number: list.first().map_or(0, |c| c.0),
        });
    }
    Ok(VerifyReport {
        entries,
        entry_bytes: walker.entry_bytes,
        root: walker.tree.root(),
        checkpoints: checkpoints.len(),
        cosigned,
        underived: entries.saturating_sub(walker.indexed.min(walker.leaves_stored)),
        torn_tail_bytes: walker.torn_tail_bytes,
    })
}

/// Reads and checks every stored checkpoint's signatures.
fn load_checkpoints(
    dir: &Path,
    options: &VerifyOptions,
) -> Result<(Vec<Checkpoint>, usize), VerifyError> {
    let path = dir.join(CHECKPOINTS);
    let (records, end, len) =
        crate::store::read_checkpoint_records(&path).map_err(|e| VerifyError::Checkpoint {
            number: 0,
            size: 0,
            problem: e.to_string(),
        })?;
    if end != len {
        return Err(VerifyError::Checkpoint {
            number: records.len(),
            size: 0,
            problem: format!("checkpoints.log is damaged at byte {end}"),
        });
    }
    let mut out = Vec::new();
    let mut cosigned = 0;
    for (number, bytes) in records.iter().enumerate() {
        let bad = |size, problem: String| VerifyError::Checkpoint {
            number,
            size,
            problem,
        };
        let size_hint = Note::parse(bytes)
            .ok()
            .and_then(|n| Checkpoint::parse(&n.text).ok())
            .map_or(0, |c| c.size);
        let signed = SignedCheckpoint::open(bytes, &options.log_keys, options.origin.as_deref())
            .map_err(|e| bad(size_hint, e.to_string()))?;
        if let Some(policy) = &options.witness_policy {
            match policy.check(&signed.note) {
                Ok(_) => cosigned += 1,
                Err(e @ crate::witness::PolicyError::BadCosignature(_)) => {
                    return Err(bad(size_hint, e.to_string()));
                }
                Err(_) => {}
            }
        }
        out.push(signed.checkpoint);
    }
    Ok((out, cosigned))
}

/// The streaming pass over the entries.
struct Walker {
    tree: TreeChecker,
    entry_bytes: u64,
    pending: BTreeMap<u64, Vec<(usize, Hash)>>,
    last_good_size: u64,
    index: File,
    index_path: PathBuf,
    /// The stored leaf hashes (`tree/level-00.bin`), when present.
    level0: Option<File>,
    /// Entries the derived files were synced for (`derived.json`): up to there they must exist.
    synced: u64,
    /// Entries `index.bin` covers.
    indexed: u64,
    /// Entries `tree/level-00.bin` covers.
    leaves_stored: u64,
    /// Bytes of an accepted unfinished record at the end.
    torn_tail_bytes: u64,
    /// Buffers for a chunk's stored offsets and leaf hashes, reused for every chunk.
    stored_offsets: Vec<u8>,
    stored_leaves: Vec<u8>,
}

impl Walker {
    fn open(dir: &Path, pending: BTreeMap<u64, Vec<(usize, Hash)>>) -> Result<Self, VerifyError> {
        let index_path = dir.join(INDEX);
        let index = File::open(&index_path).map_err(io(&index_path))?;
        let level0_path = level_path(dir, 0);
        let level0 = match File::open(&level0_path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&level0_path)(e)),
        };
        let indexed = index.metadata().map_err(io(&index_path))?.len() / INDEX_RECORD;
        let leaves_stored = match &level0 {
            Some(f) => f.metadata().map_err(io(&level0_path))?.len() / HASH_SIZE as u64,
            None => 0,
        };
        let synced = Derived::load(dir).size;
        let tree = TreeChecker::open(dir, synced).map_err(io(&dir.join("tree")))?;
        Ok(Self {
            tree,
            entry_bytes: 0,
            pending,
            last_good_size: 0,
            index,
            index_path,
            level0,
            synced,
            indexed,
            leaves_stored,
            torn_tail_bytes: 0,
            stored_offsets: Vec::new(),
            stored_leaves: Vec::new(),
        })
    }

    /// Checks every entry in order while a second stage reads, frames and hashes the next
    /// chunk: leaf hashing (the bulk of the work) overlaps with the checks and the node hashing
    /// of the tree, which must stay sequential.
    fn walk(&mut self, dir: &Path, options: &VerifyOptions) -> Result<(), VerifyError> {
        self.check_checkpoints()?; // size-zero checkpoints
        let path = dir.join(ENTRIES);
        let file = File::open(&path).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        // Two chunks in the channel plus one in each stage bound the memory to ~4 chunks.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk, VerifyError>>(2);
        std::thread::scope(|s| {
            let reader = ChunkReader {
                file: &file,
                path: &path,
                len,
                options,
            };
            s.spawn(move || reader.run(&tx));
            for chunk in rx {
                let chunk = chunk?;
                self.consume(&chunk.records, &chunk.leaves)?;
                if let Some(end) = chunk.end {
                    return self.finish(end);
                }
            }
            // The reader stopped without an end marker: it only does so after sending an error.
            Ok(())
        })
        // Returning drops `rx`: a reader still sending sees the channel closed and stops.
    }

    /// Accepts how the entries file ended, or names the entry after the last whole one. An
    /// unfinished record is the tail of a batch that was never acknowledged when nothing derived
    /// covers it (the index is written after the entries); otherwise it is damage.
    fn finish(&mut self, end: ChunkEnd) -> Result<(), VerifyError> {
        let index = self.tree.size();
        match end {
            ChunkEnd::Clean => Ok(()),
            ChunkEnd::Torn { bytes, .. } if index >= self.indexed.max(self.synced) => {
                self.torn_tail_bytes = bytes;
                Ok(())
            }
            ChunkEnd::Torn { at, .. } => Err(VerifyError::Entry {
                index,
                problem: format!(
                    "entries.log ends inside the record at byte {at} (torn tail), which index.bin covers"
                ),
            }),
            ChunkEnd::Damaged(problem) => Err(VerifyError::Entry { index, problem }),
        }
    }

    /// Checks a run of framed and hashed records against the index and the stored leaf hashes,
    /// then recomputes and checks the tree they complete, stopping at every checkpoint size on
    /// the way. Problems are reported in the order a leaf-by-leaf walk would meet them.
    fn consume(&mut self, records: &[(u64, usize)], leaves: &[Hash]) -> Result<(), VerifyError> {
        if records.is_empty() {
            return Ok(());
        }
        let first = self.tree.size();
        let bad_entry = self.check_entries(first, records, leaves)?;
        // The tree is checked up to the first bad entry: a bad node completed before it is met
        // first.
        let good = bad_entry.as_ref().map_or(records.len(), |(i, _)| *i);
        let stops: Vec<u64> = self
            .pending
            .range(first + 1..=first + good as u64)
            .map(|(&size, _)| size)
            .collect();
        let mut at = 0usize;
        for stop in stops {
            let to = usize::try_from(stop - first).unwrap_or(good);
            self.push_leaves(&leaves[at..to])?;
            at = to;
            self.check_checkpoints()?;
        }
        self.push_leaves(&leaves[at..good])?;
        if let Some((_, err)) = bad_entry {
            return Err(err);
        }
        self.entry_bytes += records.iter().map(|&(_, len)| len as u64).sum::<u64>();
        Ok(())
    }

    /// Compares each record's offset with `index.bin` and its leaf hash with the stored one,
    /// where they are stored; returns the first bad record (its position in `records`) and what
    /// is wrong with it.
    fn check_entries(
        &mut self,
        first: u64,
        records: &[(u64, usize)],
        leaves: &[Hash],
    ) -> Result<Option<(usize, VerifyError)>, VerifyError> {
        let covered = |stored: u64| {
            usize::try_from(stored.saturating_sub(first))
                .map_or(records.len(), |n| n.min(records.len()))
        };
        let (with_offset, with_leaf) = (covered(self.indexed), covered(self.leaves_stored));
        let stored_offsets = &mut self.stored_offsets;
        stored_offsets.resize(with_offset * INDEX_RECORD as usize, 0);
        read_or_short(&self.index, stored_offsets, first * INDEX_RECORD).map_err(|e| match e {
            Short::Io(source) => VerifyError::Io {
                path: self.index_path.clone(),
                source,
            },
            Short::At(bytes) => VerifyError::Entry {
                index: first + bytes / INDEX_RECORD,
                problem: "index.bin ends before this entry (it shrank while being read)".into(),
            },
        })?;
        let stored_leaves = &mut self.stored_leaves;
        stored_leaves.resize(with_leaf * HASH_SIZE, 0);
        if let Some(level0) = &self.level0 {
            read_or_short(level0, stored_leaves, first * HASH_SIZE as u64).map_err(
                |e| match e {
                    Short::Io(source) => VerifyError::Io {
                        path: PathBuf::from("tree/level-00.bin"),
                        source,
                    },
                    Short::At(bytes) => VerifyError::Entry {
                        index: first + bytes / HASH_SIZE as u64,
                        problem:
                            "tree/level-00.bin ends before this entry (it shrank while being read)"
                                .into(),
                    },
                },
            )?;
        }
        let mut stored_offsets = stored_offsets.chunks_exact(INDEX_RECORD as usize);
        let mut stored_leaves = stored_leaves.chunks_exact(HASH_SIZE);
        for (i, ((offset, _), leaf)) in records.iter().zip(leaves).enumerate() {
            let index = first + i as u64;
            let bad = |problem: String| Ok(Some((i, VerifyError::Entry { index, problem })));
            match stored_offsets.next() {
                Some(stored) => {
                    let stored = u64::from_be_bytes(stored.try_into().unwrap_or_default());
                    if stored != *offset {
                        return bad(format!(
                            "index.bin says the record is at byte {stored}, it is at byte {offset} (an entry was dropped or inserted)"
                        ));
                    }
                }
                None if index < self.synced => return bad(self.unsynced("index.bin")),
                None => {}
            }
            match stored_leaves.next() {
                Some(stored) if stored != &leaf[..] => {
                    return bad("entry does not hash to its stored leaf hash (entry changed, dropped or inserted)".into());
                }
                Some(_) => {}
                None if index < self.synced => return bad(self.unsynced("tree/level-00.bin")),
                None => {}
            }
        }
        Ok(None)
    }

    /// The problem of a derived file that ends before the entries it was synced for.
    fn unsynced(&self, file: &str) -> String {
        format!(
            "{file} is missing or ends before this entry, though derived.json says the derived files were synced up to entry {}",
            self.synced
        )
    }

    /// Pushes leaf hashes into the tree check, naming the first bad stored node.
    fn push_leaves(&mut self, leaves: &[Hash]) -> Result<(), VerifyError> {
        self.tree
            .push(leaves)
            .map_err(|BadNode { level, index }| VerifyError::Entry {
                index: index << level,
                problem: format!(
                    "stored node hash at level {level}, index {index} is missing or does not match the entries below it"
                ),
            })
    }

    /// Compares the root with every checkpoint of the current size.
    fn check_checkpoints(&mut self) -> Result<(), VerifyError> {
        let size = self.tree.size();
        if let Some(list) = self.pending.remove(&size) {
            let root = self.tree.root();
            for (number, want) in list {
                if want != root {
                    return Err(VerifyError::Altered {
                        from: self.last_good_size,
                        to: size,
                        number,
                    });
                }
            }
            self.last_good_size = size;
        }
        Ok(())
    }
}

/// A positional read that reports where the file ended short.
enum Short {
    Io(std::io::Error),
    At(u64),
}

fn read_or_short(f: &File, buf: &mut [u8], at: u64) -> Result<(), Short> {
    let mut done = 0usize;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => return Err(Short::At(done as u64)),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Short::Io(e)),
        }
    }
    Ok(())
}

/// Short text for a root, for reports.
pub fn describe_root(root: &Hash) -> String {
    hash_to_base64(root)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // in tests a panic is the failure report

    use std::sync::Arc;

    use super::*;
    use crate::note::Ed25519Signer;
    use crate::{Log, LogConfig};

    const ORIGIN: &str = "example.com/chunks";

    /// A log of `n` entries of ~25 bytes (many 4 KiB chunks) with a checkpoint at the end.
    fn build(dir: &Path, n: u64) -> VerifyOptions {
        let key = Ed25519Signer::from_seed(ORIGIN, &[9; 32]).unwrap();
        let log = Log::open(dir, LogConfig::default()).unwrap();
        let entries = (0..n).map(|i| format!("record number {i:08}").into_bytes());
        log.append_many(entries.collect()).unwrap().wait().unwrap();
        log.publish_checkpoint(ORIGIN, &key).unwrap();
        log.close().unwrap();
        VerifyOptions::new(VerifierSet::new(vec![Arc::new(key.verifier())]))
    }

    #[test]
    fn records_across_chunk_boundaries_verify_with_any_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = build(dir.path(), 3000);
        let len = std::fs::metadata(dir.path().join(ENTRIES)).unwrap().len();
        assert!(
            len > 10 * chunks::CHUNK_BYTES as u64,
            "the log spans many chunks"
        );
        for threads in [1, 2, 3] {
            options.threads = threads;
            let report = verify_log_dir(dir.path(), &options).unwrap();
            assert_eq!(report.entries, 3000);
            assert_eq!(report.entry_bytes, 3000 * 22);
            assert_eq!(report.checkpoints, 1);
        }
    }

    #[test]
    fn a_batch_written_but_never_derived_or_acknowledged_is_not_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let options = build(dir.path(), 3000);
        let path = dir.path().join(ENTRIES);
        let mut bytes = std::fs::read(&path).unwrap();
        // A killed writer's last batch: two whole records that nothing derived covers yet, then
        // one cut short (each record is 8 bytes of header and 22 of data).
        let last = bytes[bytes.len() - 30..].to_vec();
        bytes.extend_from_slice(&last);
        bytes.extend_from_slice(&last);
        bytes.extend_from_slice(&last[..17]);
        std::fs::write(&path, &bytes).unwrap();
        let report = verify_log_dir(dir.path(), &options).unwrap();
        assert_eq!(report.entries, 3002);
        assert_eq!((report.underived, report.torn_tail_bytes), (2, 17));

        // Had the derived files been synced past them, their absence would be damage.
        Derived {
            size: 3002,
            entries_end: bytes.len() as u64 - 17,
        }
        .store(dir.path())
        .unwrap();
        match verify_log_dir(dir.path(), &options) {
            Err(VerifyError::Entry { index, problem }) => {
                assert_eq!(index, 3000);
                assert!(problem.contains("derived.json"), "{problem}");
            }
            other => panic!("expected missing derived data, got {other:?}"),
        }
    }

    #[test]
    fn a_torn_tail_past_a_chunk_boundary_names_the_entry_after_the_last_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let options = build(dir.path(), 3000);
        let path = dir.path().join(ENTRIES);
        let len = std::fs::metadata(&path).unwrap().len();
        // Cut the last record in half: 2,999 whole records remain.
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len - 10).unwrap();
        match verify_log_dir(dir.path(), &options) {
            Err(VerifyError::Entry { index, problem }) => {
                assert_eq!(index, 2999);
                assert!(problem.contains("torn tail"), "{problem}");
            }
            other => panic!("expected a torn tail, got {other:?}"),
        }
    }
}
