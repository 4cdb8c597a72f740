//! Opening a log directory: take the lock, keep the derived files up to their synced watermark,
//! truncate a torn tail of the entries file, and re-derive everything after the watermark.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use crate::hash::{HASH_SIZE, Hash, leaf_hash};
use crate::merkle::Frontier;

use super::derive::{Deriver, LevelFiles};
use super::layout::{Derived, ENTRIES, INDEX, INDEX_RECORD, LOCK, TREE_DIR, open_rw};
use super::nodes::{Shared, TreeState};
use super::record::{self, Decoded, HEADER};
use super::writer::Writer;
use super::{LogConfig, StoreError, io};

/// Bytes read from the entries file at a time while re-deriving.
const SCAN_CHUNK: usize = 8 << 20;
/// Records re-derived between flushes of the derived buffers.
const FLUSH_EVERY: usize = 1 << 16;

/// Everything an opened log needs: the lock (held while it lives), the shared state, and the
/// writer ready to run.
pub(crate) struct Opened {
    pub lock: ensuresec_durable::Lock,
    pub shared: Arc<Shared>,
    pub writer: Writer,
}

/// Opens (creating if needed) and recovers the log in `dir`.
pub(crate) fn open(dir: &Path, config: &LogConfig) -> Result<Opened, StoreError> {
    std::fs::create_dir_all(dir.join(TREE_DIR))
        .map_err(io(format!("creating {}", dir.display())))?;
    let lock = ensuresec_durable::try_lock_file(&dir.join(LOCK))
        .map_err(|e| io("locking LOCK")(e.into()))?
        .ok_or_else(|| StoreError::Locked(dir.display().to_string()))?;
    let entries = open_rw(&dir.join(ENTRIES)).map_err(io("opening entries.log"))?;
    let index = open_rw(&dir.join(INDEX)).map_err(io("opening index.bin"))?;
    let mut files = LevelFiles::open(dir)?;
    let entries_len = entries
        .metadata()
        .map_err(io("reading entries.log size"))?
        .len();

    let mut synced = Derived::load(dir);
    if !watermark_holds(&synced, entries_len, &index, &files)? {
        synced = Derived::default();
    }
    let frontier = frontier_at(synced.size, &files)?;
    index
        .set_len(synced.size * INDEX_RECORD)
        .map_err(io("truncating index.bin"))?;
    for level in 0..64u8 {
        if let Some(f) = files.existing(level) {
            let keep = (synced.size >> level) * HASH_SIZE as u64;
            f.set_len(keep)
                .map_err(io(format!("truncating node hashes of level {level}")))?;
        }
    }

    let mut deriver = Deriver::new(frontier);
    let good_end = rederive(
        &entries,
        synced.entries_end,
        entries_len,
        config,
        &mut deriver,
        &mut files,
        &index,
    )?;
    let tail = entries_len - good_end;
    if tail > 0 {
        let limit = (2 * config.max_batch_bytes + config.max_entry_bytes + HEADER) as u64;
        if tail > limit {
            return Err(StoreError::Corrupt(format!(
                "entry {} at byte {good_end} of entries.log is damaged and {tail} bytes follow it; \
                 more than an unsynced batch, so nothing was truncated",
                deriver.frontier.size()
            )));
        }
        entries
            .set_len(good_end)
            .map_err(io("truncating torn tail of entries.log"))?;
    }
    entries.sync_all().map_err(io("syncing entries.log"))?;
    index.sync_data().map_err(io("syncing index.bin"))?;
    files.sync()?;
    let size = deriver.frontier.size();
    let derived = Derived {
        size,
        entries_end: good_end,
    };
    derived.store(dir).map_err(io("writing derived.json"))?;
    ensuresec_durable::sync_dir(&dir.join(TREE_DIR))
        .map_err(|e| io("syncing tree folder")(e.into()))?;

    let memory_level = config.memory_level.min(63);
    let mut high = Vec::new();
    for level in memory_level..64 {
        let count = size >> level;
        if count == 0 {
            break;
        }
        high.push(read_level(&mut files, level, count)?);
    }
    let mut low = Vec::new();
    for level in 0..memory_level {
        low.push(
            files
                .get(level)?
                .try_clone()
                .map_err(io("cloning a level file handle"))?,
        );
    }
    let shared = Arc::new(Shared {
        dir: dir.to_owned(),
        entries,
        index,
        low,
        memory_level,
        max_entry_bytes: config.max_entry_bytes,
        state: RwLock::new(TreeState {
            size,
            entries_end: good_end,
            edge: deriver.frontier.right_edge(),
            high,
        }),
        failure: Mutex::new(None),
    });
    let writer = Writer {
        shared: shared.clone(),
        config: config.clone(),
        deriver,
        files,
        entries_end: good_end,
        synced: derived,
        buf: Vec::new(),
        kept: Vec::new(),
    };
    Ok(Opened {
        lock,
        shared,
        writer,
    })
}

/// Whether the derived files are at least as long as the watermark says they were synced.
fn watermark_holds(
    d: &Derived,
    entries_len: u64,
    index: &File,
    files: &LevelFiles,
) -> Result<bool, StoreError> {
    if d.entries_end > entries_len {
        return Ok(false);
    }
    let index_len = index
        .metadata()
        .map_err(io("reading index.bin size"))?
        .len();
    if index_len < d.size * INDEX_RECORD {
        return Ok(false);
    }
    for level in 0..64u8 {
        let need = (d.size >> level) * HASH_SIZE as u64;
        if need == 0 {
            break;
        }
        let Some(f) = files.existing(level) else {
            return Ok(false);
        };
        if f.metadata().map_err(io("reading a level file size"))?.len() < need {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Rebuilds the frontier of a tree of `size` leaves from the stored node hashes.
fn frontier_at(size: u64, files: &LevelFiles) -> Result<Frontier, StoreError> {
    let mut nodes = Vec::new();
    for (level, index) in Frontier::node_positions(size) {
        let f = files
            .existing(level)
            .ok_or_else(|| StoreError::Corrupt(format!("node hashes of level {level} missing")))?;
        let mut h: Hash = [0; HASH_SIZE];
        f.read_exact_at(&mut h, index * HASH_SIZE as u64)
            .map_err(io(format!("reading node hashes of level {level}")))?;
        nodes.push(h);
    }
    Frontier::from_nodes(size, nodes)
        .ok_or_else(|| StoreError::Corrupt("frontier does not match size".into()))
}

/// Re-derives every whole record from byte `from`; returns the end of the last good record.
fn rederive(
    entries: &File,
    from: u64,
    len: u64,
    config: &LogConfig,
    deriver: &mut Deriver,
    files: &mut LevelFiles,
    index: &File,
) -> Result<u64, StoreError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_at = from; // file offset of buf[0]
    let mut cursor = 0usize;
    let mut pending = 0usize;
    let mut kept = Vec::new();
    loop {
        match record::decode(&buf[cursor..], config.max_entry_bytes) {
            Decoded::Record(data, n) => {
                deriver.add(buf_at + cursor as u64, leaf_hash(data));
                cursor += n;
                pending += 1;
                if pending == FLUSH_EVERY {
                    deriver.flush(files, index, 64, &mut kept)?;
                    pending = 0;
                }
            }
            Decoded::Incomplete => {
                let read_from = buf_at + buf.len() as u64;
                if read_from >= len {
                    break;
                }
                buf.drain(..cursor);
                buf_at += cursor as u64;
                cursor = 0;
                let want =
                    usize::try_from((len - read_from).min(SCAN_CHUNK as u64)).unwrap_or(SCAN_CHUNK);
                let old = buf.len();
                buf.resize(old + want, 0);
                entries
                    .read_exact_at(&mut buf[old..], read_from)
                    .map_err(io("reading entries.log"))?;
            }
            Decoded::Bad => break,
        }
    }
    deriver.flush(files, index, 64, &mut kept)?;
    Ok(buf_at + cursor as u64)
}

/// Reads the first `count` node hashes of a level.
fn read_level(files: &mut LevelFiles, level: u8, count: u64) -> Result<Vec<Hash>, StoreError> {
    let len = usize::try_from(count * HASH_SIZE as u64)
        .map_err(|_| StoreError::Corrupt("level too large for memory".into()))?;
    let mut bytes = vec![0u8; len];
    files
        .get(level)?
        .read_exact_at(&mut bytes, 0)
        .map_err(io(format!("reading node hashes of level {level}")))?;
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h: Hash = [0; HASH_SIZE];
            h.copy_from_slice(c);
            h
        })
        .collect())
}
