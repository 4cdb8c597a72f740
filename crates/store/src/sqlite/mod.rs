//! The embedded SQLite backend: WAL mode, `synchronous=FULL`, a group-committing writer thread
//! and a pool of read-only connections used from blocking tasks.

mod reads;
mod schema;
mod summary;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crossbeam_channel::Sender;
use ensuresec_model::{Alert, AlertId, Event, Incident, IncidentId};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::query::{AlertFilter, IncidentDetail, IncidentFilter, Page, PageRequest};
use crate::summary::{Activity, IncidentCount};
use crate::tokens::{NewToken, TokenInfo};
use crate::{
    Appended, DetectionProgress, Findings, MessageMark, Resend, SeqRange, Store, StoreError,
};
use writer::{EncodedBatch, Write};

/// Tuning of the SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read-only connections in the pool.
    pub readers: usize,
    /// Page cache per connection, in KiB.
    pub cache_kib: i64,
    /// Writes waiting for the writer before callers wait too (back-pressure).
    pub write_queue: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            cache_kib: 16 * 1024,
            write_queue: 256,
        }
    }
}

/// The embedded store, in `DATA_DIR/ensuresec.db`.
pub struct SqliteStore {
    writes: Sender<Write>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database in `data_dir`.
    pub fn open(data_dir: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("ensuresec.db");
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -options.cache_kib)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        schema::migrate(&mut conn)?;
        let next_seq = writer::next_free_seq(&conn)?;
        let mut readers = Vec::with_capacity(options.readers.max(1));
        for _ in 0..options.readers.max(1) {
            let r = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            r.pragma_update(None, "cache_size", -(options.cache_kib / 2).max(1024))?;
            r.busy_timeout(std::time::Duration::from_secs(10))?;
            readers.push(Mutex::new(r));
        }
        let (tx, rx) = crossbeam_channel::bounded(options.write_queue.max(1));
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(conn, rx, next_seq))
            .map_err(|source| StoreError::DataDir {
                path: data_dir.to_path_buf(),
                source,
            })?;
        Ok(SqliteStore {
            writes: tx,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Write,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let writes = self.writes.clone();
        let write = make(tx);
        // The queue is bounded: when the writer falls behind, callers wait here (back-pressure),
        // off the async threads.
        match writes.try_send(write) {
            Ok(()) => {}
            Err(crossbeam_channel::TrySendError::Full(write)) => {
                tokio::task::spawn_blocking(move || {
                    writes.send(write).map_err(|_| StoreError::Closed)
                })
                .await
                .map_err(|_| StoreError::Closed)??;
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                return Err(StoreError::Closed);
            }
        }
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn append(
        &self,
        events: &[Event],
        raw_ndjson: Option<&[u8]>,
        resend: Resend,
    ) -> Result<Appended, StoreError> {
        let Some(first) = events.first() else {
            return Ok(Appended::Stored(SeqRange { first: 0, len: 0 }));
        };
        let batch = EncodedBatch {
            count: events.len() as u64,
            ingest_ms: first.ingest_time.unwrap_or(first.time).timestamp_millis(),
            codec: crate::codec::LZ4_NDJSON,
            body: crate::codec::encode(events, raw_ndjson)?,
            resend,
        };
        self.write(|tx| Write::Events(batch, tx)).await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = Arc::clone(&self.readers);
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let n = readers.len();
            // Take the first free connection, starting at a rotating position; wait on one if all
            // are busy.
            for i in 0..n {
                if let Ok(conn) = readers[(start + i) % n].try_lock() {
                    return f(&conn);
                }
            }
            let conn = readers[start % n].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn append_batch(
        &self,
        events: &[Event],
        raw_ndjson: Option<&[u8]>,
        resend: Resend,
    ) -> Result<Appended, StoreError> {
        self.append(events, raw_ndjson, resend).await
    }

    async fn is_marked(&self, mark: &MessageMark) -> Result<bool, StoreError> {
        let mark = mark.clone();
        self.read(move |c| reads::is_marked(c, &mark)).await
    }

    async fn record(&self, findings: Findings) -> Result<(), StoreError> {
        self.write(|tx| Write::Findings(findings, tx)).await
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COALESCE(SUM(count), 0) FROM event_batches",
                [],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn events_from(&self, from: u64, limit: usize) -> Result<Vec<(u64, Event)>, StoreError> {
        self.read(move |c| reads::events_from(c, from, limit)).await
    }

    async fn detection_progress(&self) -> Result<DetectionProgress, StoreError> {
        self.read(reads::detection_progress).await
    }

    async fn purge_events_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let ms = cutoff.timestamp_millis();
        self.write(|tx| Write::Purge(ms, tx)).await
    }

    async fn list_alerts(
        &self,
        filter: AlertFilter,
        page: PageRequest,
    ) -> Result<Page<Alert>, StoreError> {
        self.read(move |c| reads::list_alerts(c, &filter, page))
            .await
    }

    async fn list_incidents(
        &self,
        filter: IncidentFilter,
        page: PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        self.read(move |c| reads::list_incidents(c, &filter, page))
            .await
    }

    async fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>, StoreError> {
        self.read(move |c| reads::incident(c, id)).await
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.read(reads::open_incidents).await
    }

    async fn max_ids(&self) -> Result<(AlertId, IncidentId), StoreError> {
        self.read(|c| {
            let a: i64 =
                c.query_row("SELECT COALESCE(MAX(id), 0) FROM alerts", [], |r| r.get(0))?;
            let i: i64 = c.query_row("SELECT COALESCE(MAX(id), 0) FROM incidents", [], |r| {
                r.get(0)
            })?;
            Ok((a as u64, i as u64))
        })
        .await
    }

    async fn create_token(&self, new: NewToken) -> Result<String, StoreError> {
        self.write(|tx| Write::CreateToken(new, tx)).await
    }

    async fn token_by_hash(&self, hash: Vec<u8>) -> Result<Option<TokenInfo>, StoreError> {
        self.read(move |c| reads::token_by_hash(c, &hash)).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(reads::list_tokens).await
    }

    async fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.write(|tx| Write::RevokeToken(name, tx)).await
    }

    async fn incident_counts(&self) -> Result<Vec<IncidentCount>, StoreError> {
        self.read(summary::incident_counts).await
    }

    async fn activity(
        &self,
        since: DateTime<Utc>,
        bucket_seconds: u32,
    ) -> Result<Activity, StoreError> {
        let since_ms = since.timestamp_millis();
        self.read(move |c| summary::activity(c, since_ms, bucket_seconds))
            .await
    }
}
