//! The payment-page monitor's records and script authorisations as the API and the dashboard
//! reach them: the monitored pages' inventories, and authorising or revoking a script through
//! crates/integrity `pages::authz` followed by its `integrity_script_authorization` record in the
//! audit log. One place, so that a change made from a page is recorded exactly as one made over
//! the API. (The CLI, which has no running audit log, submits the same record to its inbox.)

use ensuresec_integrity::IntegrityError;
use ensuresec_integrity::pages::authz::{self, Authorization, AuthorizationChange, Authorizations};
use ensuresec_integrity::pages::store::{PageRecord, PageStore};

use crate::Platform;
use crate::ledger::{LedgerError, RecordKind};

/// Why reading the records or changing an authorisation failed.
#[derive(Debug, thiserror::Error)]
pub enum PageAuthzError {
    /// The request was refused (no justification, unknown script, bad hash, a limit) or the
    /// state folder could not be read or written.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// The change was made but could not be recorded in the audit log.
    #[error("audit log: {0}")]
    Ledger(#[from] LedgerError),
    /// The file work could not run.
    #[error("page monitor task: {0}")]
    Task(String),
}

/// The pages folder of the configured integrity state folder.
pub fn page_store(platform: &Platform) -> PageStore {
    let config = platform.config();
    PageStore::new(&config.integrity.state_dir(&config.storage.data_dir))
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IntegrityError> + Send + 'static,
) -> Result<T, PageAuthzError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PageAuthzError::Task(e.to_string()))?
        .map_err(PageAuthzError::from)
}

/// Records a change in the audit log (when it is enabled).
async fn audit(platform: &Platform, change: &AuthorizationChange) -> Result<(), PageAuthzError> {
    if let Some(ledger) = platform.ledger() {
        ledger
            .record(RecordKind::IntegrityScriptAuthorization, change)
            .await?;
    }
    Ok(())
}

/// Every monitored page's last record, by URL, and the authorisations.
pub async fn inventories(
    platform: &Platform,
) -> Result<(Vec<PageRecord>, Authorizations), PageAuthzError> {
    let store = page_store(platform);
    blocking(move || Ok((store.list()?, Authorizations::load(store.dir())?))).await
}

/// Authorises `script` for `by` with a written justification (PCI DSS 6.4.3), pinned to
/// `sha256` or else to the hash last seen, and records it in the audit log.
pub async fn authorize(
    platform: &Platform,
    script: String,
    sha256: Option<String>,
    justification: String,
    by: String,
) -> Result<Authorization, PageAuthzError> {
    let store = page_store(platform);
    let now = platform.clock().now();
    let a = blocking(move || {
        authz::authorize_script(&store, &script, sha256, &justification, &by, now)
    })
    .await?;
    audit(
        platform,
        &AuthorizationChange::Authorize {
            authorization: a.clone(),
        },
    )
    .await?;
    tracing::info!(script = %a.script, by = %a.by, "script authorised");
    Ok(a)
}

/// Revokes the authorisation of `script` for `by` and records it in the audit log; `false`
/// (and no record) when the script was not authorised.
pub async fn revoke(
    platform: &Platform,
    script: String,
    by: String,
) -> Result<bool, PageAuthzError> {
    let store = page_store(platform);
    let key = script.clone();
    if !blocking(move || authz::revoke_script(&store, &key)).await? {
        return Ok(false);
    }
    tracing::info!(script = %script, by = %by, "script authorisation revoked");
    audit(platform, &AuthorizationChange::Revoke { script, by }).await?;
    Ok(true)
}
