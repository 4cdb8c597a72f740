//! The integrity source: watches the configured web root (crates/integrity) and ingests a
//! `file_change` event for every unplanned difference from the signed baseline; the pipeline's
//! `IntegrityDetector` turns each into an alert with its evidence. The watcher blocks (inotify,
//! hashing), so it runs on a thread of its own and hands batches over a bounded channel.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ensuresec_integrity::config::IntegrityConfig;
use ensuresec_integrity::monitor::Monitor;
use ensuresec_integrity::watch::{self, WatchOptions};
use ensuresec_model::{Clock, Event};
use ensuresec_pipeline::{Ingestor, Source, SourceError};

/// Metric: file-change events raised, by `change`.
pub const CHANGES_METRIC: &str = "ensuresec_integrity_changes_total";

/// Batches waiting for the ingestor; the watcher waits when they are all taken.
const QUEUE: usize = 64;

/// Watches one root and ingests its unplanned changes.
pub struct IntegritySource {
    monitor: Monitor,
    options: WatchOptions,
    clock: Arc<dyn Clock>,
    name: String,
}

impl IntegritySource {
    /// A source for `[integrity]` over an opened monitor (its baseline verified).
    pub fn new(
        monitor: Monitor,
        config: &IntegrityConfig,
        clock: Arc<dyn Clock>,
    ) -> IntegritySource {
        let name = format!("integrity:{}", monitor.root().display());
        IntegritySource {
            monitor,
            options: WatchOptions {
                settle: Duration::from_millis(config.settle_milliseconds),
                rescan: (config.scan_interval_seconds > 0)
                    .then(|| Duration::from_secs(config.scan_interval_seconds)),
            },
            clock,
            name,
        }
    }
}

#[async_trait]
impl Source for IntegritySource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let IntegritySource {
            monitor,
            options,
            clock,
            name,
        } = *self;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Event>>(QUEUE);
        let watcher = tokio::task::spawn_blocking(move || {
            watch::run(monitor, options, clock, |events| {
                tx.blocking_send(events).is_ok()
            })
        });
        while let Some(batch) = rx.recv().await {
            for e in &batch {
                if let ensuresec_model::EventData::FileChange(f) = &e.data {
                    tracing::warn!(path = %f.path, change = ?f.change, "unplanned file change");
                    let change = format!("{:?}", f.change).to_lowercase();
                    metrics::counter!(CHANGES_METRIC, "change" => change).increment(1);
                }
            }
            ingestor.ingest(batch).await.map_err(|e| SourceError {
                source_name: name.clone(),
                message: e.to_string(),
            })?;
        }
        let fail = |message: String| SourceError {
            source_name: name.clone(),
            message,
        };
        match watcher.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Err(e) => Err(fail(format!("watcher thread: {e}"))),
        }
    }
}
