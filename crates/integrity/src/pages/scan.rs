//! One scan of one monitored page: fetch, inventory, compare with the record, keep the new
//! record. What `serve` runs on each page's schedule and `ensuresec integrity pages scan` runs
//! once.

use chrono::{DateTime, Utc};
use ensuresec_model::event::PageChange;

use super::authz::Authorizations;
use super::compare::compare;
use super::config::PageMonitorConfig;
use super::fetch::Fetcher;
use super::store::PageStore;
use crate::error::IntegrityError;

/// Scans `url`: returns what changed since the last scan (scripts not authorised are reported
/// on the first scan too).
pub async fn scan_page(
    store: &PageStore,
    fetcher: &Fetcher,
    settings: &PageMonitorConfig,
    url: &str,
    asset: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<PageChange>, IntegrityError> {
    let inventory = fetcher.inventory(url, now).await?;
    let previous = store.load(url)?;
    let authorizations = Authorizations::load(store.dir())?;
    let (changes, record) = compare(
        previous.as_ref(),
        inventory,
        &authorizations,
        settings,
        asset,
        now,
    );
    store.save(&record)?;
    Ok(changes)
}
