//! The inspection engine: rules compiled into multi-pattern matchers, evaluated against a parsed
//! request, scored the CRS way.
//!
//! Rules sharing a transform chain form one *group*: each field is transformed once per group,
//! then one [`RegexSet`] pass finds every regex rule of the group that matches and one
//! Aho-Corasick pass every phrase rule, so the cost grows with the number of distinct transform
//! chains, not with the number of rules.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{RegexSet, RegexSetBuilder};
use serde::Serialize;

use crate::error::{ConfigError, RuleError};
use crate::request::{InspectRequest, Limits, ParseAnomaly, ParsedRequest, Target, parse};
use crate::rules::{Operator, Rule};
use crate::scoring::{AttackClass, Severity};
use crate::transform::{Transform, chain_name};

/// Size limit of one group's combined regex program.
pub const GROUP_SIZE_LIMIT: usize = 64 << 20;
/// Bytes of matched text and decoded value kept in a finding.
pub const SNIPPET_BYTES: usize = 200;

/// How the engine is tuned: the CRS knobs plus parsing limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Paranoia level 1–4: rules above it are left out.
    pub paranoia: u8,
    /// Inbound anomaly score at or above which a request is flagged (CRS default 5).
    pub inbound_threshold: u32,
    /// Parsing bounds.
    pub limits: Limits,
    /// Rule ids to leave out (false-positive tuning).
    pub disabled: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            paranoia: 1,
            inbound_threshold: 5,
            limits: Limits::default(),
            disabled: Vec::new(),
        }
    }
}

impl EngineConfig {
    /// The default configuration at paranoia level `pl`.
    #[must_use]
    pub fn at_paranoia(pl: u8) -> Self {
        Self {
            paranoia: pl,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=4).contains(&self.paranoia) {
            return Err(ConfigError::Paranoia(self.paranoia));
        }
        if self.inbound_threshold == 0 {
            return Err(ConfigError::Threshold);
        }
        Ok(())
    }
}

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The rules were rejected.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// The configuration was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// One rule that fired on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule_id: String,
    /// Attack class.
    pub class: AttackClass,
    /// Severity.
    pub severity: Severity,
    /// Paranoia level of the rule.
    pub paranoia: u8,
    /// Target of the field that matched.
    pub target: &'static str,
    /// Name of the field (argument, header or cookie name), empty if none.
    pub field: String,
    /// The text that matched (bounded to [`SNIPPET_BYTES`]).
    pub matched: String,
    /// The field value after transforms (bounded to [`SNIPPET_BYTES`]).
    pub value: String,
}

/// What the engine concluded about one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Rules that fired, each once, in rule order.
    pub findings: Vec<Finding>,
    /// Sum of the findings' severity scores.
    pub score: u32,
    /// Whether `score` reached the inbound threshold.
    pub flagged: bool,
    /// Parsing anomalies (limits hit, malformed encodings).
    #[serde(serialize_with = "ser_anomalies")]
    pub anomalies: Vec<ParseAnomaly>,
}

fn ser_anomalies<S: serde::Serializer>(a: &[ParseAnomaly], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(a.iter().map(|a| a.name()))
}

impl Verdict {
    /// Whether any rule of `class` fired.
    #[must_use]
    pub fn has_class(&self, class: AttackClass) -> bool {
        self.findings.iter().any(|f| f.class == class)
    }
}

struct Group {
    chain: Vec<Transform>,
    mask: u32,
    members: Vec<usize>,
    set: Option<RegexSet>,
    set_rules: Vec<usize>,
    phrases: Option<AhoCorasick>,
    phrase_rules: Vec<usize>,
    singles: Vec<usize>,
}

/// The compiled rule set. Cheap to share (`&Engine` is all [`Engine::inspect`] needs).
///
/// **Time bound.** Per request, the engine scans at most `G × B` bytes with each kind of matcher,
/// where `G` is the number of transform-chain groups (see [`Engine::groups`]) and `B` the bytes of
/// parsed fields, itself bounded by the request size and [`Limits`] (values are capped at
/// `max_value_bytes`, the body at `max_body_bytes`; transforms never grow a value). Every matcher
/// is linear-time (`regex` and `aho-corasick` do not backtrack; rule loading rejects look-around
/// and caps compiled size), so the cost per request is linear in the request size, whatever
/// the input.
pub struct Engine {
    rules: Vec<Rule>,
    groups: Vec<Group>,
    absent: Vec<usize>,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("groups", &self.groups.len())
            .field("config", &self.config)
            .finish()
    }
}

impl Engine {
    /// Builds an engine from the embedded rules.
    pub fn embedded(config: EngineConfig) -> Result<Self, EngineError> {
        Self::new(crate::rules::embedded()?, config)
    }

    /// Builds an engine from `rules`, keeping those active at the configured paranoia level.
    pub fn new(rules: Vec<Rule>, config: EngineConfig) -> Result<Self, EngineError> {
        config.validate()?;
        let rules: Vec<Rule> = rules
            .into_iter()
            .filter(|r| r.paranoia <= config.paranoia && !config.disabled.contains(&r.id))
            .collect();
        let mut by_chain: BTreeMap<Vec<Transform>, Vec<usize>> = BTreeMap::new();
        let mut absent = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if matches!(r.operator, Operator::Absent) {
                absent.push(i);
            } else {
                by_chain.entry(r.transforms.clone()).or_default().push(i);
            }
        }
        let mut groups = Vec::with_capacity(by_chain.len());
        for (chain, members) in by_chain {
            groups.push(build_group(&rules, chain, &members)?);
        }
        Ok(Self {
            rules,
            groups,
            absent,
            config,
        })
    }

    /// Active rules.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of transform-chain groups (the `G` of the time bound).
    #[must_use]
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// The configuration the engine was built with.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Parses and inspects one request.
    #[must_use]
    pub fn inspect(&self, req: &InspectRequest) -> Verdict {
        let parsed = parse(req, &self.config.limits);
        self.inspect_parsed(&parsed)
    }

    /// Inspects an already parsed request.
    #[must_use]
    pub fn inspect_parsed(&self, parsed: &ParsedRequest) -> Verdict {
        let mut hits: Vec<Option<Finding>> = vec![None; self.rules.len()];
        // Groups are ordered by transform chain, so chains sharing a prefix are adjacent: keep
        // the intermediate results of the last chain and only compute the new suffix.
        let mut cache: Vec<Vec<u8>> = Vec::new();
        for field in &parsed.fields {
            let bit = field.target.bit();
            cache.clear();
            let mut cached_chain: &[Transform] = &[];
            for g in &self.groups {
                if g.mask & bit == 0
                    || !g.members.iter().any(|&ri| {
                        hits[ri].is_none() && self.rules[ri].selects(field.target, &field.name)
                    })
                {
                    continue;
                }
                let common = cached_chain
                    .iter()
                    .zip(&g.chain)
                    .take_while(|(a, b)| a == b)
                    .count();
                cache.truncate(common);
                for t in &g.chain[common..] {
                    let next = t.apply(cache.last().map_or(&field.value[..], Vec::as_slice));
                    cache.push(next);
                }
                cached_chain = &g.chain;
                let value: &[u8] = cache.last().map_or(&field.value[..], Vec::as_slice);
                let record = |hits: &mut Vec<Option<Finding>>, ri: usize, matched: &[u8]| {
                    if hits[ri].is_none() {
                        let r = &self.rules[ri];
                        hits[ri] = Some(finding(r, field.target, &field.name, matched, value));
                    }
                };
                if let Some(set) = g.set.as_ref().filter(|set| set.is_match(value)) {
                    for si in set.matches(value).iter() {
                        let ri = g.set_rules[si];
                        if hits[ri].is_none() && self.rules[ri].selects(field.target, &field.name) {
                            let matched = match &self.rules[ri].operator {
                                Operator::Regex(re) => {
                                    re.find(value).map_or(&b""[..], |m| m.as_bytes())
                                }
                                _ => &b""[..],
                            };
                            record(&mut hits, ri, matched);
                        }
                    }
                }
                if let Some(ac) = &g.phrases {
                    for m in ac.find_overlapping_iter(value) {
                        let ri = g.phrase_rules[m.pattern().as_usize()];
                        if hits[ri].is_none() && self.rules[ri].selects(field.target, &field.name) {
                            record(&mut hits, ri, &value[m.start()..m.end()]);
                        }
                    }
                }
                for &ri in &g.singles {
                    let r = &self.rules[ri];
                    if hits[ri].is_none()
                        && r.selects(field.target, &field.name)
                        && let Some(m) = eval_value(r, value)
                    {
                        record(&mut hits, ri, &m);
                    }
                }
            }
        }
        for &ri in self.absent.iter().filter(|_| !parsed.partial) {
            let r = &self.rules[ri];
            if !parsed.fields.iter().any(|f| r.selects(f.target, &f.name)) {
                let target = r.targets.first().map_or(Target::Header, |t| t.target);
                hits[ri] = Some(finding(r, target, "", b"", b""));
            }
        }
        let findings: Vec<Finding> = hits.into_iter().flatten().collect();
        let score = findings.iter().map(|f| f.severity.score()).sum();
        Verdict {
            flagged: score >= self.config.inbound_threshold,
            findings,
            score,
            anomalies: parsed.anomalies.clone(),
        }
    }
}

fn snippet(b: &[u8]) -> String {
    let b = &b[..b.len().min(SNIPPET_BYTES)];
    String::from_utf8_lossy(b).into_owned()
}

fn finding(r: &Rule, target: Target, field: &str, matched: &[u8], value: &[u8]) -> Finding {
    Finding {
        rule_id: r.id.clone(),
        class: r.class,
        severity: r.severity,
        paranoia: r.paranoia,
        target: target.name(),
        field: snippet(field.as_bytes()),
        matched: snippet(matched),
        value: snippet(value),
    }
}

/// Evaluates one rule's operator on an already transformed value; returns the matched text.
pub(crate) fn eval_value(r: &Rule, value: &[u8]) -> Option<Vec<u8>> {
    let hit: Option<Vec<u8>> = match &r.operator {
        Operator::Regex(re) => re.find(value).map(|m| m.as_bytes().to_vec()),
        Operator::Phrases(ps) => ps
            .iter()
            .find(|p| {
                let p = p.as_bytes();
                value.len() >= p.len() && value.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p))
            })
            .map(|p| p.as_bytes().to_vec()),
        // libinjection needs punctuation or spaces to see a query fragment: skip plain tokens
        // (ids, slugs, session cookies), which are most values.
        Operator::DetectSqli
            if value
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                && memchr::memmem::find(value, b"--").is_none() =>
        {
            None
        }
        Operator::DetectXss
            if !value.iter().any(|b| {
                matches!(
                    b,
                    b'<' | b'>' | b'"' | b'\'' | b'`' | b'=' | b':' | b'&' | b'('
                )
            }) =>
        {
            None
        }
        Operator::DetectSqli => {
            let res = libinjectionrs::detect_sqli(value);
            res.is_injection().then(|| {
                res.fingerprint.map_or_else(
                    || b"sqli".to_vec(),
                    |f| format!("fingerprint {f}").into_bytes(),
                )
            })
        }
        Operator::DetectXss => libinjectionrs::detect_xss(value)
            .is_injection()
            .then(|| value.to_vec()),
        Operator::Numeric(b) => std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|v| !v.is_nan() && b.crossed(*v))
            .map(|_| value.to_vec()),
        Operator::Length(b) => b.crossed(value.len() as f64).then(|| value.to_vec()),
        Operator::Absent => None,
    };
    if r.negate {
        if hit.is_some() {
            None
        } else {
            Some(value.to_vec())
        }
    } else {
        hit
    }
}

fn build_group(
    rules: &[Rule],
    chain: Vec<Transform>,
    members: &[usize],
) -> Result<Group, RuleError> {
    let mut set_src = Vec::new();
    let mut set_rules = Vec::new();
    let mut phrases = Vec::new();
    let mut phrase_rules = Vec::new();
    let mut singles = Vec::new();
    let mut mask = 0;
    for &i in members {
        let r = &rules[i];
        mask |= r.target_mask();
        match &r.operator {
            Operator::Regex(re) if !r.negate => {
                set_src.push(re.as_str().to_owned());
                set_rules.push(i);
            }
            Operator::Phrases(ps) if !r.negate => {
                for p in ps {
                    phrases.push(p.clone());
                    phrase_rules.push(i);
                }
            }
            _ => singles.push(i),
        }
    }
    let err = |message: String| RuleError::Matcher {
        chain: chain_name(&chain),
        message,
    };
    let set = if set_src.is_empty() {
        None
    } else {
        Some(
            RegexSetBuilder::new(&set_src)
                .unicode(false)
                .size_limit(GROUP_SIZE_LIMIT)
                .dfa_size_limit(GROUP_SIZE_LIMIT)
                .build()
                .map_err(|e| err(e.to_string()))?,
        )
    };
    let phrases = if phrases.is_empty() {
        None
    } else {
        Some(
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&phrases)
                .map_err(|e| err(e.to_string()))?,
        )
    };
    Ok(Group {
        chain,
        mask,
        members: members.to_vec(),
        set,
        set_rules,
        phrases,
        phrase_rules,
        singles,
    })
}
