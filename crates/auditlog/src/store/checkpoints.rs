//! The history of signed checkpoints a log published, appended to `checkpoints.log` with the
//! same framing as entries, so an offline verifier can check every one of them.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::checkpoint::Checkpoint;
use crate::note::{MAX_NOTE_BYTES, Note};

use super::layout::{CHECKPOINTS, open_rw};
use super::record::{self, Decoded};
use super::{StoreError, io};

/// The checkpoint history file and its latest checkpoint.
#[derive(Debug)]
pub(crate) struct CheckpointStore {
    file: File,
    end: u64,
    latest: Option<(Checkpoint, Note)>,
}

/// Reads every whole record of a checkpoint history; returns them and the end of the last one.
pub(crate) fn read_records(path: &Path) -> Result<(Vec<Vec<u8>>, u64, u64), StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io("reading checkpoints.log")(e)),
    };
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Decoded::Record(data, n) = record::decode(&bytes[at..], MAX_NOTE_BYTES) {
        out.push(data.to_vec());
        at += n;
    }
    Ok((out, at as u64, bytes.len() as u64))
}

impl CheckpointStore {
    /// Opens the history, truncating a torn last record.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(CHECKPOINTS);
        let (records, end, len) = read_records(&path)?;
        let file = open_rw(&path).map_err(io("opening checkpoints.log"))?;
        if len - end > (MAX_NOTE_BYTES + record::HEADER) as u64 {
            return Err(StoreError::Corrupt(format!(
                "checkpoints.log is damaged at byte {end}"
            )));
        }
        if len > end {
            file.set_len(end)
                .map_err(io("truncating torn tail of checkpoints.log"))?;
            file.sync_all().map_err(io("syncing checkpoints.log"))?;
        }
        let latest = match records.last() {
            None => None,
            Some(bytes) => {
                let note = Note::parse(bytes)
                    .map_err(|e| StoreError::Corrupt(format!("latest stored checkpoint: {e}")))?;
                let cp = Checkpoint::parse(&note.text)?;
                Some((cp, note))
            }
        };
        Ok(Self { file, end, latest })
    }

    /// The latest stored checkpoint.
    pub(crate) fn latest(&self) -> Option<&(Checkpoint, Note)> {
        self.latest.as_ref()
    }

    /// Appends a signed checkpoint durably.
    pub(crate) fn append(&mut self, checkpoint: Checkpoint, note: Note) -> Result<(), StoreError> {
        let mut buf = Vec::new();
        record::encode(note.to_string().as_bytes(), &mut buf);
        self.file
            .write_all_at(&buf, self.end)
            .map_err(io("writing checkpoints.log"))?;
        self.file
            .sync_data()
            .map_err(io("syncing checkpoints.log"))?;
        self.end += buf.len() as u64;
        self.latest = Some((checkpoint, note));
        Ok(())
    }
}
