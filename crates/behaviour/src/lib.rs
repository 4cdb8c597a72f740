//! Behavioural detection: attacks that are spread over many harmless-looking events (credential
//! stuffing, card testing, scraping, floods) and show only when events are measured per entity
//! over time, plus unknown threats that show only as a departure from normal behaviour.
//!
//! - Scenarios are data ([`RuleSet`], YAML): windowed counts, ratios, distinct counts
//!   (HyperLogLog when large) and leaky buckets per entity, with thresholds. [`ScenarioDetector`]
//!   runs the rules that group by one entity kind.
//! - [`anomaly`] scores per-entity behaviour vectors with streaming Half-Space Trees and explains
//!   the score; [`baseline`] keeps seasonal volume baselines per endpoint.
//! - [`eval`] scores alerts against labelled events (precision, recall, delay).
//!
//! Architecture invariant: pure. Event time drives every window; nothing reads the clock, does IO
//! or draws unseeded randomness, so the same events give the same alerts.

pub mod anomaly;
pub mod baseline;
mod checks;
mod condition;
pub mod eval;
mod field;
mod hash;
mod limits;
pub mod measure;
mod rules;
mod scenario;
mod state;

pub use condition::{Condition, FieldRef, Op, Scalar};
pub use field::{Field, FieldKind, Value};
pub use limits::{LimitHits, StateLimits};
pub use rules::{Measure, MeasureKind, Rule, RuleError, RuleSet, Test, ThresholdRule};
pub use scenario::{ScenarioDetector, ThresholdDetector};

/// The shipped scenario files, by name, in load order.
pub const DEFAULT_RULE_FILES: [(&str, &str); 5] = [
    ("accounts.yaml", include_str!("../rules/accounts.yaml")),
    ("payments.yaml", include_str!("../rules/payments.yaml")),
    ("web.yaml", include_str!("../rules/web.yaml")),
    ("floods.yaml", include_str!("../rules/floods.yaml")),
    ("network.yaml", include_str!("../rules/network.yaml")),
];

/// Every shipped scenario as one multi-document YAML text, for callers that load a single string
/// (`RuleSet::from_yaml("…", DEFAULT_RULES)`). [`RuleSet::builtin`] names the files in errors.
pub const DEFAULT_RULES: &str = concat!(
    include_str!("../rules/accounts.yaml"),
    "\n---\n",
    include_str!("../rules/payments.yaml"),
    "\n---\n",
    include_str!("../rules/web.yaml"),
    "\n---\n",
    include_str!("../rules/floods.yaml"),
    "\n---\n",
    include_str!("../rules/network.yaml"),
);

impl RuleSet {
    /// The shipped scenarios, loaded file by file.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in DEFAULT_RULE_FILES {
            set.merge(name, RuleSet::from_yaml(name, text)?)?;
        }
        Ok(set)
    }
}
