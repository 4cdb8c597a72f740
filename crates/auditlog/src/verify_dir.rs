//! The offline verifier of a whole log directory: recomputes every leaf and node hash from the
//! entries, checks them against the stored index and node hashes, checks every stored checkpoint
//! signature (and cosignature, under a witness policy) and that each checkpoint's root is the
//! recomputed one. On tampering it names the first bad index and what is wrong.
//!
//! It needs no running log and no lock: it only reads the files.

mod tree;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::hash::{HASH_SIZE, Hash, hash_to_base64, leaf_hash};
use crate::note::{Note, VerifierSet};
use crate::store::{
    CHECKPOINTS, Decoded, ENTRIES, INDEX, INDEX_RECORD, RECORD_HEADER, decode_record, level_path,
};
use crate::witness::WitnessPolicy;
use tree::{BadNode, TreeChecker};

/// Bytes of the entries file processed at a time (small in unit tests, so that they cross many
/// chunk boundaries).
const CHUNK_BYTES: usize = if cfg!(test) { 4096 } else { 4 << 20 };

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
        let tree = TreeChecker::open(dir).map_err(io(&dir.join("tree")))?;
        Ok(Self {
            tree,
            entry_bytes: 0,
            pending,
            last_good_size: 0,
            index,
            index_path,
            level0,
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
                    return match end {
                        ChunkEnd::Clean => Ok(()),
                        ChunkEnd::Damaged(problem) => Err(VerifyError::Entry {
                            index: self.tree.size(),
                            problem,
                        }),
                    };
                }
            }
            // The reader stopped without an end marker: it only does so after sending an error.
            Ok(())
        })
        // Returning drops `rx`: a reader still sending sees the channel closed and stops.
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

    /// Compares each record's offset with `index.bin` and its leaf hash with the stored one;
    /// returns the first bad record (its position in `records`) and what is wrong with it.
    fn check_entries(
        &mut self,
        first: u64,
        records: &[(u64, usize)],
        leaves: &[Hash],
    ) -> Result<Option<(usize, VerifyError)>, VerifyError> {
        let count = records.len();
        let stored_offsets = &mut self.stored_offsets;
        stored_offsets.resize(count * INDEX_RECORD as usize, 0);
        read_or_short(&self.index, stored_offsets, first * INDEX_RECORD).map_err(|e| match e {
            Short::Io(source) => VerifyError::Io {
                path: self.index_path.clone(),
                source,
            },
            Short::At(bytes) => VerifyError::Entry {
                index: first + bytes / INDEX_RECORD,
                problem: "index.bin ends before this entry".into(),
            },
        })?;
        let level0 = self.level0.as_ref().ok_or_else(|| VerifyError::Entry {
            index: 0,
            problem: "tree/level-00.bin is missing".into(),
        })?;
        let stored_leaves = &mut self.stored_leaves;
        stored_leaves.resize(count * HASH_SIZE, 0);
        read_or_short(level0, stored_leaves, first * HASH_SIZE as u64).map_err(|e| match e {
            Short::Io(source) => VerifyError::Io {
                path: PathBuf::from("tree/level-00.bin"),
                source,
            },
            Short::At(bytes) => VerifyError::Entry {
                index: first + bytes / HASH_SIZE as u64,
                problem: "tree/level-00.bin ends before this entry".into(),
            },
        })?;
        let stored = stored_offsets
            .chunks_exact(INDEX_RECORD as usize)
            .zip(stored_leaves.chunks_exact(HASH_SIZE));
        for (i, (((offset, _), leaf), (stored_offset, stored_leaf))) in
            records.iter().zip(leaves).zip(stored).enumerate()
        {
            let index = first + i as u64;
            let stored_offset = u64::from_be_bytes(stored_offset.try_into().unwrap_or_default());
            if stored_offset != *offset {
                let problem = format!(
                    "index.bin says the record is at byte {stored_offset}, it is at byte {offset} (an entry was dropped or inserted)"
                );
                return Ok(Some((i, VerifyError::Entry { index, problem })));
            }
            if stored_leaf != &leaf[..] {
                let problem = "entry does not hash to its stored leaf hash (entry changed, dropped or inserted)".into();
                return Ok(Some((i, VerifyError::Entry { index, problem })));
            }
        }
        Ok(None)
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

/// One chunk of the entries file, framed and hashed, as the checking stage receives it.
struct Chunk {
    /// Per record: its byte offset in the file and its data length.
    records: Vec<(u64, usize)>,
    /// Leaf hash per record.
    leaves: Vec<Hash>,
    /// Set on the last chunk: how the file ended.
    end: Option<ChunkEnd>,
}

/// How the entries file ended.
enum ChunkEnd {
    /// On a record boundary.
    Clean,
    /// Inside a record, or on a damaged one: the problem, for the entry after the last good one.
    Damaged(String),
}

/// The first stage of the verifier: reads the entries file a chunk at a time, frames its records
/// and hashes their leaves on `options.threads` threads.
struct ChunkReader<'a> {
    file: &'a File,
    path: &'a Path,
    len: u64,
    options: &'a VerifyOptions,
}

impl ChunkReader<'_> {
    /// Sends every chunk, the last one with its end; stops early when the receiver is gone.
    fn run(&self, tx: &std::sync::mpsc::SyncSender<Result<Chunk, VerifyError>>) {
        // One buffer for the whole file, zeroed once: the unconsumed tail of a chunk (less than
        // one record) moves to the front and the next chunk is read behind it.
        let mut buf = vec![0u8; CHUNK_BYTES * 2];
        let mut filled = 0usize;
        let mut buf_at = 0u64;
        loop {
            let read_from = buf_at + filled as u64;
            let want = usize::try_from((self.len - read_from).min(CHUNK_BYTES as u64))
                .unwrap_or(CHUNK_BYTES);
            if filled + want > buf.len() {
                buf.resize(filled + want, 0);
            }
            if let Err(e) = self
                .file
                .read_exact_at(&mut buf[filled..filled + want], read_from)
            {
                let _ = tx.send(Err(io(self.path)(e)));
                return;
            }
            filled += want;
            let buf_view = &buf[..filled];
            let at_end = read_from + want as u64 == self.len;
            let mut spans = Vec::new(); // (file offset, data start in buf, data len)
            let mut cursor = 0usize;
            let mut end = None;
            loop {
                match decode_record(&buf_view[cursor..], self.options.max_entry_bytes) {
                    Decoded::Record(data, n) => {
                        spans.push((buf_at + cursor as u64, cursor + RECORD_HEADER, data.len()));
                        cursor += n;
                    }
                    Decoded::Incomplete if !at_end => break,
                    Decoded::Incomplete if cursor == filled => {
                        end = Some(ChunkEnd::Clean);
                        break;
                    }
                    Decoded::Incomplete => {
                        end = Some(ChunkEnd::Damaged(format!(
                            "entries.log ends inside the record at byte {} (torn tail)",
                            buf_at + cursor as u64
                        )));
                        break;
                    }
                    Decoded::Bad => {
                        end = Some(ChunkEnd::Damaged(format!(
                            "record at byte {} is damaged (length or checksum)",
                            buf_at + cursor as u64
                        )));
                        break;
                    }
                }
            }
            let leaves = hash_parallel(buf_view, &spans, self.options.threads.max(1));
            let last = end.is_some();
            let chunk = Chunk {
                records: spans.iter().map(|&(at, _, len)| (at, len)).collect(),
                leaves,
                end,
            };
            if tx.send(Ok(chunk)).is_err() || last {
                return;
            }
            buf.copy_within(cursor..filled, 0);
            filled -= cursor;
            buf_at += cursor as u64;
        }
    }
}

/// Leaf hashes of the records, computed by `threads` threads over contiguous runs.
fn hash_parallel(buf: &[u8], records: &[(u64, usize, usize)], threads: usize) -> Vec<Hash> {
    let mut out = vec![[0u8; HASH_SIZE]; records.len()];
    if threads <= 1 || records.len() < 1024 {
        for (o, (_, start, len)) in out.iter_mut().zip(records) {
            *o = leaf_hash(&buf[*start..*start + *len]);
        }
        return out;
    }
    let per = records.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (outs, recs) in out.chunks_mut(per).zip(records.chunks(per)) {
            s.spawn(move || {
                for (o, (_, start, len)) in outs.iter_mut().zip(recs) {
                    *o = leaf_hash(&buf[*start..*start + *len]);
                }
            });
        }
    });
    out
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
        assert!(len > 10 * CHUNK_BYTES as u64, "the log spans many chunks");
        for threads in [1, 2, 3] {
            options.threads = threads;
            let report = verify_log_dir(dir.path(), &options).unwrap();
            assert_eq!(report.entries, 3000);
            assert_eq!(report.entry_bytes, 3000 * 22);
            assert_eq!(report.checkpoints, 1);
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
