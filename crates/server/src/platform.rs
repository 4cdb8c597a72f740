//! The platform: store, pipeline, sinks and ingestor started together from one configuration,
//! shared by `serve` and by offline ingest.

use std::sync::Arc;

use chrono::Duration;
use ensuresec_behaviour::anomaly::AnomalyConfig;
use ensuresec_behaviour::baseline::BaselineConfig;
use ensuresec_behaviour::{DEFAULT_RULES, RuleError, RuleSet};
use ensuresec_correlate::CorrelatorConfig;
use ensuresec_model::Clock;
use ensuresec_pipeline::{
    BroadcastSink, Ingestor, Pipeline, PipelineConfig, Recorder, Sink, StoreHealth, SystemClock,
    detectors,
};
use ensuresec_store::{SqliteOptions, SqliteStore, Store, StoreError};
use ensuresec_webattack::{Engine, EngineConfig, SharedEngine};

use crate::config::Config;
use crate::ledger::{Ledger, LedgerError, LedgerRecorder, RecordKind};

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Detection of the events the last run stored but did not detect could not be resumed.
    #[error("resuming detection: {0}")]
    Resume(#[from] ensuresec_pipeline::ResumeError),
    /// A rule file is bad.
    #[error("rules: {0}")]
    Rules(#[from] RuleError),
    /// Another process runs a pipeline on the same data directory.
    #[error(
        "data directory {0} is in use by another ensuresec process (serve or ingest --offline); stop it first"
    )]
    Busy(std::path::PathBuf),
    /// The audit log could not be opened.
    #[error("audit log: {0}")]
    Ledger(#[from] LedgerError),
    /// The web-attack rules or their settings were rejected.
    #[error("web-attack detection: {0}")]
    Web(#[from] ensuresec_webattack::EngineError),
    /// The delivery rules were rejected.
    #[error("delivery rules: {0}")]
    Delivery(#[from] ensuresec_delivery::RulesError),
    /// The fraud rules or model file were rejected.
    #[error("fraud: {0}")]
    Fraud(#[from] ensuresec_fraud::FileError),
    /// The trusted issuers of `[identity]` could not be read.
    #[error("identity: {0}")]
    Identity(String),
    /// The response module's configuration, playbooks or database were rejected.
    #[error("respond: {0}")]
    Respond(String),
    /// A rule file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// A running platform.
pub struct Platform {
    /// Held for the platform's life: one pipeline per data directory, or alert ids would clash.
    _lock: Option<std::fs::File>,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
    ingestor: Ingestor,
    live: BroadcastSink,
    clock: Arc<dyn Clock>,
    config: Config,
    ledger: Option<Arc<Ledger>>,
    publisher: Option<tokio::task::JoinHandle<()>>,
    responder: Option<Arc<ensuresec_respond::Responder>>,
    lifecycle: ensuresec_pipeline::LifecycleHandle,
    respond_worker: Option<tokio::task::JoinHandle<()>>,
    fraud: Option<Arc<ensuresec_fraud::FraudService>>,
    fraud_rings: Option<Arc<ensuresec_fraud::rings::RingService>>,
    identity: Option<Arc<ensuresec_identity::gate::AgeGate>>,
    resumed_events: u64,
}

/// Loads the configured threshold rules: the shipped ones (unless disabled) and every file.
pub fn load_rules(config: &Config) -> Result<RuleSet, PlatformError> {
    let mut set = if config.detection.default_rules {
        RuleSet::from_yaml("thresholds.yaml (built in)", DEFAULT_RULES)?
    } else {
        RuleSet::default()
    };
    for path in &config.detection.rule_files {
        let text = std::fs::read_to_string(path).map_err(|source| PlatformError::Read {
            path: path.clone(),
            source,
        })?;
        let more = RuleSet::from_yaml(&path.display().to_string(), &text)?;
        set.rules.extend(more.rules);
    }
    Ok(set)
}

/// Builds the web-attack engine from `[detection.web]`, or `None` when it is disabled.
pub fn web_engine(config: &Config) -> Result<Option<Arc<SharedEngine>>, PlatformError> {
    let web = &config.detection.web;
    if !web.enabled {
        return Ok(None);
    }
    let rules = ensuresec_webattack::rules::embedded_and_dir(web.rules_dir.as_deref())
        .map_err(ensuresec_webattack::EngineError::from)?;
    let engine = Engine::new(
        rules,
        EngineConfig {
            paranoia: web.paranoia_level,
            inbound_threshold: web.inbound_threshold,
            disabled: web.disabled_rules.clone(),
            ..EngineConfig::default()
        },
    )?;
    Ok(Some(SharedEngine::new(engine)))
}

/// The delivery rules, when the delivery detectors run: the configured file or the shipped one.
pub fn delivery_rules(
    config: &Config,
) -> Result<Option<Arc<ensuresec_delivery::DeliveryRules>>, PlatformError> {
    let d = &config.detection.delivery;
    if !d.enabled {
        return Ok(None);
    }
    let rules = match &d.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| PlatformError::Read {
                path: path.clone(),
                source,
            })?;
            ensuresec_delivery::DeliveryRules::from_yaml(&path.display().to_string(), &text)?
        }
        None => ensuresec_delivery::DeliveryRules::builtin()?,
    };
    Ok(Some(Arc::new(rules)))
}

impl Platform {
    /// Opens the store in the configured data directory and starts the pipeline.
    pub async fn start(config: &Config) -> Result<Platform, PlatformError> {
        let lock = lock_data_dir(&config.storage.data_dir)?;
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(
            &config.storage.data_dir,
            SqliteOptions {
                readers: config.storage.readers.max(1),
                ..SqliteOptions::default()
            },
        )?);
        let mut platform = Platform::with_store(config, store, Arc::new(SystemClock)).await?;
        platform._lock = Some(lock);
        Ok(platform)
    }

    /// Starts the pipeline over an already opened store, with the given clock.
    pub async fn with_store(
        config: &Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Platform, PlatformError> {
        let rules = load_rules(config)?;
        let live = BroadcastSink::new(1024);
        let mut sinks: Vec<Arc<dyn Sink>> = vec![Arc::new(live.clone())];
        let defaults = PipelineConfig::default();
        let pipeline_config = PipelineConfig {
            partitions: match config.pipeline.partitions {
                0 => defaults.partitions,
                n => n,
            },
            queue_batches: config
                .pipeline
                .queue_batches
                .unwrap_or(defaults.queue_batches),
            correlator: CorrelatorConfig {
                group_window: Duration::seconds(config.correlation.group_window_seconds as i64),
                max_tracked: config.correlation.max_tracked_incidents,
                ..CorrelatorConfig::default()
            },
            ..defaults
        };
        let ledger = if config.ledger.enabled {
            let ledger = Arc::new(Ledger::open(
                &config.storage.data_dir,
                &config.ledger,
                clock.clone(),
            )?);
            // What the platform runs with is part of the record.
            ledger.record(RecordKind::Config, config).await?;
            Some(ledger)
        } else {
            None
        };
        let responder = crate::respond::responder(config, ledger.clone(), clock.clone())
            .await
            .map_err(PlatformError::Respond)?;
        if let Some(r) = &responder {
            sinks.push(r.clone());
            if config.integrity.root.is_some() {
                r.connect_restorer(Arc::new(crate::integrity_restore::IntegrityRestorer::new(
                    &config.integrity.state_dir(&config.storage.data_dir),
                    config.integrity.verifier_key.clone(),
                    ledger.clone(),
                    clock.clone(),
                )));
            }
        }
        let recorder = ledger
            .clone()
            .map(|l| Arc::new(LedgerRecorder(l)) as Arc<dyn Recorder>);
        let mut factories = detectors::threshold(&rules);
        factories.push(detectors::external());
        factories.push(detectors::integrity());
        if let Some(engine) = web_engine(config)? {
            factories.push(detectors::webattack(engine));
        }
        if config.detection.anomaly {
            factories.push(detectors::anomaly(AnomalyConfig::default()));
        }
        if config.detection.baselines {
            factories.push(detectors::baseline(BaselineConfig::default()));
        }
        let mut chains = Vec::new();
        if let Some(rules) = delivery_rules(config)? {
            factories.extend(detectors::delivery(rules.clone()));
            chains.extend(detectors::delivery_chains(rules));
        }
        let fraud = config.fraud.service(&config.storage.data_dir)?;
        if let Some(service) = &fraud {
            factories.push(detectors::fraud(service.clone()));
        }
        let fraud_rings = config.fraud.rings(&config.storage.data_dir)?;
        if let Some(rings) = &fraud_rings {
            factories.push(detectors::fraud_rings(rings.graph().clone()));
        }
        let pipeline = Pipeline::start_recorded(
            pipeline_config,
            factories,
            chains,
            store.clone(),
            recorder,
            sinks,
            clock.clone(),
        )
        .await?;
        let publisher = ledger.clone().map(|l| {
            let every = std::time::Duration::from_secs(config.ledger.checkpoint_interval_seconds);
            tokio::spawn(l.run_publisher(every))
        });
        let lifecycle = pipeline.lifecycle();
        let respond_worker = responder.clone().map(|r| {
            r.connect_lifecycle(Arc::new(crate::respond::PipelineLifecycle(
                lifecycle.clone(),
            )));
            tokio::spawn(r.run())
        });
        // Before any source can submit: stored events the last run had not detected go first.
        let resumed_events = pipeline.resume().await?;
        let ingestor = Ingestor::new(store.clone(), pipeline.handle(), clock.clone());
        let identity = config.identity.gate().map_err(PlatformError::Identity)?;
        if let Some(gate) = &identity
            && !config.identity.status_lists.is_empty()
        {
            tokio::spawn(crate::identity::run_status_refresher(
                Arc::downgrade(gate),
                config.identity.status_lists.clone(),
                std::time::Duration::from_secs(config.identity.status_refresh_seconds),
                clock.clone(),
            ));
        }
        Ok(Platform {
            _lock: None,
            store,
            pipeline,
            ingestor,
            live,
            clock,
            config: config.clone(),
            ledger,
            publisher,
            responder,
            lifecycle,
            respond_worker,
            fraud,
            fraud_rings,
            identity,
            resumed_events,
        })
    }

    /// How many stored events the start fed through detection because the last run had not
    /// detected them (it stopped, or crashed, between acknowledging and detecting them).
    pub fn resumed_events(&self) -> u64 {
        self.resumed_events
    }

    /// The age verification gate, when `[identity]` is enabled.
    pub fn identity(&self) -> Option<&Arc<ensuresec_identity::gate::AgeGate>> {
        self.identity.as_ref()
    }

    /// The payment fraud scorer, unless `[fraud]` is disabled.
    pub fn fraud(&self) -> Option<&Arc<ensuresec_fraud::FraudService>> {
        self.fraud.as_ref()
    }

    /// The fraud ring graph, unless `[fraud]` or `[fraud.rings]` is disabled.
    pub fn fraud_rings(&self) -> Option<&Arc<ensuresec_fraud::rings::RingService>> {
        self.fraud_rings.as_ref()
    }

    /// What `serve` keeps of the fraud module across restarts, as `[fraud]` says.
    pub fn fraud_kept_state(&self) -> crate::fraud::KeptState {
        use ensuresec_fraud::journal::Kept as _;
        crate::fraud::KeptState {
            service: self.fraud.clone().filter(|s| s.keeper().is_some()),
            rings: self.fraud_rings.clone().filter(|r| r.keeper().is_some()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether detection's writes of findings to the store go through, for readiness: while
    /// the store refuses a round, detection waits for it.
    pub fn store_health(&self) -> StoreHealth {
        self.pipeline.store_health().borrow().clone()
    }

    /// The entry for events.
    pub fn ingestor(&self) -> &Ingestor {
        &self.ingestor
    }

    /// Live findings, for subscribers.
    pub fn live(&self) -> &BroadcastSink {
        &self.live
    }

    /// The platform's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The audit log, when enabled.
    pub fn ledger(&self) -> Option<&Arc<Ledger>> {
        self.ledger.as_ref()
    }

    /// The response module, when enabled.
    pub fn responder(&self) -> Option<&Arc<ensuresec_respond::Responder>> {
        self.responder.as_ref()
    }

    /// Status changes of incidents, through the correlator.
    pub fn lifecycle(&self) -> &ensuresec_pipeline::LifecycleHandle {
        &self.lifecycle
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Deletes raw events older than the retention; returns how many went.
    pub async fn apply_retention(&self) -> Result<u64, StoreError> {
        let hours = self.config.storage.event_retention_hours as i64;
        let cutoff = self.clock.now() - Duration::hours(hours);
        self.store.purge_events_before(cutoff).await
    }

    /// Finishes all queued detection and delivers the last findings. Ingestors cloned from this
    /// platform must be dropped first.
    pub async fn shutdown(self) {
        drop(self.ingestor);
        self.pipeline.shutdown().await;
        if let Some(p) = self.publisher {
            p.abort();
        }
        if let Some(w) = self.respond_worker {
            w.abort();
        }
        if let Some(ledger) = self.ledger {
            // A last checkpoint covering everything recorded, when nobody else holds the log.
            if let Err(e) = ledger.publish().await {
                tracing::error!(error = %e, "final audit log checkpoint failed");
            }
        }
    }
}

/// Takes the data directory's exclusive lock (released when the process exits, however it exits).
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, PlatformError> {
    let io = |source| PlatformError::Read {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("ensuresec.lock"))
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(PlatformError::Busy(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}
