//! The first stage of the offline verifier: reads the entries file a chunk at a time, frames its
//! records on one thread, then checks their checksums and hashes their leaves on several. Only
//! the framing (finding where each record ends) is sequential; checksums and leaf hashes, the
//! bulk of the work, are spread over the threads, the reading thread included, and the leaves
//! are hashed many at once.

use std::fs::File;
use std::path::Path;
use std::sync::mpsc::SyncSender;

use crate::hash::{Hash, leaf_hashes};
use crate::store::{Decoded, RECORD_HEADER, checksum_matches, frame_record};

use super::{VerifyError, VerifyOptions, io};

/// Bytes of the entries file processed at a time (small in unit tests, so that they cross many
/// chunk boundaries).
pub(super) const CHUNK_BYTES: usize = if cfg!(test) { 4096 } else { 4 << 20 };

/// Fewest records in a chunk worth spreading over threads.
const PARALLEL_MIN_RECORDS: usize = 1024;

/// Records checked and then hashed together (many at once, see [`leaf_hashes`]).
const BATCH: usize = 512;

/// One chunk of the entries file, framed, checked and hashed, as the checking stage receives it.
pub(super) struct Chunk {
    /// Per whole, well-formed record: its byte offset in the file and its data length.
    pub records: Vec<(u64, usize)>,
    /// Leaf hash per record.
    pub leaves: Vec<Hash>,
    /// Set on the last chunk: how the file ended.
    pub end: Option<ChunkEnd>,
}

/// How the entries file ended.
pub(super) enum ChunkEnd {
    /// On a record boundary.
    Clean,
    /// Inside a record that starts at byte `at` and has `bytes` bytes so far.
    Torn {
        /// Where the unfinished record starts.
        at: u64,
        /// How much of it was written.
        bytes: u64,
    },
    /// On a damaged record: the problem, for the entry after the last good one.
    Damaged(String),
}

/// A framed record in the read buffer: its offset in the file, where its header starts in the
/// buffer, and its data length.
#[derive(Clone, Copy)]
struct Span {
    at: u64,
    start: usize,
    len: usize,
}

/// Reads, frames, checks and hashes the entries file for the checking stage.
pub(super) struct ChunkReader<'a> {
    /// The entries file.
    pub file: &'a File,
    /// Its path, for errors.
    pub path: &'a Path,
    /// Its length when the walk started.
    pub len: u64,
    /// Entry size limit and thread count.
    pub options: &'a VerifyOptions,
}

impl ChunkReader<'_> {
    /// Sends every chunk, the last one with its end; stops early when the receiver is gone.
    pub(super) fn run(&self, tx: &SyncSender<Result<Chunk, VerifyError>>) {
        use std::os::unix::fs::FileExt as _;
        // One buffer for the whole file, zeroed once: the unconsumed tail of a chunk (less than
        // one record) moves to the front and the next chunk is read behind it.
        let mut buf = vec![0u8; CHUNK_BYTES * 2];
        let mut filled = 0usize;
        let mut buf_at = 0u64;
        let mut spans = Vec::new();
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
            let at_end = read_from + want as u64 == self.len;
            let (cursor, mut end) = self.frame(&buf[..filled], buf_at, at_end, &mut spans);
            let (mut leaves, first_bad) = check_and_hash(&buf, &spans, self.options.threads);
            if let Some(bad) = first_bad {
                end = Some(damaged(spans[bad].at));
                spans.truncate(bad);
                leaves.truncate(bad);
            }
            let last = end.is_some();
            let chunk = Chunk {
                records: spans.iter().map(|s| (s.at, s.len)).collect(),
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

    /// Frames the records of `buf` (which starts at byte `buf_at` of the file) into `spans`;
    /// returns how far it consumed and, when the file ends here, how.
    fn frame(
        &self,
        buf: &[u8],
        buf_at: u64,
        at_end: bool,
        spans: &mut Vec<Span>,
    ) -> (usize, Option<ChunkEnd>) {
        spans.clear();
        let mut cursor = 0usize;
        loop {
            let at = buf_at + cursor as u64;
            match frame_record(&buf[cursor..], self.options.max_entry_bytes) {
                Decoded::Record(data, n) => {
                    spans.push(Span {
                        at,
                        start: cursor,
                        len: data.len(),
                    });
                    cursor += n;
                }
                Decoded::Incomplete if !at_end => return (cursor, None),
                Decoded::Incomplete if cursor == buf.len() => {
                    return (cursor, Some(ChunkEnd::Clean));
                }
                Decoded::Incomplete => {
                    let bytes = (buf.len() - cursor) as u64;
                    return (cursor, Some(ChunkEnd::Torn { at, bytes }));
                }
                Decoded::Bad => return (cursor, Some(damaged(at))),
            }
        }
    }
}

/// The problem of the record at byte `at`.
fn damaged(at: u64) -> ChunkEnd {
    ChunkEnd::Damaged(format!(
        "record at byte {at} is damaged (length or checksum)"
    ))
}

/// Checks each record's checksum and hashes its leaf, on `threads` threads over contiguous runs;
/// returns the leaf hashes and the position of the first record whose checksum is wrong (the
/// hashes from there on are meaningless).
fn check_and_hash(buf: &[u8], spans: &[Span], threads: usize) -> (Vec<Hash>, Option<usize>) {
    let mut out = vec![Hash::default(); spans.len()];
    let run = |outs: &mut [Hash], spans: &[Span]| -> Option<usize> {
        // A few hundred records at a time: checked and hashed while they are in the cache.
        for (k, (outs, spans)) in outs.chunks_mut(BATCH).zip(spans.chunks(BATCH)).enumerate() {
            let records = spans
                .iter()
                .map(|s| &buf[s.start..s.start + RECORD_HEADER + s.len]);
            let bad = records.clone().position(|r| !checksum_matches(r));
            let good = bad.unwrap_or(spans.len());
            let entries: Vec<&[u8]> = records.take(good).map(|r| &r[RECORD_HEADER..]).collect();
            leaf_hashes(&entries, &mut outs[..good]);
            if let Some(i) = bad {
                return Some(k * BATCH + i);
            }
        }
        None
    };
    if threads <= 1 || spans.len() < PARALLEL_MIN_RECORDS {
        let bad = run(&mut out, spans);
        return (out, bad);
    }
    let per = spans.len().div_ceil(threads);
    let bad = std::thread::scope(|scope| {
        let mut runs = out.chunks_mut(per).zip(spans.chunks(per));
        // The reading thread hashes the first run itself instead of waiting idle.
        let own = runs.next();
        let others: Vec<_> = runs
            .enumerate()
            .map(|(k, (outs, spans))| {
                scope.spawn(move || run(outs, spans).map(|i| (k + 1) * per + i))
            })
            .collect();
        let mut bad = own.and_then(|(outs, spans)| run(outs, spans));
        for other in others {
            let found = other
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            bad = bad.or(found);
        }
        bad
    });
    (out, bad)
}
