//! Rules as data: additive score modifiers and hard blocks over the features, plus the decision
//! thresholds, loaded from YAML and validated at load so that a mistake is refused when the
//! platform starts, with the file, line and key named.
//!
//! Validation happens while deserialising (`try_from` on every section), so the YAML parser
//! attaches the line and column of the offending section to every message.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::FileError;
use crate::features::{FEATURES, Features, index_of};

/// Largest rules file accepted.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Most rules in one file.
pub const MAX_RULES: usize = 1_000;
/// Most conditions in one rule.
pub const MAX_CONDITIONS: usize = 16;
/// Largest score modifier, in log-odds points (10 points multiply the odds by 22,000).
pub const MAX_ADD: f64 = 10.0;

/// The rules shipped as defaults (`rules/default.yaml`).
pub const DEFAULT_RULES: &str = include_str!("../rules/default.yaml");

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// `feature op value`; false when the feature is unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    /// Index into [`FEATURES`].
    pub feature: usize,
    /// Comparison.
    pub op: Op,
    /// Right-hand side.
    pub value: f64,
}

impl Condition {
    /// Whether it holds for `features`.
    pub fn holds(&self, features: &Features) -> bool {
        let x = features.0[self.feature];
        match self.op {
            Op::Gt => x > self.value,
            Op::Ge => x >= self.value,
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
            Op::Eq => x == self.value,
            Op::Ne => !x.is_nan() && x != self.value,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    feature: String,
    op: String,
    value: f64,
}

impl TryFrom<RawCondition> for Condition {
    type Error = String;

    fn try_from(raw: RawCondition) -> Result<Condition, String> {
        let feature = index_of(&raw.feature).ok_or_else(|| {
            let known: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
            format!(
                "`feature`: unknown feature `{}` (known: {})",
                raw.feature,
                known.join(", ")
            )
        })?;
        let op = match raw.op.as_str() {
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            other => {
                return Err(format!(
                    "`op`: `{other}` is not one of >, >=, <, <=, ==, !="
                ));
            }
        };
        if !raw.value.is_finite() {
            return Err("`value`: must be a finite number".into());
        }
        Ok(Condition {
            feature,
            op,
            value: raw.value,
        })
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Adds log-odds points to the score (negative points lower it).
    Add(f64),
    /// Declines whatever the score.
    Block,
}

/// One rule: all conditions must hold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct Rule {
    /// Unique id, shown in reasons.
    pub id: String,
    /// Why, in words a reviewer understands.
    pub reason: String,
    /// Conditions, all of which must hold.
    pub when: Vec<Condition>,
    /// What it does.
    pub effect: Effect,
}

impl Rule {
    /// Whether every condition holds for `features`.
    pub fn matches(&self, features: &Features) -> bool {
        self.when.iter().all(|c| c.holds(features))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    reason: String,
    when: Vec<Condition>,
    #[serde(default)]
    add: Option<f64>,
    #[serde(default)]
    block: bool,
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Condition, D::Error> {
        Condition::try_from(RawCondition::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Rule, String> {
        let at = |m: String| format!("rule `{}`: {m}", raw.id);
        if raw.id.is_empty() || raw.id.len() > 64 {
            return Err("`id`: must be 1 to 64 bytes".into());
        }
        if raw.reason.is_empty() || raw.reason.len() > 200 {
            return Err(at("`reason`: must be 1 to 200 bytes".into()));
        }
        if raw.when.is_empty() || raw.when.len() > MAX_CONDITIONS {
            return Err(at(format!(
                "`when`: must hold 1 to {MAX_CONDITIONS} conditions"
            )));
        }
        let effect = match (raw.add, raw.block) {
            (Some(_), true) => return Err(at("`add` and `block` exclude each other".into())),
            (None, false) => return Err(at("needs `add` (points) or `block: true`".into())),
            (None, true) => Effect::Block,
            (Some(a), false) if a.is_finite() && a.abs() <= MAX_ADD && a != 0.0 => Effect::Add(a),
            (Some(a), false) => {
                return Err(at(format!(
                    "`add`: {a} is outside -{MAX_ADD}..={MAX_ADD} or zero"
                )));
            }
        };
        Ok(Rule {
            id: raw.id,
            reason: raw.reason,
            when: raw.when,
            effect,
        })
    }
}

/// Probabilities from which each decision applies (approve below `challenge`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "RawThresholds")]
pub struct Thresholds {
    /// From here: step up to 3-D Secure.
    pub challenge: f64,
    /// From here: hold for a reviewer.
    pub review: f64,
    /// From here: decline.
    pub decline: f64,
}

/// [`Thresholds`] as written, before their order is checked; its schema is theirs.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Thresholds")]
struct RawThresholds {
    challenge: f64,
    review: f64,
    decline: f64,
}

impl TryFrom<RawThresholds> for Thresholds {
    type Error = String;

    fn try_from(r: RawThresholds) -> Result<Thresholds, String> {
        let ordered = 0.0 < r.challenge
            && r.challenge <= r.review
            && r.review <= r.decline
            && r.decline <= 1.0;
        if !ordered {
            return Err(format!(
                "`thresholds`: need 0 < challenge <= review <= decline <= 1, got {} / {} / {}",
                r.challenge, r.review, r.decline
            ));
        }
        Ok(Thresholds {
            challenge: r.challenge,
            review: r.review,
            decline: r.decline,
        })
    }
}

/// A loaded rules file: thresholds, the prior used when no model is loaded, and the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// Fraud probability before rules when no model is loaded.
    pub base_rate: f64,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    thresholds: Thresholds,
    base_rate: f64,
    #[serde(default)]
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses and validates one file; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<RuleSet, FileError> {
        let raw: RawFile = crate::parse_yaml(file, text, MAX_FILE_BYTES)?;
        if !(raw.base_rate > 0.0 && raw.base_rate < 1.0) {
            return Err(FileError::new(
                file,
                format!(
                    "`base_rate`: {} is not strictly between 0 and 1",
                    raw.base_rate
                ),
            ));
        }
        if raw.rules.len() > MAX_RULES {
            return Err(FileError::new(
                file,
                format!("`rules`: more than {MAX_RULES}"),
            ));
        }
        for (i, r) in raw.rules.iter().enumerate() {
            if raw.rules[..i].iter().any(|q| q.id == r.id) {
                return Err(FileError::new(
                    file,
                    format!("rule `{}`: `id` is used by an earlier rule", r.id),
                ));
            }
        }
        Ok(RuleSet {
            thresholds: raw.thresholds,
            base_rate: raw.base_rate,
            rules: raw.rules,
        })
    }

    /// Reads and loads the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<RuleSet, FileError> {
        let name = path.display().to_string();
        let text =
            crate::read_limited(path, MAX_FILE_BYTES).map_err(|m| FileError::new(&name, m))?;
        RuleSet::from_yaml(&name, &text)
    }

    /// The shipped defaults.
    pub fn builtin() -> Result<RuleSet, FileError> {
        RuleSet::from_yaml("rules/default.yaml", DEFAULT_RULES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::F;
    use proptest::prelude::*;

    const HEAD: &str = "thresholds: {challenge: 0.2, review: 0.5, decline: 0.9}\nbase_rate: 0.01\n";

    fn load(rules: &str) -> Result<RuleSet, String> {
        RuleSet::from_yaml("t.yaml", &format!("{HEAD}rules:\n{rules}")).map_err(|e| e.to_string())
    }

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().expect("builtin rules are valid");
        assert!(!set.rules.is_empty());
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = load("  - id: a\n    reason: r\n    when:\n      - {feature: card_cont_1h, op: '>', value: 1}\n    add: 1\n")
            .expect_err("unknown feature");
        assert!(
            e.starts_with("t.yaml:") && e.contains("card_cont_1h") && e.contains("line 7"),
            "{e}"
        );
        let e = load("  - id: a\n    reason: r\n    when:\n      - {feature: amount, op: '=>', value: 1}\n    add: 1\n")
            .expect_err("bad op");
        assert!(e.contains("`op`") && e.contains("line 7"), "{e}");
        let e = load("  - id: a\n    reason: r\n    when:\n      - {feature: amount, op: '>', value: 1}\n    add: 1\n    block: true\n")
            .expect_err("both effects");
        assert!(e.contains("exclude") && e.contains("line 4"), "{e}");
        let e = load("  - id: a\n    reason: r\n    when:\n      - {feature: amount, op: '>', value: 1}\n    ad: 1\n")
            .expect_err("typo");
        assert!(e.contains("`ad`") && e.contains("line 8"), "{e}");
        let e = RuleSet::from_yaml(
            "t.yaml",
            "thresholds: {challenge: 0.6, review: 0.5, decline: 0.9}\nbase_rate: 0.01\n",
        )
        .expect_err("unordered")
        .to_string();
        assert!(e.contains("challenge <= review"), "{e}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let rule = "  - id: a\n    reason: r\n    when:\n      - {feature: amount, op: '>', value: 1}\n    add: 1\n";
        let e = load(&format!("{rule}{rule}")).expect_err("duplicate");
        assert!(e.contains("used by an earlier rule"), "{e}");
    }

    #[test]
    fn conditions_compare_and_unknown_is_false() {
        let set = load("  - id: big\n    reason: r\n    when:\n      - {feature: amount, op: '>=', value: 100}\n      - {feature: card_devices, op: '>', value: 2}\n    add: 1.5\n")
            .expect("valid");
        let rule = &set.rules[0];
        let mut f = Features::unknown();
        f.set(F::Amount, 150.0);
        assert!(!rule.matches(&f), "unknown feature never matches");
        f.set(F::CardDevices, 3.0);
        assert!(rule.matches(&f));
        f.set(F::Amount, 99.0);
        assert!(!rule.matches(&f));
        assert_eq!(rule.effect, Effect::Add(1.5));
    }

    proptest! {
        #[test]
        fn loader_never_panics(text in ".{0,400}") {
            let _ = RuleSet::from_yaml("p.yaml", &text);
        }

        #[test]
        fn threshold_comparisons_agree_with_floats(x in -1e6f64..1e6, v in -1e6f64..1e6) {
            let c = Condition { feature: 0, op: Op::Ge, value: v };
            let mut f = Features::unknown();
            f.0[0] = x;
            prop_assert_eq!(c.holds(&f), x >= v);
            let c = Condition { feature: 0, op: Op::Lt, value: v };
            prop_assert_eq!(c.holds(&f), x < v);
        }
    }
}
