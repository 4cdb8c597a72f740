//! The payment-page source: fetches every `[[integrity.pages]]` URL on its own schedule
//! (crates/integrity `pages`), and ingests a `page_change` event for each finding; the
//! pipeline's `IntegrityDetector` turns each into an alert with its evidence. One task per page,
//! so a slow page delays nobody else's.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ensuresec_integrity::config::IntegrityConfig;
use ensuresec_integrity::pages::fetch::Fetcher;
use ensuresec_integrity::pages::scan::scan_page;
use ensuresec_integrity::pages::store::PageStore;
use ensuresec_model::{Clock, Event, EventData};
use ensuresec_pipeline::{Ingestor, Source, SourceError};

/// Metric: page scans, by `outcome` (`ok`, `failed`).
pub const SCANS_METRIC: &str = "ensuresec_page_scans_total";
/// Metric: page-monitor findings, by `change`.
pub const CHANGES_METRIC: &str = "ensuresec_page_changes_total";

/// Fetches the configured pages and ingests what changed.
pub struct PageMonitorSource {
    config: IntegrityConfig,
    store: PageStore,
    fetcher: Fetcher,
    clock: Arc<dyn Clock>,
}

impl PageMonitorSource {
    /// A source for the pages of `[integrity]`, keeping its records in `state_dir`.
    pub fn new(
        config: &IntegrityConfig,
        state_dir: &std::path::Path,
        clock: Arc<dyn Clock>,
    ) -> Result<PageMonitorSource, ensuresec_integrity::IntegrityError> {
        Ok(PageMonitorSource {
            fetcher: Fetcher::new(&config.page_monitor)?,
            store: PageStore::new(state_dir),
            config: config.clone(),
            clock,
        })
    }
}

/// The events of one scan's findings.
fn events(changes: Vec<ensuresec_model::event::PageChange>, clock: &dyn Clock) -> Vec<Event> {
    changes
        .into_iter()
        .map(|c| {
            tracing::warn!(url = %c.url, change = ?c.change, summary = %c.summary, "payment page changed");
            let change = serde_json::to_value(c.change)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            metrics::counter!(CHANGES_METRIC, "change" => change).increment(1);
            Event {
                time: clock.now(),
                ingest_time: None,
                source: "integrity:pages".into(),
                labels: Default::default(),
                data: EventData::PageChange(c),
            }
        })
        .collect()
}

/// Scans one page at its interval until ingesting fails (the platform stops).
async fn watch_page(
    this: Arc<PageMonitorSource>,
    page: ensuresec_integrity::pages::config::PageConfig,
    ingestor: Ingestor,
) -> Result<(), SourceError> {
    let mut every = tokio::time::interval(Duration::from_secs(page.interval));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let found = scan_page(
            &this.store,
            &this.fetcher,
            &this.config.page_monitor,
            &page.url,
            this.config.asset.as_deref(),
            this.clock.now(),
        )
        .await;
        match found {
            Ok(changes) => {
                metrics::counter!(SCANS_METRIC, "outcome" => "ok").increment(1);
                tracing::debug!(url = %page.url, changes = changes.len(), "page scanned");
                if changes.is_empty() {
                    continue;
                }
                ingestor
                    .ingest(events(changes, this.clock.as_ref()))
                    .await
                    .map_err(|e| SourceError {
                        source_name: "integrity:pages".into(),
                        message: e.to_string(),
                    })?;
            }
            Err(e) => {
                metrics::counter!(SCANS_METRIC, "outcome" => "failed").increment(1);
                tracing::error!(url = %page.url, error = %e, "page scan failed");
            }
        }
    }
}

#[async_trait]
impl Source for PageMonitorSource {
    fn name(&self) -> &str {
        "integrity:pages"
    }

    async fn run(self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let this = Arc::new(*self);
        let mut tasks = tokio::task::JoinSet::new();
        for page in this.config.pages.clone() {
            let (this, ingestor) = (this.clone(), ingestor.clone());
            tasks.spawn(watch_page(this, page, ingestor));
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(SourceError {
                        source_name: "integrity:pages".into(),
                        message: format!("page task: {e}"),
                    });
                }
            }
        }
        Ok(())
    }
}
