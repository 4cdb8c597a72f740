//! The access-log tail: a [`Source`] that follows a web server's log file, rotation-safe, and
//! resumes from a stored offset after a restart.
//!
//! * **Rotation.** The open file handle is kept across a rename (logrotate's default): the old
//!   file is read to its end, then the new file at the same path is opened from its start. A file
//!   truncated in place (`copytruncate`) is read again from its start.
//! * **Resume.** After every batch is durable in the store, the tail writes the identity of the
//!   file it reads (device, inode and a fingerprint of its first bytes) and the offset of the last
//!   complete line to a small state file under the data directory (written to a temporary file,
//!   synced, then renamed). At start it reopens that file at that offset; if the file was rotated
//!   while the server was down, it finds it by identity in the same directory, reads the rest of
//!   it, then the new file. Delivery is at least once: a crash between storing a batch and writing
//!   the offset replays that batch.
//! * **Bad input.** A line that does not parse is counted (metric) and logged, and the tail goes
//!   on; a line longer than [`logs::MAX_LINE_BYTES`] is skipped the same way.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ensuresec_model::{Clock, Event};
use ensuresec_pipeline::{Ingestor, Source, SourceError};
use ensuresec_webattack::logs::{self, LogFormat};
use serde::{Deserialize, Serialize};

/// Lines read per batch at most.
const MAX_BATCH_LINES: usize = 5_000;
/// Bytes read from the file per `read` call.
const READ_CHUNK: usize = 256 * 1024;
/// Bytes hashed to tell a file from another that reused its inode.
const FINGERPRINT_BYTES: usize = 256;
/// Metric: access-log lines read, by `outcome` (`event`, `bad`).
pub const LINES_METRIC: &str = "ensuresec_access_log_lines_total";

/// Why the tail failed.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    /// Reading the log or a rotated file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The stored offset could not be written.
    #[error("offset state {path}: {source}")]
    State {
        /// The state file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Which file a handle reads: device and inode, plus a hash of its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    dev: u64,
    ino: u64,
    /// FNV-1a of the first `head_len` bytes.
    head_hash: u64,
    head_len: u64,
}

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    path: PathBuf,
    file: FileId,
    offset: u64,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(unix)]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dev_ino(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Reads the first bytes of `file` without moving its cursor for good.
fn head(file: &mut File, len: usize) -> std::io::Result<Vec<u8>> {
    let pos = file.stream_position()?;
    file.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(len);
    Read::by_ref(file).take(len as u64).read_to_end(&mut buf)?;
    file.seek(SeekFrom::Start(pos))?;
    Ok(buf)
}

fn identify(file: &mut File) -> std::io::Result<FileId> {
    let (dev, ino) = dev_ino(&file.metadata()?);
    let h = head(file, FINGERPRINT_BYTES)?;
    Ok(FileId {
        dev,
        ino,
        head_hash: fnv1a(&h),
        head_len: h.len() as u64,
    })
}

/// Whether `file` is the one `id` describes (same inode, same first bytes).
fn same_file(file: &mut File, id: &FileId) -> std::io::Result<bool> {
    let (dev, ino) = dev_ino(&file.metadata()?);
    if (dev, ino) != (id.dev, id.ino) {
        return Ok(false);
    }
    let h = head(file, id.head_len as usize)?;
    Ok(h.len() as u64 == id.head_len && fnv1a(&h) == id.head_hash)
}

/// Where reading starts when no offset is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// The whole existing file.
    #[default]
    Beginning,
    /// Only lines written from now on.
    End,
}

/// The file being read.
struct Open {
    file: File,
    id: FileId,
    /// Offset of the end of the last complete line handed out.
    offset: u64,
    /// Bytes after `offset` read but not yet ending in a newline.
    pending: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    format: Option<LogFormat>,
}

/// The synchronous core of the tail: reads complete lines, follows rotation, stores offsets.
/// [`AccessLogSource`] drives it on a timer; tests drive it step by step.
pub struct LogTail {
    path: PathBuf,
    state_path: PathBuf,
    fixed_format: Option<LogFormat>,
    source_name: String,
    read_from: ReadFrom,
    open: Option<Open>,
    /// Rotated files still to finish (found at start by identity), oldest first.
    backlog: Vec<Open>,
    bad_lines: u64,
    started: bool,
}

impl LogTail {
    /// A tail of `path` keeping its offset in `state_dir`; `format` `None` detects it per file.
    pub fn new(
        path: impl Into<PathBuf>,
        format: Option<LogFormat>,
        state_dir: &Path,
        read_from: ReadFrom,
    ) -> LogTail {
        let path = path.into();
        let key = fnv1a(path.to_string_lossy().as_bytes());
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        LogTail {
            state_path: state_dir.join(format!("access-log-{stem}-{key:016x}.json")),
            source_name: format!("access_log:{}", path.display()),
            path,
            fixed_format: format,
            read_from,
            open: None,
            backlog: Vec::new(),
            bad_lines: 0,
            started: false,
        }
    }

    /// The source name used in events and logs.
    pub fn name(&self) -> &str {
        &self.source_name
    }

    /// Where the offset is stored.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// Lines that did not parse so far.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> TailError {
        let path = path.to_path_buf();
        move |source| TailError::Io { path, source }
    }

    fn open_at(&self, mut file: File, offset: u64) -> Result<Open, TailError> {
        let id = identify(&mut file).map_err(self.io(&self.path))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(self.io(&self.path))?;
        Ok(Open {
            file,
            id,
            offset,
            pending: Vec::new(),
            skipping: false,
            format: self.fixed_format,
        })
    }

    /// Opens the file (and any rotated file to finish) from the stored state, once.
    fn start(&mut self) -> Result<(), TailError> {
        self.started = true;
        let state: Option<State> = std::fs::read(&self.state_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Ok(mut current) = File::open(&self.path) else {
            // Not there yet: `poll` opens it from its start when it appears. A rotated file
            // holding unread lines is still looked for.
            if let Some(s) = &state {
                self.find_rotated(s)?;
            }
            return Ok(());
        };
        let len = current.metadata().map_err(self.io(&self.path))?.len();
        match state {
            Some(s) if same_file(&mut current, &s.file).map_err(self.io(&self.path))? => {
                let offset = if s.offset <= len { s.offset } else { 0 };
                self.open = Some(self.open_at(current, offset)?);
            }
            Some(s) => {
                self.find_rotated(&s)?;
                self.open = Some(self.open_at(current, 0)?);
            }
            None => {
                let offset = match self.read_from {
                    ReadFrom::Beginning => 0,
                    ReadFrom::End => len,
                };
                self.open = Some(self.open_at(current, offset)?);
            }
        }
        Ok(())
    }

    /// Looks in the log's directory for the file the state names (rotated while we were down).
    fn find_rotated(&mut self, s: &State) -> Result<(), TailError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p == self.path || !p.is_file() {
                continue;
            }
            let Ok(mut f) = File::open(&p) else { continue };
            if same_file(&mut f, &s.file).unwrap_or(false) {
                let len = f.metadata().map_err(self.io(&p))?.len();
                if s.offset < len {
                    tracing::info!(file = %p.display(), offset = s.offset, "finishing a log rotated while stopped");
                    let mut o = self.open_at(f, s.offset)?;
                    o.id = s.file;
                    self.backlog.push(o);
                }
                return Ok(());
            }
        }
        tracing::warn!(path = %self.path.display(), "the file of the stored offset is gone; reading the current file from its start");
        Ok(())
    }

    /// Reads what is available: complete lines of the backlog and the current file, following a
    /// rotation or truncation of the path. Returns the events (at most about
    /// [`MAX_BATCH_LINES`]); call [`LogTail::commit`] once they are durable.
    pub fn poll(
        &mut self,
        fallback: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Event>, TailError> {
        if !self.started {
            self.start()?;
        }
        let mut events = Vec::new();
        while let Some(mut old) = self.backlog.pop() {
            self.drain(&mut old, true, fallback, &mut events)?;
            if events.len() >= MAX_BATCH_LINES {
                self.backlog.push(old);
                return Ok(events);
            }
        }
        if self.open.is_none() {
            match File::open(&self.path) {
                Ok(f) => self.open = Some(self.open_at(f, 0)?),
                Err(_) => return Ok(events),
            }
        }
        let Some(mut cur) = self.open.take() else {
            return Ok(events);
        };
        self.drain(&mut cur, false, fallback, &mut events)?;
        if events.len() >= MAX_BATCH_LINES {
            self.open = Some(cur);
            return Ok(events);
        }
        // Has the path moved on? Compare the file now at the path with the one we read. (When it
        // was rotated away and not recreated yet, the old handle is kept.)
        if let Ok(mut now) = File::open(&self.path) {
            let rotated = !same_file(&mut now, &cur.id).map_err(self.io(&self.path))?;
            let size = now.metadata().map_err(self.io(&self.path))?.len();
            if rotated {
                // The old handle is drained; its unterminated last line is complete now.
                self.drain(&mut cur, true, fallback, &mut events)?;
                tracing::info!(path = %self.path.display(), "log rotated; reading the new file");
                let mut next = self.open_at(now, 0)?;
                self.drain(&mut next, false, fallback, &mut events)?;
                cur = next;
            } else if size < cur.offset + cur.pending.len() as u64 {
                tracing::info!(path = %self.path.display(), "log truncated; reading it from its start");
                cur = self.open_at(now, 0)?;
                self.drain(&mut cur, false, fallback, &mut events)?;
            }
        }
        self.open = Some(cur);
        Ok(events)
    }

    /// Reads `o` to its end (or until the batch is full), turning complete lines into events.
    /// With `eof_is_eol`, a final line without newline counts as complete (the file is done).
    fn drain(
        &mut self,
        o: &mut Open,
        eof_is_eol: bool,
        fallback: chrono::DateTime<chrono::Utc>,
        events: &mut Vec<Event>,
    ) -> Result<(), TailError> {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            if events.len() >= MAX_BATCH_LINES {
                return Ok(());
            }
            let n = o.file.read(&mut buf).map_err(self.io(&self.path))?;
            if n == 0 {
                break;
            }
            let mut rest = &buf[..n];
            while let Some(i) = memchr_newline(rest) {
                let (piece, tail) = rest.split_at(i + 1);
                rest = tail;
                if o.skipping {
                    o.skipping = false;
                    o.offset += (o.pending.len() + piece.len()) as u64;
                    o.pending.clear();
                    continue;
                }
                o.pending.extend_from_slice(piece);
                let line = std::mem::take(&mut o.pending);
                o.offset += line.len() as u64;
                self.line(o, &line, fallback, events);
            }
            if !rest.is_empty() {
                if o.skipping {
                    o.offset += rest.len() as u64;
                } else {
                    o.pending.extend_from_slice(rest);
                    if o.pending.len() > logs::MAX_LINE_BYTES {
                        self.bad(logs::LogError::TooLong.to_string());
                        o.offset += o.pending.len() as u64;
                        o.pending.clear();
                        o.skipping = true;
                    }
                }
            }
        }
        if eof_is_eol && !o.pending.is_empty() {
            let line = std::mem::take(&mut o.pending);
            o.offset += line.len() as u64;
            self.line(o, &line, fallback, events);
        }
        Ok(())
    }

    fn line(
        &mut self,
        o: &mut Open,
        line: &[u8],
        fallback: chrono::DateTime<chrono::Utc>,
        events: &mut Vec<Event>,
    ) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let format = match o.format {
            Some(f) => f,
            None => match logs::detect(line) {
                Some(f) => {
                    o.format = Some(f);
                    f
                }
                None => {
                    self.bad("log format not recognised".into());
                    return;
                }
            },
        };
        match logs::parse_line(format, line)
            .and_then(|rec| logs::to_event(&rec, &self.source_name, fallback))
        {
            Ok(e) => {
                metrics::counter!(LINES_METRIC, "outcome" => "event").increment(1);
                events.push(e);
            }
            Err(e) => self.bad(e.to_string()),
        }
    }

    fn bad(&mut self, message: String) {
        self.bad_lines += 1;
        metrics::counter!(LINES_METRIC, "outcome" => "bad").increment(1);
        // Sampled: the first ten, then every thousandth.
        if self.bad_lines <= 10 || self.bad_lines.is_multiple_of(1000) {
            tracing::warn!(source = %self.source_name, bad_lines = self.bad_lines, %message, "unreadable access-log line");
        }
    }

    /// Stores the offset of everything handed out so far. Call after the events are durable.
    pub fn commit(&self) -> Result<(), TailError> {
        // While a rotated file is still being finished, its offset is the one to keep.
        let Some(o) = self.backlog.last().or(self.open.as_ref()) else {
            return Ok(());
        };
        let state = State {
            path: self.path.clone(),
            file: o.id,
            offset: o.offset,
        };
        let err = |source| TailError::State {
            path: self.state_path.clone(),
            source,
        };
        if let Some(dir) = self.state_path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let bytes = serde_json::to_vec(&state).map_err(|e| err(std::io::Error::other(e)))?;
        // Service state, not for other users.
        ensuresec_durable::replace(&self.state_path, 0o600, &bytes).map_err(|e| err(e.into()))
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// [`LogTail`] as a pipeline [`Source`]: polls the file every `poll_interval`, ingests what it
/// read, then stores the offset.
pub struct AccessLogSource {
    tail: LogTail,
    poll_interval: Duration,
    clock: Arc<dyn Clock>,
}

impl AccessLogSource {
    /// A source over `tail`, dating unparsable log times with `clock`.
    pub fn new(tail: LogTail, poll_interval: Duration, clock: Arc<dyn Clock>) -> AccessLogSource {
        AccessLogSource {
            tail,
            poll_interval,
            clock,
        }
    }
}

#[async_trait]
impl Source for AccessLogSource {
    fn name(&self) -> &str {
        self.tail.name()
    }

    async fn run(self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let AccessLogSource {
            mut tail,
            poll_interval,
            clock,
        } = *self;
        let name = tail.name().to_owned();
        let fail = |e: &dyn std::fmt::Display| SourceError {
            source_name: name.clone(),
            message: e.to_string(),
        };
        let mut ticker = tokio::time::interval(poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            loop {
                let now = clock.now();
                // File reads are bounded per batch; they run off the async workers all the same.
                let (back, result) = tokio::task::spawn_blocking(move || {
                    let r = tail.poll(now);
                    (tail, r)
                })
                .await
                .map_err(|e| fail(&e))?;
                tail = back;
                let events = result.map_err(|e| fail(&e))?;
                if events.is_empty() {
                    break;
                }
                let full = events.len() >= MAX_BATCH_LINES;
                ingestor.ingest(events).await.map_err(|e| fail(&e))?;
                tail.commit().map_err(|e| fail(&e))?;
                if !full {
                    break;
                }
            }
        }
    }
}
