//! Threshold rules as data: loading and validation, with errors that name the file, the rule and
//! the key.

use std::collections::BTreeMap;

use ensuresec_model::{EntityKind, EventType, Severity};
use serde::Deserialize;

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
        /// 0-based position in `rules`.
        index: usize,
        /// The rule's id.
        id: String,
        /// The offending key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    event: EventType,
    #[serde(default, rename = "where")]
    conditions: BTreeMap<String, serde_yaml_ng::Value>,
    group_by: EntityKind,
    window_seconds: u32,
    threshold: u32,
    #[serde(default)]
    distinct: Option<String>,
    severity: Severity,
    #[serde(default = "default_confidence")]
    confidence: f32,
    #[serde(default)]
    tags: Vec<String>,
}

fn default_confidence() -> f32 {
    0.7
}

/// A test on one payload field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The field, rendered as text, equals this.
    Equals(String),
    /// The field is a number in this HTTP status class (`4xx` → 400..=499).
    StatusClass(u16),
}

impl Condition {
    /// Whether a payload value satisfies the condition.
    pub fn matches(&self, value: &serde_json::Value) -> bool {
        match (self, value) {
            (Condition::Equals(want), serde_json::Value::String(s)) => s == want,
            (Condition::Equals(want), other) => want.as_str() == other.to_string().as_str(),
            (Condition::StatusClass(class), serde_json::Value::Number(n)) => {
                n.as_u64().is_some_and(|v| v / 100 == u64::from(*class))
            }
            (Condition::StatusClass(_), _) => false,
        }
    }
}

/// One validated threshold rule.
#[derive(Debug, Clone)]
pub struct ThresholdRule {
    /// Stable id, used in alerts.
    pub id: String,
    /// The alert title.
    pub title: String,
    /// What it detects and its known false positives.
    pub description: String,
    /// The event type it counts.
    pub event: EventType,
    /// Conditions on payload fields, all of which must hold.
    pub conditions: Vec<(String, Condition)>,
    /// The entity it counts per.
    pub group_by: EntityKind,
    /// Sliding window length in seconds of event time.
    pub window_seconds: u32,
    /// Count (or distinct count) that raises the alert.
    pub threshold: u32,
    /// Count distinct values of this payload field instead of events.
    pub distinct: Option<String>,
    /// Alert severity.
    pub severity: Severity,
    /// Alert confidence, 0 to 1.
    pub confidence: f32,
    /// Alert tags.
    pub tags: Vec<String>,
}

impl ThresholdRule {
    /// Whether the rule needs the payload's fields (conditions or a distinct field).
    pub fn needs_fields(&self) -> bool {
        !self.conditions.is_empty() || self.distinct.is_some()
    }
}

/// A validated set of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules, in file order.
    pub rules: Vec<ThresholdRule>,
}

/// Limits that keep a rule from holding unbounded state.
const MAX_WINDOW_SECONDS: u32 = 7 * 24 * 3600;
const MAX_THRESHOLD: u32 = 1_000_000;

impl RuleSet {
    /// Parses and validates a rule file; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<Self, RuleError> {
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| RuleError::Syntax {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (index, r) in raw.rules.into_iter().enumerate() {
            let invalid = |key: &'static str, message: String| RuleError::Invalid {
                file: file.to_string(),
                index,
                id: r.id.clone(),
                key,
                message,
            };
            if r.id.is_empty()
                || !r
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid("id", "must be letters, digits, `-` or `_`".into()));
            }
            if rules.iter().any(|x: &ThresholdRule| x.id == r.id) {
                return Err(invalid("id", "is used by an earlier rule".into()));
            }
            if r.window_seconds == 0 || r.window_seconds > MAX_WINDOW_SECONDS {
                return Err(invalid(
                    "window_seconds",
                    format!("must be 1 to {MAX_WINDOW_SECONDS}"),
                ));
            }
            if r.threshold == 0 || r.threshold > MAX_THRESHOLD {
                return Err(invalid(
                    "threshold",
                    format!("must be 1 to {MAX_THRESHOLD}"),
                ));
            }
            if !(0.0..=1.0).contains(&r.confidence) {
                return Err(invalid("confidence", "must be between 0 and 1".into()));
            }
            let mut conditions = Vec::new();
            for (field, value) in r.conditions {
                let text = match value {
                    serde_yaml_ng::Value::String(s) => s,
                    serde_yaml_ng::Value::Number(n) => n.to_string(),
                    serde_yaml_ng::Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(invalid(
                            "where",
                            format!("`{field}` must be a string, number or boolean"),
                        ));
                    }
                };
                let condition = match status_class(&text) {
                    Some(class) => Condition::StatusClass(class),
                    None => Condition::Equals(text),
                };
                conditions.push((field, condition));
            }
            rules.push(ThresholdRule {
                id: r.id,
                title: r.title,
                description: r.description,
                event: r.event,
                conditions,
                group_by: r.group_by,
                window_seconds: r.window_seconds,
                threshold: r.threshold,
                distinct: r.distinct,
                severity: r.severity,
                confidence: r.confidence,
                tags: r.tags,
            });
        }
        Ok(RuleSet { rules })
    }

    /// The entity kinds the rules group by, each once.
    pub fn group_kinds(&self) -> Vec<EntityKind> {
        let mut kinds: Vec<EntityKind> = self.rules.iter().map(|r| r.group_by).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// `4xx` → 4.
fn status_class(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    (b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && &b[1..] == b"xx")
        .then(|| u16::from(b[0] - b'0'))
}
