//! The journal files on disk. Files are `STATE.journal.N` beside the state file `STATE`,
//! numbered upwards. Each starts with a header (the state's [`Journaled::MAGIC`], the format
//! version, its number) and holds records framed as the state says ([`Frame`]), each followed
//! by an 8-byte check (`hash_bytes` of the frame before it), so a record torn by a crash is
//! told from a whole one. The state file names the first file that continues it: a write of the
//! state starts a new file under the state's lock, so the files before it hold only what the
//! state file holds, and they are removed once it is synced.
//!
//! At start, the files from that number on are taken again into the state read back, in
//! order, through the same code as the live changes. A torn end of the last file (the batch
//! being written when the crash came) is cut off; anything else that does not read (a torn
//! record in an earlier file, a record the state never makes, a wrong header) stops the start
//! with the file, the record and what is wrong named.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ensuresec_model::hash::hash_bytes;

use super::{Frame, Journaled, MAX_RECORD_BYTES, Pending};
use crate::error::FileError;

/// The format's version.
const VERSION: u32 = 1;
/// Bytes of a file's header: the magic, the version and the file's number.
const HEADER_BYTES: usize = 24 + 4 + 8;

/// What a start found in the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Replayed {
    /// Files read.
    pub files: usize,
    /// Records taken again (payments and declines, links and labels).
    pub records: u64,
    /// Bytes cut off the end of the last file: the batch a crash interrupted.
    pub torn_bytes: u64,
}

/// What one file held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileReplay {
    /// Records taken again.
    pub records: u64,
    /// Bytes up to the end of the last whole record (or of the header).
    pub whole_bytes: u64,
    /// Bytes after them (only in the last file; anywhere else they are an error).
    pub torn_bytes: u64,
}

/// The journal being written: its current file and the records waiting for it.
#[derive(Debug)]
pub struct Journal {
    state_file: PathBuf,
    magic: &'static [u8; 24],
    frame: Frame,
    number: u64,
    file: File,
    /// Length of the current file up to its last whole write.
    len: u64,
    /// Records in the current file.
    written: u64,
    /// Records taken from the state, not yet written.
    pending: Pending,
    /// The same records with their checks, as written.
    framed: Vec<u8>,
}

impl Journal {
    /// Takes again into `state` every journal file that continues it (from
    /// [`Journaled::journal_from`] on), cuts a torn end off the last, removes the files before
    /// them, and starts a new file after the last to append to.
    pub fn open<S: Journaled>(
        state_file: &Path,
        state: &mut S,
    ) -> Result<(Journal, Replayed), FileError> {
        let from = state.journal_from();
        let mut numbers = file_numbers(state_file)?;
        numbers.sort_unstable();
        let mut replayed = Replayed::default();
        let kept: Vec<u64> = numbers.iter().copied().filter(|n| *n >= from).collect();
        for (i, number) in kept.iter().enumerate() {
            let path = file_path(state_file, *number);
            let name = path.display().to_string();
            let read = replay_numbered(&path, *number, i + 1 == kept.len(), state)?;
            // A file made just before the crash, without its whole header, goes; a torn end is
            // cut off. Either way the file reads whole once it is no longer the last.
            let mended = if read.whole_bytes == 0 {
                std::fs::remove_file(&path)
            } else if read.torn_bytes > 0 {
                cut(&path, read.whole_bytes)
            } else {
                Ok(())
            };
            mended.map_err(|e| FileError::new(&name, e.to_string()))?;
            replayed.files += 1;
            replayed.records += read.records;
            replayed.torn_bytes += read.torn_bytes;
        }
        let next = kept.last().map_or(from, |n| n + 1);
        let journal = Journal::create(state_file, S::MAGIC, S::FRAME, next)?;
        journal.remove_before(from)?;
        Ok((journal, replayed))
    }

    /// Starts file `number`: created owner-only with its header, synced with its folder.
    fn create(
        state_file: &Path,
        magic: &'static [u8; 24],
        frame: Frame,
        number: u64,
    ) -> Result<Journal, FileError> {
        let path = file_path(state_file, number);
        let fail = |e: io::Error| FileError::new(path.display().to_string(), e.to_string());
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(fail)?;
        let mut header = Vec::with_capacity(HEADER_BYTES);
        header.extend_from_slice(magic);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&number.to_le_bytes());
        file.write_all(&header)
            .and_then(|()| file.sync_data())
            .map_err(fail)?;
        ensuresec_durable::sync_dir(ensuresec_durable::folder_of(state_file))
            .map_err(|e| FileError::writing(&path, e))?;
        Ok(Journal {
            state_file: state_file.to_path_buf(),
            magic,
            frame,
            number,
            file,
            len: HEADER_BYTES as u64,
            written: 0,
            pending: Pending::default(),
            framed: Vec::new(),
        })
    }

    /// Where the state's records are taken into before [`Journal::write_pending`].
    pub fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    /// Records in the file being written: what a start after a crash would take again on
    /// top of the state file.
    pub fn records(&self) -> u64 {
        self.written
    }

    /// Appends the pending records to the current file and syncs it; returns how many were
    /// written. On a failure they are lost (and the file is cut back to its last whole write,
    /// so that later records still read).
    pub fn write_pending(&mut self) -> Result<u64, FileError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        self.framed.clear();
        for record in self.pending.records() {
            let start = self.framed.len();
            match self.frame {
                Frame::Fixed(bytes) => debug_assert_eq!(record.len(), bytes, "a whole record"),
                Frame::Prefixed => self
                    .framed
                    .extend_from_slice(&(record.len() as u32).to_le_bytes()),
            }
            self.framed.extend_from_slice(record);
            let check = hash_bytes(&self.framed[start..]);
            self.framed.extend_from_slice(&check.to_le_bytes());
        }
        let records = self.pending.len();
        self.pending.clear();
        let written = self
            .file
            .write_all(&self.framed)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += self.framed.len() as u64;
                self.written += records;
                Ok(records)
            }
            Err(e) => {
                let path = file_path(&self.state_file, self.number);
                // A half-written batch would end the file's replay early: cut it off.
                let _ = self.file.set_len(self.len);
                Err(FileError::new(
                    path.display().to_string(),
                    format!("{records} records not written: {e}"),
                ))
            }
        }
    }

    /// Starts the next file (for what is changed after a copy of the state); returns its
    /// number, the first that the copy's file must name.
    pub fn rotate(&mut self) -> Result<u64, FileError> {
        let next = Journal::create(&self.state_file, self.magic, self.frame, self.number + 1)?;
        *self = Journal {
            pending: std::mem::take(&mut self.pending),
            ..next
        };
        Ok(self.number)
    }

    /// Removes the files numbered below `number` (their records are in a synced state file);
    /// returns how many.
    pub fn remove_before(&self, number: u64) -> Result<usize, FileError> {
        let before: Vec<u64> = file_numbers(&self.state_file)?
            .into_iter()
            .filter(|n| *n < number)
            .collect();
        for n in &before {
            remove(&file_path(&self.state_file, *n))?;
        }
        Ok(before.len())
    }
}

/// Takes again into `state` the journal files of `state_file` numbered from `from` up to
/// (not including) `to`, in order, each read whole (a torn end is an error: these files were
/// finished when the next one was started); returns the records taken. For a write of the
/// state from its last file and its journal ([`super::Keeper::save_either`]).
pub fn replay_files<S: Journaled>(
    state_file: &Path,
    from: u64,
    to: u64,
    state: &mut S,
) -> Result<u64, FileError> {
    let mut numbers: Vec<u64> = file_numbers(state_file)?
        .into_iter()
        .filter(|n| (from..to).contains(n))
        .collect();
    numbers.sort_unstable();
    let mut records = 0;
    for number in numbers {
        records += replay_numbered(&file_path(state_file, number), number, false, state)?.records;
    }
    Ok(records)
}

/// Takes the journal file `number` at `path` again into `state` ([`replay_file`]), naming the
/// file in an error.
fn replay_numbered<S: Journaled>(
    path: &Path,
    number: u64,
    last: bool,
    state: &mut S,
) -> Result<FileReplay, FileError> {
    let name = || path.display().to_string();
    let file = File::open(path).map_err(|e| FileError::new(name(), e.to_string()))?;
    replay_file(BufReader::new(file), Some(number), last, state)
        .map_err(|m| FileError::new(name(), m))
}

/// For a state written without the journal: removes the journal files a run with it left
/// beside `state_file` and returns the first number after them (at least `from`), for the
/// state file to name, so that a later start with the journal counts none of them again
/// over a state that moved on without them.
pub fn retire(state_file: &Path, from: u64) -> Result<u64, FileError> {
    let mut next = from;
    for n in file_numbers(state_file)? {
        remove(&file_path(state_file, n))?;
        next = next.max(n + 1);
    }
    Ok(next)
}

/// Removes one journal file, naming it when that fails.
fn remove(path: &Path) -> Result<(), FileError> {
    std::fs::remove_file(path)
        .map_err(|e| FileError::new(path.display().to_string(), e.to_string()))
}

/// Whether `head`, a file's first bytes, begins as a journal file of state `S` does.
pub fn is_journal<S: Journaled>(head: &[u8]) -> bool {
    head.starts_with(S::MAGIC)
}

/// Takes again into `state` the records of one journal file read from `input`. `number`, when
/// given, is the number its name says, which its header must repeat; `last` allows a torn end
/// (the batch a crash interrupted), which is reported instead of refused.
pub fn replay_file<S: Journaled>(
    mut input: impl Read,
    number: Option<u64>,
    last: bool,
    state: &mut S,
) -> Result<FileReplay, String> {
    let mut header = [0u8; HEADER_BYTES];
    let got = read_full(&mut input, &mut header).map_err(|e| e.to_string())?;
    if got < HEADER_BYTES {
        // Created, and the crash came before its header was synced.
        return if last {
            Ok(FileReplay {
                torn_bytes: got as u64,
                ..FileReplay::default()
            })
        } else {
            Err("ends inside the header".into())
        };
    }
    if &header[..24] != S::MAGIC {
        return Err(format!(
            "not a journal of this file (its header is not {:?})",
            String::from_utf8_lossy(S::MAGIC).trim_end()
        ));
    }
    let version = u32::from_le_bytes(header[24..28].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!(
            "format version {version}; this build reads version {VERSION}"
        ));
    }
    let said = u64::from_le_bytes(header[28..36].try_into().expect("8 bytes"));
    if let Some(n) = number
        && said != n
    {
        return Err(format!("its header says it is file {said}, its name {n}"));
    }
    let mut replay = FileReplay {
        whole_bytes: HEADER_BYTES as u64,
        ..FileReplay::default()
    };
    let mut frame = Vec::new();
    loop {
        let which = || {
            format!(
                "record {} (byte {})",
                replay.records + 1,
                replay.whole_bytes
            )
        };
        let record =
            match read_frame(&mut input, S::FRAME, &mut frame).map_err(|e| e.to_string())? {
                FrameRead::End => return Ok(replay),
                FrameRead::Whole(record) => record,
                FrameRead::Torn(got) => {
                    if !last {
                        return Err(format!("{}: torn or damaged, and not at the end", which()));
                    }
                    let rest = io::copy(&mut input, &mut io::sink()).map_err(|e| e.to_string())?;
                    replay.torn_bytes = got + rest;
                    return Ok(replay);
                }
            };
        state
            .replay(&frame[record])
            .map_err(|m| format!("{}: {m}", which()))?;
        replay.records += 1;
        replay.whole_bytes += frame.len() as u64;
    }
}

/// What [`read_frame`] found.
enum FrameRead {
    /// The input ended before the frame began.
    End,
    /// A whole frame with a right check; the record is this range of it.
    Whole(std::ops::Range<usize>),
    /// A frame cut short or with a wrong check: these bytes of it were read.
    Torn(u64),
}

/// Reads one frame of `input` into `frame` (the length when it has one, the record, the
/// check).
fn read_frame(input: &mut impl Read, layout: Frame, frame: &mut Vec<u8>) -> io::Result<FrameRead> {
    frame.clear();
    let (start, len) = match layout {
        Frame::Fixed(bytes) => (0, bytes),
        Frame::Prefixed => {
            let mut prefix = [0u8; 4];
            let got = read_full(input, &mut prefix)?;
            frame.extend_from_slice(&prefix[..got]);
            if got == 0 {
                return Ok(FrameRead::End);
            }
            let len = u32::from_le_bytes(prefix) as usize;
            if got < 4 || len > MAX_RECORD_BYTES {
                return Ok(FrameRead::Torn(got as u64));
            }
            (4, len)
        }
    };
    frame.resize(start + len + 8, 0);
    let got = read_full(input, &mut frame[start..])?;
    if got == 0 && start == 0 {
        return Ok(FrameRead::End);
    }
    let end = start + len;
    let check = u64::from_le_bytes(frame[end..].try_into().expect("8 bytes"));
    if got < len + 8 || hash_bytes(&frame[..end]) != check {
        return Ok(FrameRead::Torn((start + got) as u64));
    }
    Ok(FrameRead::Whole(start..end))
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Cuts `path` to `len` bytes and syncs it: the torn end goes, so the file reads whole when it
/// is no longer the last.
fn cut(path: &Path, len: u64) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(len)?;
    file.sync_data()
}

/// `STATE.journal.N`.
fn file_path(state_file: &Path, number: u64) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(format!(".journal.{number}"));
    PathBuf::from(name)
}

/// The numbers of the journal files of `state_file` in its folder.
pub(super) fn file_numbers(state_file: &Path) -> Result<Vec<u64>, FileError> {
    let dir = ensuresec_durable::folder_of(state_file);
    let prefix = match state_file.file_name() {
        Some(name) => format!("{}.journal.", name.to_string_lossy()),
        None => return Ok(Vec::new()),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FileError::new(dir.display().to_string(), e.to_string())),
    };
    let mut numbers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FileError::new(dir.display().to_string(), e.to_string()))?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        numbers.extend(number);
    }
    Ok(numbers)
}
