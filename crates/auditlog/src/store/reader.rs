//! Read access to a live log: entries, roots, proofs and tlog-tiles resources, always as of a
//! committed (durable) tree.

use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

use crate::hash::{HASH_SIZE, Hash};
use crate::merkle::{self, NodeSource as _};
use crate::tiles::{TILE_WIDTH, tile_node_range};

use super::layout::INDEX_RECORD;
use super::nodes::{NodeView, Shared};
use super::record::{self, Decoded};
use super::{StoreError, TILES_MAX_ENTRY_BYTES, io};

/// Most entries returned by one range read.
pub const MAX_ENTRIES_PER_READ: u64 = 4096;

/// A cheap, cloneable, thread-safe read handle on a log.
#[derive(Debug, Clone)]
pub struct LogReader {
    shared: Arc<Shared>,
}

impl LogReader {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Number of durable entries.
    pub fn size(&self) -> u64 {
        self.shared.read().size
    }

    /// Size and root hash of the current durable tree.
    pub fn root(&self) -> (u64, Hash) {
        let s = self.shared.read();
        (s.size, s.root())
    }

    /// Root hash of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, StoreError> {
        let state = self.shared.read();
        check_size(size, state.size)?;
        Ok(merkle::tree_root(
            &NodeView::new(&self.shared, &state),
            size,
        )?)
    }

    /// The stored leaf hash of entry `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, StoreError> {
        let state = self.shared.read();
        check_index(index, state.size)?;
        NodeView::new(&self.shared, &state)
            .node(0, index)
            .map_err(io(format!("reading leaf hash {index}")))
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let state = self.shared.read();
        check_size(size, state.size)?;
        Ok(merkle::inclusion_proof(
            &NodeView::new(&self.shared, &state),
            index,
            size,
        )?)
    }

    /// The consistency proof from the tree of `old_size` entries to the one of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, StoreError> {
        let state = self.shared.read();
        check_size(new_size, state.size)?;
        Ok(merkle::consistency_proof(
            &NodeView::new(&self.shared, &state),
            old_size,
            new_size,
        )?)
    }

    /// Entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        let mut v = self.entries(index, index + 1)?;
        v.pop()
            .ok_or_else(|| StoreError::Corrupt(format!("entry {index} missing")))
    }

    /// Entries `[start, end)`, at most [`MAX_ENTRIES_PER_READ`] of them, with one read.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let (size, entries_end) = {
            let s = self.shared.read();
            (s.size, s.entries_end)
        };
        if start >= end || end > size || end - start > MAX_ENTRIES_PER_READ {
            return Err(StoreError::OutOfRange {
                what: format!("entries [{start}, {end})"),
                size,
            });
        }
        let from = self.offset(start)?;
        let to = if end == size {
            entries_end
        } else {
            self.offset(end)?
        };
        let len = usize::try_from(to.saturating_sub(from))
            .map_err(|_| StoreError::Corrupt(format!("entries [{start}, {end}) too large")))?;
        let mut buf = vec![0u8; len];
        self.shared
            .entries
            .read_exact_at(&mut buf, from)
            .map_err(io(format!("reading entries [{start}, {end})")))?;
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut at = 0usize;
        for i in start..end {
            match record::decode(&buf[at..], self.shared.max_entry_bytes) {
                Decoded::Record(data, n) => {
                    out.push(data.to_vec());
                    at += n;
                }
                Decoded::Incomplete | Decoded::Bad => {
                    return Err(StoreError::Corrupt(format!("entry {i}: record is damaged")));
                }
            }
        }
        Ok(out)
    }

    fn offset(&self, index: u64) -> Result<u64, StoreError> {
        let mut b = [0u8; 8];
        self.shared
            .index
            .read_exact_at(&mut b, index * INDEX_RECORD)
            .map_err(io(format!("reading index.bin at entry {index}")))?;
        Ok(u64::from_be_bytes(b))
    }

    /// The tlog-tiles hash tile `tile/<level>/<index>[.p/<width>]`: `width` node hashes of tree
    /// level `8 * level`, for a tree the log has reached.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<u8>, StoreError> {
        let state = self.shared.read();
        let (tree_level, first) =
            tile_node_range(level, index, width).ok_or_else(|| StoreError::OutOfRange {
                what: format!("tile {level}/{index}"),
                size: state.size,
            })?;
        let end = first + u64::from(width);
        if tree_level >= 64 || end > state.size >> tree_level {
            return Err(StoreError::OutOfRange {
                what: format!("tile {level}/{index} width {width}"),
                size: state.size,
            });
        }
        let mut out = vec![0u8; usize::from(width) * HASH_SIZE];
        if tree_level < self.shared.memory_level {
            let file = self
                .shared
                .low
                .get(usize::from(tree_level))
                .ok_or_else(|| StoreError::Corrupt("level file missing".into()))?;
            file.read_exact_at(&mut out, first * HASH_SIZE as u64)
                .map_err(io(format!("reading tile {level}/{index}")))?;
        } else {
            let nodes = state
                .high
                .get(usize::from(tree_level - self.shared.memory_level))
                .and_then(|l| l.get(first as usize..end as usize))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("tile {level}/{index} missing from memory"))
                })?;
            for (chunk, h) in out.chunks_exact_mut(HASH_SIZE).zip(nodes) {
                chunk.copy_from_slice(h);
            }
        }
        Ok(out)
    }

    /// The tlog-tiles entry bundle `tile/entries/<index>[.p/<width>]`: big-endian u16
    /// length-prefixed entries.
    pub fn entry_bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, StoreError> {
        if width == 0 || usize::from(width) > TILE_WIDTH {
            return Err(StoreError::OutOfRange {
                what: format!("entry bundle width {width}"),
                size: self.size(),
            });
        }
        let start = index
            .checked_mul(TILE_WIDTH as u64)
            .ok_or_else(|| StoreError::OutOfRange {
                what: format!("entry bundle {index}"),
                size: self.size(),
            })?;
        let entries = self.entries(start, start + u64::from(width))?;
        let mut out = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let len = u16::try_from(e.len()).map_err(|_| {
                StoreError::Corrupt(format!(
                    "entry {} exceeds {TILES_MAX_ENTRY_BYTES} bytes",
                    start + i as u64
                ))
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(e);
        }
        Ok(out)
    }
}

fn check_size(size: u64, committed: u64) -> Result<(), StoreError> {
    if size > committed {
        return Err(StoreError::OutOfRange {
            what: format!("tree size {size}"),
            size: committed,
        });
    }
    Ok(())
}

fn check_index(index: u64, committed: u64) -> Result<(), StoreError> {
    if index >= committed {
        return Err(StoreError::OutOfRange {
            what: format!("entry {index}"),
            size: committed,
        });
    }
    Ok(())
}
