//! Scenario rules as data: loading and validation, with errors that name the file, the rule and
//! the key.
//!
//! A rule selects events (`event`, `where`), groups them by an entity kind (`group_by`), keeps
//! measures over a sliding window of event time (`when`: counts, distinct counts, ratios, leaky
//! buckets) and alerts when every measure passes its test. The older threshold form
//! (`threshold: N`, optional `distinct: field`) is still read: it is one count or distinct-count
//! measure with `at_least: N`. See `docs/scenarios.md`.

use ensuresec_model::{EntityKind, EventType, Severity};
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::condition::{Condition, FieldRef};
use crate::limits::StateLimits;

/// Why a rule file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The YAML does not parse or has unknown keys (the message carries line and column).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with its location.
        message: String,
    },
    /// A rule parses but makes no sense.
    #[error("{file}: rule {index} (`{id}`): `{key}` {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 0-based position in `rules`, counted across the file's documents.
        index: usize,
        /// The rule's id.
        id: String,
        /// The offending key, as a path (`when[1].at_least`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The file's `limits` section makes no sense.
    #[error("{file}: `limits.{key}` {message}")]
    Limits {
        /// The file.
        file: String,
        /// The offending key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    limits: Option<RawLimits>,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_entities: Option<usize>,
    max_state_mib: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    event: Yaml,
    #[serde(default, rename = "where")]
    conditions: Mapping,
    group_by: EntityKind,
    window_seconds: u32,
    #[serde(default)]
    threshold: Option<u32>,
    #[serde(default)]
    distinct: Option<String>,
    #[serde(default)]
    when: Option<Vec<RawMeasure>>,
    severity: Severity,
    #[serde(default = "default_confidence")]
    confidence: f32,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum MeasureName {
    Count,
    Distinct,
    Ratio,
    Bucket,
    NewValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    measure: MeasureName,
    #[serde(default)]
    field: Option<String>,
    #[serde(default, rename = "where")]
    conditions: Mapping,
    #[serde(default)]
    at_least: Option<f64>,
    #[serde(default)]
    at_most: Option<f64>,
    #[serde(default)]
    min_events: Option<u32>,
    #[serde(default)]
    capacity: Option<f64>,
    #[serde(default)]
    leak_per_second: Option<f64>,
    #[serde(default)]
    exact_limit: Option<u32>,
    #[serde(default)]
    retention_seconds: Option<u32>,
}

fn default_confidence() -> f32 {
    0.7
}

/// What a measure keeps per entity over the window.
#[derive(Debug, Clone)]
pub enum MeasureKind {
    /// Matching events.
    Count,
    /// Distinct values of a field: exact up to `exact_limit` values, then HyperLogLog.
    Distinct {
        /// The field whose values are counted.
        field: FieldRef,
        /// Values kept exactly before switching to a sketch.
        exact_limit: u32,
    },
    /// Share of the rule's events that match the measure's `where`.
    Ratio {
        /// Events needed in the window before the ratio is trusted.
        min_events: u32,
    },
    /// A leaky bucket: each matching event pours in 1 (or the `field`'s value), it drains at a
    /// constant rate, and the test passes while it overflows.
    Bucket {
        /// Level above which it overflows.
        capacity: f64,
        /// Drain rate per second of event time.
        leak_per_second: f64,
        /// The numeric field to pour in, instead of 1 per event.
        weight: Option<FieldRef>,
    },
    /// Events whose `field` value the entity had not used before (within `retention_seconds`,
    /// and among its last few values): an account's new device.
    NewValue {
        /// The field whose values are remembered.
        field: FieldRef,
        /// How long an idle entity's known values are kept, in seconds of event time.
        retention_seconds: u32,
    },
}

/// The test on a measure's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// Passes at or above.
    AtLeast(f64),
    /// Passes at or below.
    AtMost(f64),
    /// Passes while a bucket's level is above this capacity.
    Overflows(f64),
}

impl Test {
    /// Whether a value passes.
    pub fn passes(self, value: f64) -> bool {
        match self {
            Test::AtLeast(x) => value >= x,
            Test::AtMost(x) => value <= x,
            Test::Overflows(capacity) => value > capacity,
        }
    }
}

/// One measure of a rule.
#[derive(Debug, Clone)]
pub struct Measure {
    /// What it keeps.
    pub kind: MeasureKind,
    /// Conditions an event must also meet to count (the ratio's numerator).
    pub conditions: Vec<Condition>,
    /// When it passes.
    pub test: Test,
}

impl Measure {
    /// A short name for evidence (`distinct(account)`, `ratio`, `bucket`).
    pub fn label(&self) -> String {
        match &self.kind {
            MeasureKind::Count => "count".into(),
            MeasureKind::Distinct { field, .. } => format!("distinct({})", field.name),
            MeasureKind::Ratio { .. } => "ratio".into(),
            MeasureKind::Bucket {
                weight: Some(f), ..
            } => format!("bucket({})", f.name),
            MeasureKind::Bucket { .. } => "bucket".into(),
            MeasureKind::NewValue { field, .. } => format!("new({})", field.name),
        }
    }
}

/// One validated scenario rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id, used in alerts.
    pub id: String,
    /// The alert title.
    pub title: String,
    /// What it detects and its known false positives.
    pub description: String,
    /// The event types it reads.
    pub events: Vec<EventType>,
    /// Conditions on payload fields, all of which must hold.
    pub conditions: Vec<Condition>,
    /// The entity it counts per.
    pub group_by: EntityKind,
    /// Sliding window length in seconds of event time.
    pub window_seconds: u32,
    /// The measures, all of which must pass.
    pub measures: Vec<Measure>,
    /// Alert severity.
    pub severity: Severity,
    /// Alert confidence, 0 to 1.
    pub confidence: f32,
    /// Alert tags.
    pub tags: Vec<String>,
}

/// The name the first version of this crate gave rules; kept so that callers still compile.
pub type ThresholdRule = Rule;

impl Rule {
    /// Whether it reads events of this type.
    pub fn reads(&self, event_type: EventType) -> bool {
        self.events.contains(&event_type)
    }
}

/// A validated set of rules and the state limits their detectors run under.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Bounds on detector state.
    pub limits: StateLimits,
}

/// Limits that keep one rule from holding unbounded state or firing nonsense.
const MAX_WINDOW_SECONDS: u32 = 7 * 24 * 3600;
const MAX_THRESHOLD: u32 = 1_000_000;
const MAX_MEASURES: usize = 8;
const MAX_EXACT_LIMIT: u32 = 4096;
const DEFAULT_EXACT_LIMIT: u32 = 128;
const MAX_RETENTION_SECONDS: u32 = 365 * 24 * 3600;
const DEFAULT_RETENTION_SECONDS: u32 = 90 * 24 * 3600;

impl RuleSet {
    /// Parses and validates a rule file (one or more YAML documents); `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<Self, RuleError> {
        let syntax = |e: serde_yaml_ng::Error| RuleError::Syntax {
            file: file.to_string(),
            message: e.to_string(),
        };
        let mut set = RuleSet::default();
        for document in serde_yaml_ng::Deserializer::from_str(text) {
            let raw = RawFile::deserialize(document).map_err(syntax)?;
            if let Some(l) = raw.limits {
                set.limits = limits(file, l, set.limits)?;
            }
            for r in raw.rules {
                let index = set.rules.len();
                let rule =
                    validate(r, &set.rules).map_err(|(id, key, message)| RuleError::Invalid {
                        file: file.to_string(),
                        index,
                        id,
                        key,
                        message,
                    })?;
                set.rules.push(rule);
            }
        }
        Ok(set)
    }

    /// Adds another set's rules, refusing duplicate ids; limits take the tighter of the two.
    pub fn merge(&mut self, file: &str, other: RuleSet) -> Result<(), RuleError> {
        for r in other.rules {
            if self.rules.iter().any(|x| x.id == r.id) {
                return Err(RuleError::Invalid {
                    file: file.to_string(),
                    index: self.rules.len(),
                    id: r.id,
                    key: "id".into(),
                    message: "is used by an earlier rule".into(),
                });
            }
            self.rules.push(r);
        }
        self.limits = self.limits.tighter(other.limits);
        Ok(())
    }

    /// The entity kinds the rules group by, each once.
    pub fn group_kinds(&self) -> Vec<EntityKind> {
        let mut kinds: Vec<EntityKind> = self.rules.iter().map(|r| r.group_by).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

fn limits(file: &str, raw: RawLimits, mut current: StateLimits) -> Result<StateLimits, RuleError> {
    let bad = |key, message: &str| RuleError::Limits {
        file: file.to_string(),
        key,
        message: message.to_string(),
    };
    if let Some(n) = raw.max_entities {
        if n == 0 {
            return Err(bad("max_entities", "must be positive"));
        }
        current.max_entities = n;
    }
    if let Some(mib) = raw.max_state_mib {
        if mib == 0 || mib > 1 << 20 {
            return Err(bad("max_state_mib", "must be 1 to 1048576"));
        }
        current.max_state_bytes = (mib as usize).saturating_mul(1 << 20);
    }
    Ok(current)
}

type Invalid = (String, String, String);

fn conditions(map: &Mapping, events: &[EventType], key: &str) -> Result<Vec<Condition>, String> {
    let mut out = Vec::new();
    for (field, value) in map {
        let Yaml::String(field) = field else {
            return Err(format!("`{key}` keys must be field names"));
        };
        out.push(Condition::compile(field, value, events)?);
    }
    Ok(out)
}

fn validate(r: RawRule, earlier: &[Rule]) -> Result<Rule, Invalid> {
    let id = r.id.clone();
    let invalid = |key: &str, message: String| (id.clone(), key.to_string(), message);
    if r.id.is_empty()
        || !r
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("id", "must be letters, digits, `-` or `_`".into()));
    }
    if earlier.iter().any(|x| x.id == r.id) {
        return Err(invalid("id", "is used by an earlier rule".into()));
    }
    let one = |v: &Yaml| -> Result<EventType, String> {
        match v {
            Yaml::String(s) => s.parse(),
            _ => Err("must be an event type or a list of them".into()),
        }
    };
    let mut events = match &r.event {
        Yaml::Sequence(list) => list.iter().map(one).collect::<Result<Vec<_>, _>>(),
        other => one(other).map(|t| vec![t]),
    }
    .map_err(|m| invalid("event", m))?;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(invalid("event", "needs at least one event type".into()));
    }
    if r.window_seconds == 0 || r.window_seconds > MAX_WINDOW_SECONDS {
        return Err(invalid(
            "window_seconds",
            format!("must be 1 to {MAX_WINDOW_SECONDS}"),
        ));
    }
    if !(0.0..=1.0).contains(&r.confidence) {
        return Err(invalid("confidence", "must be between 0 and 1".into()));
    }
    let conds = conditions(&r.conditions, &events, "where").map_err(|m| invalid("where", m))?;
    let measures = match (r.threshold, r.distinct, r.when) {
        (Some(_), _, Some(_)) => {
            return Err(invalid("threshold", "cannot be used with `when`".into()));
        }
        (None, Some(_), _) => {
            return Err(invalid(
                "distinct",
                "needs `threshold` (or use `when`)".into(),
            ));
        }
        (None, None, None) => {
            return Err(invalid(
                "when",
                "is missing: a rule needs `when` or `threshold`".into(),
            ));
        }
        (Some(n), distinct, None) => {
            if n == 0 || n > MAX_THRESHOLD {
                return Err(invalid(
                    "threshold",
                    format!("must be 1 to {MAX_THRESHOLD}"),
                ));
            }
            let kind = match distinct {
                Some(f) => MeasureKind::Distinct {
                    field: FieldRef::resolve(&f, &events, false)
                        .map_err(|m| invalid("distinct", m))?,
                    exact_limit: DEFAULT_EXACT_LIMIT
                        .max(n.saturating_mul(2))
                        .min(MAX_EXACT_LIMIT),
                },
                None => MeasureKind::Count,
            };
            vec![Measure {
                kind,
                conditions: vec![],
                test: Test::AtLeast(f64::from(n)),
            }]
        }
        (None, None, Some(list)) => {
            if list.is_empty() || list.len() > MAX_MEASURES {
                return Err(invalid(
                    "when",
                    format!("needs 1 to {MAX_MEASURES} measures"),
                ));
            }
            let mut out = Vec::with_capacity(list.len());
            for (i, m) in list.into_iter().enumerate() {
                out.push(
                    measure(m, &events)
                        .map_err(|(k, msg)| invalid(&format!("when[{i}].{k}"), msg))?,
                );
            }
            out
        }
    };
    Ok(Rule {
        id: r.id,
        title: r.title,
        description: r.description,
        events,
        conditions: conds,
        group_by: r.group_by,
        window_seconds: r.window_seconds,
        measures,
        severity: r.severity,
        confidence: r.confidence,
        tags: r.tags,
    })
}

fn measure(m: RawMeasure, events: &[EventType]) -> Result<Measure, (&'static str, String)> {
    let conditions = conditions(&m.conditions, events, "where").map_err(|e| ("where", e))?;
    let unused = |key: &'static str, present: bool| -> Result<(), (&'static str, String)> {
        if present {
            Err((
                key,
                format!("does not apply to `{:?}` measures", m.measure).to_lowercase(),
            ))
        } else {
            Ok(())
        }
    };
    let test = match (m.at_least, m.at_most) {
        (Some(_), Some(_)) => return Err(("at_most", "cannot be used with `at_least`".into())),
        (Some(x), None) if x.is_finite() => Some(Test::AtLeast(x)),
        (None, Some(x)) if x.is_finite() => Some(Test::AtMost(x)),
        (None, None) => None,
        _ => return Err(("at_least", "must be a finite number".into())),
    };
    let is_bucket = m.measure == MeasureName::Bucket;
    unused("capacity", !is_bucket && m.capacity.is_some())?;
    unused("leak_per_second", !is_bucket && m.leak_per_second.is_some())?;
    unused(
        "min_events",
        m.measure != MeasureName::Ratio && m.min_events.is_some(),
    )?;
    unused(
        "exact_limit",
        m.measure != MeasureName::Distinct && m.exact_limit.is_some(),
    )?;
    unused(
        "retention_seconds",
        m.measure != MeasureName::NewValue && m.retention_seconds.is_some(),
    )?;
    let need_test = || {
        test.ok_or((
            "at_least",
            "is missing: give `at_least` or `at_most`".to_string(),
        ))
    };
    let kind = match m.measure {
        MeasureName::Count => {
            unused("field", m.field.is_some())?;
            let t = need_test()?;
            if let Test::AtLeast(x) | Test::AtMost(x) = t
                && !(0.0..=f64::from(MAX_THRESHOLD)).contains(&x)
            {
                return Err(("at_least", format!("must be 0 to {MAX_THRESHOLD}")));
            }
            MeasureKind::Count
        }
        MeasureName::Distinct => {
            let name = m.field.ok_or((
                "field",
                "is missing: distinct counts a field's values".to_string(),
            ))?;
            let exact_limit = m.exact_limit.unwrap_or(DEFAULT_EXACT_LIMIT);
            if exact_limit == 0 || exact_limit > MAX_EXACT_LIMIT {
                return Err(("exact_limit", format!("must be 1 to {MAX_EXACT_LIMIT}")));
            }
            need_test()?;
            MeasureKind::Distinct {
                field: FieldRef::resolve(&name, events, false).map_err(|e| ("field", e))?,
                exact_limit,
            }
        }
        MeasureName::NewValue => {
            let name = m.field.ok_or((
                "field",
                "is missing: new_value remembers a field's values".to_string(),
            ))?;
            let retention_seconds = m.retention_seconds.unwrap_or(DEFAULT_RETENTION_SECONDS);
            if retention_seconds == 0 || retention_seconds > MAX_RETENTION_SECONDS {
                return Err((
                    "retention_seconds",
                    format!("must be 1 to {MAX_RETENTION_SECONDS}"),
                ));
            }
            need_test()?;
            MeasureKind::NewValue {
                field: FieldRef::resolve(&name, events, false).map_err(|e| ("field", e))?,
                retention_seconds,
            }
        }
        MeasureName::Ratio => {
            unused("field", m.field.is_some())?;
            if conditions.is_empty() {
                return Err((
                    "where",
                    "is missing: a ratio is the share of events matching it".into(),
                ));
            }
            if let Test::AtLeast(x) | Test::AtMost(x) = need_test()?
                && !(0.0..=1.0).contains(&x)
            {
                return Err(("at_least", "a ratio test must be between 0 and 1".into()));
            }
            MeasureKind::Ratio {
                min_events: m.min_events.unwrap_or(1).max(1),
            }
        }
        MeasureName::Bucket => {
            if test.is_some() {
                return Err((
                    "at_least",
                    "does not apply to buckets: they alert when they overflow".into(),
                ));
            }
            let capacity = m.capacity.ok_or(("capacity", "is missing".to_string()))?;
            if !(capacity > 0.0 && capacity.is_finite()) {
                return Err(("capacity", "must be a positive number".into()));
            }
            let leak = m
                .leak_per_second
                .ok_or(("leak_per_second", "is missing".to_string()))?;
            if !(leak >= 0.0 && leak.is_finite()) {
                return Err(("leak_per_second", "must be a number ≥ 0".into()));
            }
            let weight = match m.field {
                Some(f) => Some(FieldRef::resolve(&f, events, true).map_err(|e| ("field", e))?),
                None => None,
            };
            MeasureKind::Bucket {
                capacity,
                leak_per_second: leak,
                weight,
            }
        }
    };
    Ok(Measure {
        test: match &kind {
            MeasureKind::Bucket { capacity, .. } => Test::Overflows(*capacity),
            _ => need_test()?,
        },
        kind,
        conditions,
    })
}
