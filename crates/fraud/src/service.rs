//! One scorer for a whole process. The HTTP endpoint and the pipeline's payment detector both
//! score through it, so they read and update the same feature state (a card seen by one is
//! known to the other), and the model file can be swapped while they run.
//!
//! The state sits behind one mutex: a score holds it for a few microseconds, far less than a
//! request's network time, and a single state keeps the per-device and per-IP counts exact,
//! which sharding by card would not.

use schemars::JsonSchema;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ensuresec_model::event::PaymentAuthorization;
use serde::Serialize;

use crate::error::{FileError, InputError};
use crate::features::{FeatureStore, StateCopy, StateLimits};
use crate::ip_location::IpLocator;
use crate::journal::{Journaled as _, Keeper, Kept};
use crate::model::Model;
use crate::postal::PostalCentroids;
use crate::rates::ExchangeRates;
use crate::request::PaymentRequest;
use crate::rules::{RuleSet, Thresholds};
use crate::scorer::{Assessment, Scorer};

/// What a [`FraudService`] starts from.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    /// Rules file [default: the shipped rules].
    pub rules: Option<PathBuf>,
    /// Model file over the online features [default: rules only]; read again by
    /// [`FraudService::reload_model`].
    pub model: Option<PathBuf>,
    /// Thresholds replacing the rules file's.
    pub thresholds: Option<Thresholds>,
    /// Bounds on the feature state.
    pub limits: StateLimits,
    /// A MaxMind DB (City) file placing client IP addresses [default: none, so the distances
    /// from the client are unknown].
    pub ip_locations: Option<PathBuf>,
    /// A GeoNames postal-code file placing addresses that come without coordinates [default:
    /// none, so their distances are unknown].
    pub postal_centroids: Option<PathBuf>,
    /// Exchange rates into one reference currency ([`crate::rates`]) [default: none, each
    /// amount counted in its own currency]; read again by
    /// [`FraudService::reload_exchange_rates`].
    pub exchange_rates: Option<PathBuf>,
    /// Count amounts in this currency instead of the rates file's reference
    /// ([`ExchangeRates::counted_in`]) [default: the file's].
    pub exchange_rates_reference: Option<String>,
    /// Where the feature state is kept between runs: read at open when it exists, written by
    /// `Kept::save` [default: none, the state lives in memory only].
    pub state_file: Option<PathBuf>,
    /// With a state file, journal what is counted between two writes of it (written by
    /// `Kept::flush_journal`) and count it again at open, so that a crash loses only
    /// what was not flushed yet (`crate::journal`).
    pub journal: bool,
    /// Write the state by a copy under the scorer's lock even with the journal, not from the
    /// last state file and the journal (`Kept::save`).
    pub save_by_copy: bool,
}

/// The loaded model, for status pages and logs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ModelInfo {
    /// The file it came from.
    pub file: String,
    /// How many features it reads.
    pub features: usize,
    /// Its PR-AUC on the time-later validation rows when it was trained.
    pub validation_pr_auc: f64,
}

impl ModelInfo {
    fn of(file: &str, model: &Model) -> ModelInfo {
        ModelInfo {
            file: file.to_string(),
            features: model.features.len(),
            validation_pr_auc: model.training.validation_pr_auc,
        }
    }
}

/// The shared scorer: feature state, rules and model behind one lock, and the model's path.
#[derive(Debug)]
pub struct FraudService {
    scorer: Mutex<Scorer>,
    model_file: Option<PathBuf>,
    rates_file: Option<PathBuf>,
    rates_reference: Option<String>,
    model_info: Mutex<Option<ModelInfo>>,
    unscored: AtomicU64,
    loads: AtomicU64,
    rates_refused: AtomicU64,
    refused: AtomicU64,
    /// The state file and its journal, when the state is kept.
    keeper: Option<Keeper>,
    /// The feature state's bounds, for a state read back from its file to be written again.
    limits: StateLimits,
}

impl Kept for FraudService {
    fn keeper(&self) -> Option<&Keeper> {
        self.keeper.as_ref()
    }

    /// Writes the feature state to the configured state file and returns how many entities
    /// it holds. With the journal, the file is made from the last state file and the journal
    /// files that continue it, on this thread, and scoring waits only while the records
    /// counted last are handed to the journal. Without one, when records were dropped from
    /// it, or with `save_by_copy`, the state is copied under the lock into room
    /// made before it (scoring waits for the copy: figures in bench/RESULTS.md) and written
    /// outside it ([`Keeper::save_either`]). Either way the file is written by
    /// `ensuresec_durable::replace_with`, names the journal file started for what comes
    /// after, and the files before it are removed once it is synced.
    fn save(&self) -> Result<usize, FileError> {
        let keeper = self
            .keeper
            .as_ref()
            .ok_or_else(|| FileError::new("[fraud] state_file", "no state file is configured"))?;
        keeper.save_either(
            |pending| self.scorer().state_mut().take_journal(pending),
            |path| FeatureStore::load(path, self.limits),
            |mut state, journal_from| {
                // The live state forgets them a shard at a time; the file must not keep them.
                state.sweep_to_newest();
                state.set_journal_from(journal_from);
                write_state_file(keeper.path(), |file| state.write_snapshot(file))?;
                Ok(state.len())
            },
            || {
                let per_kind = self.scorer().state().entities_per_kind();
                let mut room = StateCopy::with_room(&per_kind);
                keeper.save(
                    |pending| {
                        let mut scorer = self.scorer();
                        scorer.state().copy_into(&mut room);
                        let dropped = pending.map_or(0, |p| scorer.state_mut().take_journal(p));
                        (room, dropped)
                    },
                    |mut copy, journal_from| {
                        copy.set_journal_from(journal_from);
                        write_state_file(keeper.path(), |file| copy.write(file))?;
                        Ok(copy.len())
                    },
                )
            },
        )
    }

    fn flush_journal(&self) -> Result<u64, FileError> {
        match &self.keeper {
            Some(keeper) => keeper.flush(|into| self.scorer().state_mut().take_journal(into)),
            None => Ok(0),
        }
    }
}

/// Replaces the state file at `path` by what `write` writes, owner-only; a crash leaves the
/// previous file whole.
fn write_state_file(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    ensuresec_durable::replace_with(path, 0o600, write).map_err(|e| FileError::writing(path, e))
}

/// What the service holds and has done, for operators.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Status {
    /// The model in use, if any.
    pub model: Option<ModelInfo>,
    /// Model files loaded (at start and on reloads).
    pub model_loads: u64,
    /// Model files refused on reload (the previous model was kept).
    pub model_refused: u64,
    /// The decision thresholds.
    pub thresholds: Thresholds,
    /// The currency amounts are counted in, when exchange rates are loaded.
    pub reference_currency: Option<String>,
    /// The newest day of the exchange rates, when their file gives days (the ECB's does):
    /// rates that stopped being fetched show their age here and in the metrics.
    pub exchange_rates_date: Option<chrono::NaiveDate>,
    /// Exchange rates files refused on reload (the rates in use were kept): a job that writes
    /// a bad file each day shows here, not only in the log.
    pub exchange_rates_refused: u64,
    /// Entities in the feature state.
    pub entities: usize,
    /// Approximate heap bytes of the feature state.
    pub state_bytes: usize,
    /// Payment events that could not be scored.
    pub unscored_events: u64,
    /// Payments scored again and declines reported again, by merchant and payment id, and
    /// not counted again (retries; events detected again after a restart).
    pub repeated: u64,
    /// Entities forgotten because they were not seen for their time to live (kept across
    /// restarts).
    pub expired: u64,
    /// Entities forgotten early because their table was full: more than a few means
    /// `max_entities` is below the population seen within the time to live (kept across
    /// restarts).
    pub evicted: u64,
    /// Payments and declines written to the journal since start (synced).
    pub journaled: u64,
    /// Payments and declines not journaled (the disk did not keep up, or a write failed).
    pub journal_dropped: u64,
    /// Writes of the state file made from the last one and the journal since start, while
    /// scoring went on; the others copied the state under the scorer's lock.
    pub saves_from_journal: u64,
}

impl FraudService {
    /// Loads the rules and the model of `config`; a bad file is an error naming it.
    pub fn open(config: &ServiceConfig) -> Result<FraudService, FileError> {
        let mut rules = match &config.rules {
            Some(path) => RuleSet::load(path)?,
            None => RuleSet::builtin()?,
        };
        if let Some(t) = config.thresholds {
            rules.thresholds = t;
        }
        let mut scorer = Scorer::new(rules, config.limits);
        if let Some(path) = &config.ip_locations {
            scorer.set_ip_locator(Some(Arc::new(IpLocator::open(path)?)));
        }
        if let Some(path) = &config.postal_centroids {
            scorer.set_postal_centroids(Some(Arc::new(PostalCentroids::open(path)?)));
        }
        if let Some(path) = &config.exchange_rates {
            let rates = ExchangeRates::load(path, config.exchange_rates_reference.as_deref())?;
            scorer.set_exchange_rates(Some(Arc::new(rates)));
        }
        let mut keeper = None;
        if let Some(path) = &config.state_file {
            *scorer.state_mut() = FeatureStore::load(path, config.limits)?;
            keeper = Some(
                Keeper::open(path, config.journal, scorer.state_mut())?
                    .save_by_copy(config.save_by_copy),
            );
        }
        let service = FraudService {
            scorer: Mutex::new(scorer),
            model_file: config.model.clone(),
            rates_file: config.exchange_rates.clone(),
            rates_reference: config.exchange_rates_reference.clone(),
            model_info: Mutex::new(None),
            unscored: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            rates_refused: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            keeper,
            limits: config.limits,
        };
        if config.model.is_some() {
            service.reload_model()?;
        }
        Ok(service)
    }

    /// The scorer. A panic while it was held leaves counters at worst half updated, which is
    /// no reason to stop scoring: the poison is ignored.
    fn scorer(&self) -> MutexGuard<'_, Scorer> {
        self.scorer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates and scores `request`, then counts it in the shared state.
    pub fn score(&self, request: &PaymentRequest) -> Result<Assessment, InputError> {
        request.validate()?;
        self.scorer().score(request)
    }

    /// Counts a reported decline (see [`crate::FeatureStore::record_outcome`]).
    pub fn record_outcome(&self, authorization: &PaymentAuthorization, time: i64) {
        self.scorer()
            .state_mut()
            .record_outcome(authorization, time);
    }

    /// Forgets the expired entities of the next shard of the feature state
    /// ([`FeatureStore::sweep_step`]); returns how many. Scoring waits meanwhile: a pass over
    /// at most a 256th of one kind's table.
    pub fn sweep_step(&self) -> usize {
        self.scorer().state_mut().sweep_step()
    }

    /// Calls of [`FraudService::sweep_step`] that go through the whole state once.
    pub fn sweep_steps(&self) -> usize {
        self.scorer().state().sweep_steps()
    }

    /// Reads the configured model file again and swaps it in. The file is read and checked
    /// without holding the scorer, so scoring goes on meanwhile; a file that cannot be read,
    /// parsed or bound to the online features is refused and the current model kept.
    pub fn reload_model(&self) -> Result<ModelInfo, FileError> {
        let path = self
            .model_file
            .as_deref()
            .ok_or_else(|| FileError::new("[fraud] model", "no model file is configured"))?;
        let result = Model::load(path).and_then(|model| self.swap_model(path, model));
        let counter = if result.is_ok() {
            &self.loads
        } else {
            &self.refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Reads the configured exchange rates file again and swaps it in, returning the rates
    /// now in use; a file that cannot be read or is refused keeps the rates in use.
    /// Amounts counted before keep the rates of their time.
    pub fn reload_exchange_rates(&self) -> Result<Arc<ExchangeRates>, FileError> {
        let path = self.rates_file.as_deref().ok_or_else(|| {
            FileError::new(
                "[fraud] exchange_rates",
                "no exchange rates file is configured",
            )
        })?;
        let rates = ExchangeRates::load(path, self.rates_reference.as_deref())
            .inspect_err(|_| _ = self.rates_refused.fetch_add(1, Ordering::Relaxed))?;
        let rates = Arc::new(rates);
        self.scorer().set_exchange_rates(Some(rates.clone()));
        Ok(rates)
    }

    fn swap_model(&self, path: &Path, model: Model) -> Result<ModelInfo, FileError> {
        let name = path.display().to_string();
        let info = ModelInfo::of(&name, &model);
        let previous = self.scorer().set_model(&name, model)?;
        *self
            .model_info
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(info.clone());
        // A large ensemble takes a while to free: not while the scorer is locked.
        drop(previous);
        Ok(info)
    }

    /// The model in use, if any.
    pub fn model(&self) -> Option<ModelInfo> {
        self.model_info
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts a payment event that could not be scored (a field scoring needs was missing
    /// or invalid).
    pub fn note_unscored(&self) {
        self.unscored.fetch_add(1, Ordering::Relaxed);
    }

    /// Payment events not scored so far.
    pub fn unscored_events(&self) -> u64 {
        self.unscored.load(Ordering::Relaxed)
    }

    /// The model, counters and state size.
    pub fn status(&self) -> Status {
        let (thresholds, rates, entities, state_bytes, stats) = {
            let scorer = self.scorer();
            (
                scorer.rules().thresholds,
                scorer
                    .exchange_rates()
                    .map(|r| (r.reference().to_string(), r.date())),
                scorer.state().len(),
                scorer.state().heap_bytes(),
                scorer.state().stats(),
            )
        };
        let (reference_currency, exchange_rates_date) =
            rates.map_or((None, None), |(currency, date)| (Some(currency), date));
        Status {
            model: self.model(),
            model_loads: self.loads.load(Ordering::Relaxed),
            model_refused: self.refused.load(Ordering::Relaxed),
            thresholds,
            reference_currency,
            exchange_rates_date,
            exchange_rates_refused: self.rates_refused.load(Ordering::Relaxed),
            entities,
            state_bytes,
            unscored_events: self.unscored_events(),
            repeated: stats.repeated,
            expired: stats.expired,
            evicted: stats.evicted,
            journaled: self.journaled(),
            journal_dropped: self.journal_dropped(),
            saves_from_journal: self.saves_from_journal(),
        }
    }

    /// The decision thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        self.scorer().rules().thresholds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::sample_json;

    fn request(id: &str) -> PaymentRequest {
        let mut v = sample_json();
        v["payment_id"] = id.into();
        PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid")
    }

    #[test]
    fn thresholds_from_the_configuration_replace_the_rules_files() {
        let t = Thresholds {
            challenge: 0.2,
            review: 0.3,
            decline: 0.4,
        };
        let service = FraudService::open(&ServiceConfig {
            thresholds: Some(t),
            ..ServiceConfig::default()
        })
        .expect("open");
        assert_eq!(service.thresholds(), t);
        assert_eq!(
            FraudService::open(&ServiceConfig::default())
                .expect("open")
                .thresholds(),
            RuleSet::builtin().expect("rules").thresholds
        );
    }

    #[test]
    fn exchange_rates_are_read_again_and_a_refused_file_keeps_those_in_use() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("rates.yaml");
        std::fs::write(&path, "reference: EUR\nrates: {}\n").expect("write");
        let service = FraudService::open(&ServiceConfig {
            exchange_rates: Some(path.clone()),
            ..ServiceConfig::default()
        })
        .expect("open");
        assert_eq!(service.status().reference_currency.as_deref(), Some("EUR"));
        let mut v = sample_json();
        v["amount"]["currency"] = "USD".into();
        let dollars = PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid");
        assert_eq!(
            service.score(&dollars).expect_err("no rate").field,
            "amount.currency"
        );

        std::fs::write(&path, "reference: EUR\nrates: {USD: minus one}\n").expect("write");
        let e = service.reload_exchange_rates().expect_err("refused");
        assert!(e.to_string().contains("rates.yaml"), "{e}");
        assert!(service.score(&dollars).is_err(), "the rates in use stay");
        assert_eq!(service.status().exchange_rates_refused, 1);

        std::fs::write(&path, "reference: EUR\nrates: {USD: 0.95}\n").expect("write");
        assert_eq!(service.reload_exchange_rates().expect("reloaded").len(), 2);
        service.score(&dollars).expect("USD has a rate now");
        let none = FraudService::open(&ServiceConfig::default()).expect("open");
        assert!(none.reload_exchange_rates().is_err(), "no file configured");
    }

    #[test]
    fn the_reference_asked_for_holds_at_open_and_on_every_reload() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("eurofxref.csv");
        std::fs::write(&path, "Date,USD,\n2026-12-04,1.25,\n").expect("write");
        let config = ServiceConfig {
            exchange_rates: Some(path.clone()),
            exchange_rates_reference: Some("USD".into()),
            ..ServiceConfig::default()
        };
        let service = FraudService::open(&config).expect("open");
        assert_eq!(service.status().reference_currency.as_deref(), Some("USD"));

        // The next day's file does not quote the dollar: refused, the rates in use stay.
        std::fs::write(&path, "Date,USD,JPY,\n2026-12-05,N/A,160,\n").expect("write");
        let e = service.reload_exchange_rates().expect_err("no dollar");
        assert!(e.to_string().contains("no rate for `USD`"), "{e}");
        assert_eq!(service.status().reference_currency.as_deref(), Some("USD"));
        assert_eq!(service.status().exchange_rates_refused, 1);

        std::fs::write(&path, "Date,USD,JPY,\n2026-12-07,1.2,160,\n").expect("write");
        let rates = service.reload_exchange_rates().expect("reloaded");
        assert_eq!((rates.reference(), rates.len()), ("USD", 3));

        // At open, a file that cannot be counted in the reference stops the start.
        std::fs::write(&path, "Date,JPY,\n2026-12-07,160,\n").expect("write");
        let e = FraudService::open(&config).expect_err("no dollar at open");
        assert!(e.to_string().contains("eurofxref.csv"), "{e}");
    }

    #[test]
    fn scores_update_one_shared_state() {
        let service = FraudService::open(&ServiceConfig::default()).expect("open");
        assert_eq!(service.status().entities, 0);
        service.score(&request("a")).expect("score");
        let status = service.status();
        let (entities, bytes) = (status.entities, status.state_bytes);
        assert!(
            entities >= 5,
            "card, device, IP, e-mail, account: {entities}"
        );
        assert!(bytes > 0);
    }

    #[test]
    fn the_state_outlives_the_service() {
        let dir = tempfile::tempdir().expect("dir");
        let config = ServiceConfig {
            state_file: Some(dir.path().join("state.bin")),
            ..ServiceConfig::default()
        };
        let first = FraudService::open(&config).expect("open without a file yet");
        first.score(&request("a")).expect("score");
        let saved = first.save().expect("save");
        assert_eq!(saved, first.status().entities);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["state.bin"], "renamed into place");
        let second = FraudService::open(&config).expect("open with the file");
        assert_eq!(second.status().entities, saved);
        std::fs::write(
            dir.path().join("state.bin"),
            b"not a state file at all, clearly",
        )
        .expect("write");
        let e = FraudService::open(&config).expect_err("damaged file");
        assert!(e.to_string().contains("state.bin"), "{e}");
        let e = FraudService::open(&ServiceConfig::default())
            .expect("open")
            .save()
            .expect_err("nowhere to save");
        assert!(e.to_string().contains("no state file"), "{e}");
    }

    #[test]
    fn reload_without_a_model_file_is_an_error() {
        let service = FraudService::open(&ServiceConfig::default()).expect("open");
        let e = service.reload_model().expect_err("no model");
        assert!(e.to_string().contains("no model file"), "{e}");
        assert!(service.model().is_none());
    }

    #[test]
    fn a_missing_model_file_is_refused_at_open() {
        let e = FraudService::open(&ServiceConfig {
            model: Some("/nonexistent/model.json".into()),
            ..ServiceConfig::default()
        })
        .expect_err("missing file");
        assert!(e.to_string().contains("/nonexistent/model.json"), "{e}");
    }
}
