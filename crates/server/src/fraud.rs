//! Payment fraud wired in: the `[fraud]` section, the one [`FraudService`] that
//! `POST /v1/payments/score` and the pipeline's payment detector share, and the ring graph.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ensuresec_fraud::journal::Kept;
use ensuresec_fraud::rings::{RingLimits, RingService};
use ensuresec_fraud::rules::Thresholds;
use ensuresec_fraud::{FileError, FraudService, ServiceConfig, StateLimits};
use serde::{Deserialize, Serialize};

/// `[fraud]`: payment fraud scoring (docs/fraud.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FraudConfig {
    /// Serve `POST /v1/payments/score` and score `payment_authorization` events.
    pub enabled: bool,
    /// A rules file replacing the shipped `default.yaml`.
    pub rules: Option<PathBuf>,
    /// A model file from `ensuresec fraud train` over the online features; read again on
    /// SIGHUP. Without it the rules' base rate and points decide.
    pub model: Option<PathBuf>,
    /// Decision thresholds replacing the rules file's (`challenge`, `review`, `decline`).
    pub thresholds: Option<Thresholds>,
    /// A MaxMind DB City file (GeoLite2-City or the like) placing client IP addresses, for
    /// the distances between the client and the billing and shipping addresses.
    pub ip_locations: Option<PathBuf>,
    /// A GeoNames postal-code file placing addresses that come without coordinates, for the
    /// same distances.
    pub postal_centroids: Option<PathBuf>,
    /// Exchange rates into one reference currency (YAML, or the ECB's reference rates as
    /// published when named `*.csv`; docs/fraud.md): amounts are counted in it, and a payment
    /// in a currency without a rate is refused. Read again on SIGHUP.
    pub exchange_rates: Option<PathBuf>,
    /// Count amounts in this currency instead of the rates file's reference, when the file
    /// prices it: dollars from the ECB's euro rates, say [default: the file's reference].
    pub exchange_rates_reference: Option<String>,
    /// Most entities kept per kind (cards, devices, IP addresses…).
    pub max_entities: usize,
    /// Entities per kind the feature tables are sized for at start (see
    /// [`StateLimits::reserved_entities`]).
    pub reserved_entities: usize,
    /// Payments remembered by merchant and payment id, so that one scored again (a retry, or
    /// an event detected again after a restart) is not counted twice (0: every score counts).
    pub recent_payments: usize,
    /// Days after which an entity not seen again is forgotten (event time).
    pub ttl_days: u32,
    /// Largest body of `POST /v1/payments/score`, in bytes.
    pub max_body_bytes: usize,
    /// How far ahead of the server's clock a payment's `time` may be for
    /// `POST /v1/payments/score`, in seconds: an authorisation is scored as it happens, and
    /// one dated ahead would keep its entities' counts from fading until then. Payment events
    /// keep `[ingest] max_future_skew_seconds`.
    pub max_future_skew_seconds: i64,
    /// Keep the feature state across restarts: read at start, written every
    /// `save_state_secs` and when `serve` stops.
    pub persist_state: bool,
    /// Where the state is kept [default: `fraud-state.bin` in the data directory].
    pub state_file: Option<PathBuf>,
    /// Seconds between two writes of the state while running (0: only when `serve` stops).
    pub save_state_secs: u64,
    /// Seconds one pass over the feature state takes, forgetting the entities not seen for
    /// `ttl_days` a shard at a time (0: no pass; they are then forgotten only when their table
    /// is full, or start afresh when seen again, and stay in memory and the state file).
    pub sweep_secs: u64,
    /// Milliseconds between two writes of the journals of the feature state and the ring graph,
    /// what was counted and linked since the last write of each (0: no journal, a crash loses
    /// everything since that write).
    pub journal_sync_ms: u64,
    /// Records in a journal past which its state is written early (and the journal starts
    /// again): what a start after a crash may have to take again.
    pub journal_max_records: u64,
    /// Write the feature state and the ring graph by a copy under their locks even with the
    /// journal: one pause of scoring per write (0.14–0.15 s at ten million entities) instead
    /// of a write made from the journal, which takes longer and slows scoring meanwhile.
    pub save_by_copy: bool,
    /// Fraud rings (`[fraud.rings]`).
    pub rings: RingsConfig,
}

impl Default for FraudConfig {
    fn default() -> Self {
        FraudConfig {
            enabled: true,
            rules: None,
            model: None,
            thresholds: None,
            ip_locations: None,
            postal_centroids: None,
            exchange_rates: None,
            exchange_rates_reference: None,
            max_entities: StateLimits::default().max_entities,
            reserved_entities: StateLimits::default().reserved_entities,
            recent_payments: StateLimits::default().recent_payments,
            ttl_days: 90,
            max_body_bytes: 16 * 1024,
            max_future_skew_seconds: 300,
            persist_state: true,
            state_file: None,
            save_state_secs: 300,
            sweep_secs: 300,
            journal_sync_ms: 50,
            journal_max_records: 10_000_000,
            save_by_copy: false,
            rings: RingsConfig::default(),
        }
    }
}

/// `[fraud.rings]`: groups of cards, devices, e-mails, addresses, accounts and IP addresses
/// tied by payments, reported when enough of their payments are labelled fraud.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingsConfig {
    /// Build the graph and report rings.
    pub enabled: bool,
    /// Fewest entities in a reported group.
    pub min_members: usize,
    /// Fewest fraudulent payments in a reported group.
    pub min_frauds: u32,
    /// Lowest share of fraudulent payments (0 to 1).
    pub min_fraud_rate: f64,
    /// Most entities kept, in the graph's two generations together (the older is forgotten
    /// when the newer holds half).
    pub max_nodes: usize,
    /// Most payments remembered for their labels, in both generations together.
    pub max_payments: usize,
    /// Days a link is kept at most (event time): a generation older than half of it is
    /// forgotten at the next rotation, so links live between half and all of it.
    pub max_age_days: u32,
    /// Where the graph is kept across restarts, when `[fraud] persist_state` is on [default:
    /// `fraud-rings.bin` in the data directory]; written with the feature state.
    pub state_file: Option<PathBuf>,
}

impl Default for RingsConfig {
    fn default() -> Self {
        let l = RingLimits::default();
        RingsConfig {
            enabled: true,
            min_members: l.min_members,
            min_frauds: l.min_frauds,
            min_fraud_rate: l.min_fraud_rate,
            max_nodes: l.max_nodes,
            max_payments: l.max_payments,
            max_age_days: 90,
            state_file: None,
        }
    }
}

/// Most payments `fraud.recent_payments` may remember: about 400 MB.
const MAX_RECENT_PAYMENTS: usize = 1 << 24;

impl FraudConfig {
    /// Checks what serde cannot; names the bad key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=100_000_000).contains(&self.max_entities) {
            return Err((
                "fraud.max_entities",
                "must be between 1 and 100000000".into(),
            ));
        }
        if self.reserved_entities > self.max_entities {
            return Err((
                "fraud.reserved_entities",
                format!("must be at most max_entities ({})", self.max_entities),
            ));
        }
        if self.recent_payments > MAX_RECENT_PAYMENTS {
            return Err((
                "fraud.recent_payments",
                format!("must be at most {MAX_RECENT_PAYMENTS}"),
            ));
        }
        if let Some(reference) = &self.exchange_rates_reference {
            if self.exchange_rates.is_none() {
                return Err((
                    "fraud.exchange_rates_reference",
                    "needs fraud.exchange_rates, the file the rates come from".into(),
                ));
            }
            if ensuresec_fraud::currency::minor_exponent(reference).is_none() {
                return Err((
                    "fraud.exchange_rates_reference",
                    format!("`{reference}` is not an ISO 4217 currency in use"),
                ));
            }
        }
        if !(1..=3650).contains(&self.ttl_days) {
            return Err(("fraud.ttl_days", "must be between 1 and 3650".into()));
        }
        if !(256..=1 << 20).contains(&self.max_body_bytes) {
            return Err((
                "fraud.max_body_bytes",
                "must be between 256 and 1048576".into(),
            ));
        }
        if !(1..=86_400).contains(&self.max_future_skew_seconds) {
            return Err((
                "fraud.max_future_skew_seconds",
                "must be between 1 and 86400".into(),
            ));
        }
        if self.save_state_secs > 86_400 {
            return Err((
                "fraud.save_state_secs",
                "must be at most 86400 (0: only when serve stops)".into(),
            ));
        }
        if self.sweep_secs > 86_400 {
            return Err((
                "fraud.sweep_secs",
                "must be at most 86400 (0: no pass)".into(),
            ));
        }
        if self.journal_sync_ms > 10_000 {
            return Err((
                "fraud.journal_sync_ms",
                "must be at most 10000 (0: no journal)".into(),
            ));
        }
        if !(1..=1_000_000_000).contains(&self.journal_max_records) {
            return Err((
                "fraud.journal_max_records",
                "must be between 1 and 1000000000".into(),
            ));
        }
        let r = &self.rings;
        if r.min_members < 2 {
            return Err(("fraud.rings.min_members", "must be at least 2".into()));
        }
        if r.min_frauds == 0 {
            return Err(("fraud.rings.min_frauds", "must be at least 1".into()));
        }
        if !(r.min_fraud_rate > 0.0 && r.min_fraud_rate <= 1.0) {
            return Err((
                "fraud.rings.min_fraud_rate",
                "must be above 0 and at most 1".into(),
            ));
        }
        if !(2..=3650).contains(&r.max_age_days) {
            return Err((
                "fraud.rings.max_age_days",
                "must be between 2 and 3650".into(),
            ));
        }
        // Each of the graph's two generations holds half: a payment of six entities must fit.
        if !(12..=100_000_000).contains(&r.max_nodes)
            || !(2..=100_000_000).contains(&r.max_payments)
        {
            return Err((
                "fraud.rings.max_nodes",
                "max_nodes must be between 12 and 100000000 and max_payments between 2 and 100000000".into(),
            ));
        }
        Ok(())
    }

    /// What the scorer starts from.
    pub fn service_config(&self) -> ServiceConfig {
        ServiceConfig {
            rules: self.rules.clone(),
            model: self.model.clone(),
            thresholds: self.thresholds,
            limits: StateLimits {
                max_entities: self.max_entities,
                ttl_seconds: i64::from(self.ttl_days) * 86_400,
                reserved_entities: self.reserved_entities,
                recent_payments: self.recent_payments,
            },
            ip_locations: self.ip_locations.clone(),
            postal_centroids: self.postal_centroids.clone(),
            exchange_rates: self.exchange_rates.clone(),
            exchange_rates_reference: self.exchange_rates_reference.clone(),
            state_file: None,
            journal: false,
            save_by_copy: self.save_by_copy,
        }
    }

    /// Where the state is kept for a server whose data directory is `data_dir`, unless it is
    /// not kept.
    pub fn state_file(&self, data_dir: &Path) -> Option<PathBuf> {
        self.persist_state.then(|| {
            self.state_file
                .clone()
                .unwrap_or_else(|| data_dir.join("fraud-state.bin"))
        })
    }

    /// The shared scorer of a server whose data directory is `data_dir` (its state read back
    /// when kept), or `None` when the module is off; a bad rules, model or state file is an
    /// error naming it.
    pub fn service(&self, data_dir: &Path) -> Result<Option<Arc<FraudService>>, FileError> {
        if !self.enabled {
            return Ok(None);
        }
        let config = ServiceConfig {
            state_file: self.state_file(data_dir),
            journal: self.journal_sync_ms > 0,
            ..self.service_config()
        };
        Ok(Some(Arc::new(FraudService::open(&config)?)))
    }

    /// Where the ring graph is kept for a server whose data directory is `data_dir`, unless
    /// it is not kept (the state is not persisted, or the module or the rings are off).
    pub fn rings_file(&self, data_dir: &Path) -> Option<PathBuf> {
        (self.persist_state && self.enabled && self.rings.enabled).then(|| {
            self.rings
                .state_file
                .clone()
                .unwrap_or_else(|| data_dir.join("fraud-rings.bin"))
        })
    }

    /// The ring graph of a server whose data directory is `data_dir` (read back when kept,
    /// with its journal taken again when there is one), or `None` when the module or the rings
    /// are off; a ring or journal file that cannot be read or is refused is an error naming it.
    pub fn rings(&self, data_dir: &Path) -> Result<Option<Arc<RingService>>, FileError> {
        let r = &self.rings;
        if !(self.enabled && r.enabled) {
            return Ok(None);
        }
        let limits = RingLimits {
            min_members: r.min_members,
            min_frauds: r.min_frauds,
            min_fraud_rate: r.min_fraud_rate,
            max_nodes: r.max_nodes,
            max_payments: r.max_payments,
            max_age_seconds: Some(i64::from(r.max_age_days) * 86_400),
            ..RingLimits::default()
        };
        let rings = match self.rings_file(data_dir) {
            Some(path) => RingService::open(&path, limits, self.journal_sync_ms > 0)?
                .save_by_copy(self.save_by_copy),
            None => RingService::in_memory(limits),
        };
        Ok(Some(Arc::new(rings)))
    }
}

/// What `serve` writes to disk for the fraud module, each where `[fraud]` keeps it.
#[derive(Debug, Clone, Default)]
pub struct KeptState {
    /// The scorer, when its feature state is kept.
    pub service: Option<Arc<FraudService>>,
    /// The ring graph, when it is kept.
    pub rings: Option<Arc<RingService>>,
}

impl KeptState {
    /// Whether there is anything to write.
    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.rings.is_none()
    }
}

/// Saves of the fraud module's state files, by `file` (`features`, `rings`) and `outcome`
/// (`saved`, `failed`): a failing save is otherwise seen only in the log.
pub const STATE_SAVES: &str = "ensuresec_fraud_state_saves_total";

/// Writes the feature state and the ring graph of `kept` to their files on a blocking thread,
/// logging and counting the outcome (a failed write leaves the previous file whole and
/// detection goes on).
pub async fn save_state(kept: KeptState) {
    if let Some(service) = kept.service {
        save("features", service).await;
    }
    if let Some(rings) = kept.rings {
        save("rings", rings).await;
    }
}

/// Writes `state` (`file`: `features` or `rings`, as logs and metrics name it) on a blocking
/// thread; logs and counts the outcome: the entities written, or why not.
async fn save<K: Kept + Send + Sync + 'static>(file: &'static str, state: Arc<K>) {
    let saved = tokio::task::spawn_blocking(move || state.save())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let outcome = match saved {
        Ok(entities) => {
            tracing::info!(file, entities, "fraud state saved");
            "saved"
        }
        Err(error) => {
            tracing::error!(file, %error, "fraud state not saved");
            "failed"
        }
    };
    metrics::counter!(STATE_SAVES, "file" => file, "outcome" => outcome).increment(1);
}

/// Goes through `service`'s feature state a shard at a time, one pass every `pass`, forgetting
/// the entities not seen for their time to live; runs until the process stops. Each step
/// runs on a blocking thread: scoring waits for it, which at ten million entities is a pass
/// over a 256th of a table (figures in bench/RESULTS.md).
pub async fn sweep_expired(service: Arc<FraudService>, pass: std::time::Duration) {
    let steps = u32::try_from(service.sweep_steps())
        .unwrap_or(u32::MAX)
        .max(1);
    let mut tick = tokio::time::interval((pass / steps).max(std::time::Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let stepping = service.clone();
        match tokio::task::spawn_blocking(move || stepping.sweep_step()).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::debug!(forgotten, "fraud entities expired"),
            Err(e) => tracing::error!(error = %e, "fraud sweep failed"),
        }
    }
}

/// Writes what the feature state and the ring graph of `kept` took since the last call to
/// their journals, on blocking threads; a failure is logged (the records it held are counted
/// as dropped) and the next call goes on. A state whose journal then holds `max_records` or
/// more is written early, which starts its journal again.
pub async fn flush_journals(kept: &KeptState, max_records: u64) {
    if let Some(service) = &kept.service {
        flush("features", service.clone(), max_records).await;
    }
    if let Some(rings) = &kept.rings {
        flush("rings", rings.clone(), max_records).await;
    }
}

/// [`flush_journals`] for one state (`file` as in [`save`]).
async fn flush<K: Kept + Send + Sync + 'static>(
    file: &'static str,
    state: Arc<K>,
    max_records: u64,
) {
    // The journal's count waits for its lock, which a write of the state holds for a while:
    // read on the blocking thread too.
    let flushing = state.clone();
    let flushed = move || (flushing.flush_journal(), flushing.journal_records());
    let records = match tokio::task::spawn_blocking(flushed).await {
        Ok((written, records)) => {
            if let Err(e) = written {
                tracing::error!(file, error = %e, "fraud journal not written");
            }
            records
        }
        Err(e) => {
            tracing::error!(file, error = %e, "fraud journal write failed");
            return;
        }
    };
    if records >= max_records {
        tracing::info!(file, records, "fraud journal full: writing the state early");
        save(file, state).await;
    }
}

/// Reloads the model file of `service`, logging the outcome: a refused file leaves the model
/// in use untouched. Runs the file reading on a blocking thread.
pub async fn reload_model(service: Arc<FraudService>) {
    match tokio::task::spawn_blocking(move || service.reload_model()).await {
        Ok(Ok(info)) => tracing::info!(
            file = %info.file,
            features = info.features,
            validation_pr_auc = info.validation_pr_auc,
            "fraud model reloaded"
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "fraud model refused; keeping the model in use")
        }
        Err(e) => tracing::error!(error = %e, "fraud model reload failed"),
    }
}

/// Reads the exchange rates file of `service` again, logging the outcome: a refused file
/// leaves the rates in use untouched. Runs the file reading on a blocking thread.
pub async fn reload_exchange_rates(service: Arc<FraudService>) {
    match tokio::task::spawn_blocking(move || service.reload_exchange_rates()).await {
        Ok(Ok(rates)) => tracing::info!(
            currencies = rates.len(),
            date = rates.date().map(tracing::field::display),
            "fraud exchange rates reloaded"
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "fraud exchange rates refused; keeping the rates in use")
        }
        Err(e) => tracing::error!(error = %e, "fraud exchange rates reload failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserving_more_entities_than_the_ceiling_is_refused_by_name() {
        assert!(FraudConfig::default().validate().is_ok());
        let config = FraudConfig {
            max_entities: 1_000,
            reserved_entities: 1_001,
            ..FraudConfig::default()
        };
        let (key, message) = config.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.reserved_entities");
        assert!(message.contains("1000"), "{message}");
        let config = FraudConfig {
            recent_payments: MAX_RECENT_PAYMENTS + 1,
            ..FraudConfig::default()
        };
        let (key, message) = config.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.recent_payments");
        assert!(message.contains("16777216"), "{message}");
    }

    #[test]
    fn a_reference_currency_needs_a_rates_file_and_a_currency_in_use() {
        let alone = FraudConfig {
            exchange_rates_reference: Some("USD".into()),
            ..FraudConfig::default()
        };
        let (key, message) = alone.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.exchange_rates_reference");
        assert!(message.contains("needs fraud.exchange_rates"), "{message}");
        let unknown = FraudConfig {
            exchange_rates: Some("eurofxref.csv".into()),
            exchange_rates_reference: Some("usd".into()),
            ..FraudConfig::default()
        };
        let (key, message) = unknown.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.exchange_rates_reference");
        assert!(message.contains("`usd` is not an ISO 4217"), "{message}");
        let fine = FraudConfig {
            exchange_rates_reference: Some("USD".into()),
            ..unknown
        };
        assert!(fine.validate().is_ok());
        let service = fine.service_config();
        assert_eq!(service.exchange_rates_reference.as_deref(), Some("USD"));
    }

    #[test]
    fn a_sweep_pass_over_a_day_is_refused_by_name_and_none_is_allowed() {
        let slow = FraudConfig {
            sweep_secs: 86_401,
            ..FraudConfig::default()
        };
        let (key, message) = slow.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.sweep_secs");
        assert!(message.contains("0: no pass"), "{message}");
        for secs in [0, 1, 86_400] {
            let ok = FraudConfig {
                sweep_secs: secs,
                ..FraudConfig::default()
            };
            assert!(ok.validate().is_ok(), "{secs}");
        }
    }

    #[test]
    fn a_journal_interval_over_ten_seconds_is_refused_by_name() {
        let config = FraudConfig {
            journal_sync_ms: 10_001,
            ..FraudConfig::default()
        };
        let (key, message) = config.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.journal_sync_ms");
        assert!(message.contains("0: no journal"), "{message}");
        let off = FraudConfig {
            journal_sync_ms: 0,
            ..FraudConfig::default()
        };
        assert!(off.validate().is_ok());
        let never = FraudConfig {
            journal_max_records: 0,
            ..FraudConfig::default()
        };
        let (key, _) = never.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.journal_max_records");
    }

    #[test]
    fn a_future_skew_outside_a_second_to_a_day_is_refused_by_name() {
        for (skew, ok) in [(0, false), (1, true), (86_400, true), (86_401, false)] {
            let config = FraudConfig {
                max_future_skew_seconds: skew,
                ..FraudConfig::default()
            };
            match config.validate() {
                Ok(()) => assert!(ok, "{skew} taken"),
                Err((key, _)) => {
                    assert!(!ok, "{skew} refused");
                    assert_eq!(key, "fraud.max_future_skew_seconds");
                }
            }
        }
    }

    #[test]
    fn save_by_copy_reaches_the_feature_state_and_the_ring_graph() {
        let dir = tempfile::tempdir().unwrap();
        for by_copy in [false, true] {
            let config = FraudConfig {
                save_by_copy: by_copy,
                ..FraudConfig::default()
            };
            let data = dir.path().join(format!("data-{by_copy}"));
            std::fs::create_dir_all(&data).unwrap();
            let service = config.service(&data).unwrap().unwrap();
            let rings = config.rings(&data).unwrap().unwrap();
            service.save().unwrap();
            rings.save().unwrap();
            let from_journal = u64::from(!by_copy);
            assert_eq!(service.saves_from_journal(), from_journal, "{by_copy}");
            assert_eq!(rings.saves_from_journal(), from_journal, "{by_copy}");
        }
    }

    #[test]
    fn a_ring_generation_must_hold_a_whole_payment() {
        let config = FraudConfig {
            rings: RingsConfig {
                max_nodes: 11,
                ..RingsConfig::default()
            },
            ..FraudConfig::default()
        };
        let (key, message) = config.validate().err().unwrap_or_default();
        assert_eq!(key, "fraud.rings.max_nodes");
        assert!(message.contains("between 12 and"), "{message}");
    }
}
