//! Payment fraud detection: each card-not-present authorisation gets a fraud probability, a
//! decision (approve, challenge with 3-D Secure, review, decline) and the reasons behind it.
//!
//! - [`request`]: the strict input, [`PaymentRequest`].
//! - [`features`]: online features per card, device, IP, e-mail, account and shipping address,
//!   in bounded state; [`geo`], [`ip_location`] and [`postal`]: distances between the
//!   client's IP location and the billing and shipping addresses.
//! - [`rules`]: rules as YAML data (score modifiers and hard blocks) and the thresholds.
//! - [`model`], [`mod@train`], [`platt`], [`dataset`], [`metrics`]: the gradient-boosted model, its
//!   training with a time-ordered split and calibration, and its evaluation; [`compiled`]:
//!   the model's trees as the file stores them and as one flat array, to score and explain a
//!   payment fast.
//! - [`scorer`]: all of it together, [`Scorer`]; [`service`]: one scorer shared by a process,
//!   with hot swap of the model.
//! - [`detector`]: payment scoring and fraud rings ([`rings`]) in the event pipeline.
//! - [`journal`]: what the feature state and the ring graph took between two writes of their
//!   files, so that a crash loses milliseconds of it.
//! - [`feedback`]: chargebacks and analysts' verdicts as labels, and the evaluation on them.
//!
//! Pure like the other detection crates: no clock (event time is in the request), no IO
//! except reading the rules, model and data files it is given by path, and writing the feature
//! state and ring graph files and their journals when the caller asks
//! ([`journal::Kept::save`] and [`journal::Kept::flush_journal`] of [`FraudService`] and
//! [`rings::RingService`]).

mod checksum;
pub mod compiled;
pub mod currency;
pub mod dataset;
pub mod detector;
pub mod error;
pub mod features;
pub mod feedback;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod geo;
pub mod ip_location;
pub mod journal;
pub mod metrics;
pub mod model;
pub mod platt;
pub mod postal;
pub mod rates;
pub mod request;
mod request_schema;
pub mod rings;
pub mod rules;
pub mod scorer;
pub mod service;
#[cfg(test)]
mod testing;
pub mod train;

pub use dataset::{Columns, Dataset};
pub use error::{FileError, InputError};
pub use features::{FEATURES, FeatureStore, Features, StateLimits};
pub use model::Model;
pub use request::PaymentRequest;
pub use rules::RuleSet;
pub use scorer::{Assessment, Decision, Reason, Scorer};
pub use service::{FraudService, ServiceConfig};
pub use train::{TrainOptions, train};

/// Reads a text file of at most `limit` bytes; the message says what went wrong.
pub(crate) fn read_limited(path: &std::path::Path, limit: usize) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(limit as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() > limit {
        return Err(format!("file is over {limit} bytes"));
    }
    Ok(text)
}

/// Decodes a YAML data file of at most `limit` bytes (rules, exchange rates); `file` names it
/// in errors.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    limit: usize,
) -> Result<T, FileError> {
    if text.len() > limit {
        return Err(FileError::new(file, format!("file is over {limit} bytes")));
    }
    serde_yaml_ng::from_str(text).map_err(|e| FileError::new(file, e.to_string()))
}
