//! Behavioural detection: attacks that are spread over many harmless-looking events (credential
//! stuffing, card testing, scanning) and show only when events are counted per entity over time.
//!
//! Rules are data ([`RuleSet`], YAML); [`ThresholdDetector`] runs the rules that group by one
//! entity kind. Pure: event time drives the windows, nothing reads the clock or does IO.

mod rules;
mod threshold;
mod window;

pub use rules::{Condition, RuleError, RuleSet, ThresholdRule};
pub use threshold::ThresholdDetector;

/// The rules shipped with ensuresec.
pub const DEFAULT_RULES: &str = include_str!("../rules/thresholds.yaml");
