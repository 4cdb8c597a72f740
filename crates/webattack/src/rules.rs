//! Rules as data: the YAML schema, validation with file/line/key errors, and the embedded rule
//! files (one per attack family).
//!
//! A rule file looks like this (see `rules/*.yaml` for real ones):
//!
//! ```yaml
//! family: sqli
//! class: sqli
//! rules:
//!   - id: SQLI-001
//!     description: SQL injection found by the libinjection tokenizer
//!     targets: [args, arg_names, cookies, "headers:referer"]
//!     transforms: [url_decode_uni, html_entity_decode]
//!     operator: detect_sqli
//!     paranoia: 1
//!     severity: critical
//!     tags: { owasp: "A03:2021", capec: "CAPEC-66", crs: [942100] }
//!     tests:
//!       match: ["1' OR '1'='1"]
//!       no_match: ["O'Reilly"]
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::error::RuleError;
use crate::request::Target;
use crate::scoring::{AttackClass, Severity};
use crate::transform::Transform;

/// Largest compiled program one rule regex may have. Keeps memory and matching cost bounded;
/// the `regex` crate itself guarantees linear-time matching (no backtracking).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Longest regex source accepted.
pub const REGEX_MAX_SOURCE: usize = 8 * 1024;
/// Most phrases one rule may list.
pub const MAX_PHRASES: usize = 10_000;

/// The embedded rule files: (file name, contents).
pub const EMBEDDED: &[(&str, &str)] = &[
    ("protocol.yaml", include_str!("../rules/protocol.yaml")),
    ("scanner.yaml", include_str!("../rules/scanner.yaml")),
    ("lfi.yaml", include_str!("../rules/lfi.yaml")),
    ("rfi.yaml", include_str!("../rules/rfi.yaml")),
    ("rce.yaml", include_str!("../rules/rce.yaml")),
    ("php.yaml", include_str!("../rules/php.yaml")),
    ("nodejs.yaml", include_str!("../rules/nodejs.yaml")),
    ("java.yaml", include_str!("../rules/java.yaml")),
    ("xss.yaml", include_str!("../rules/xss.yaml")),
    ("sqli.yaml", include_str!("../rules/sqli.yaml")),
    ("session.yaml", include_str!("../rules/session.yaml")),
    ("ssrf.yaml", include_str!("../rules/ssrf.yaml")),
    (
        "restricted_files.yaml",
        include_str!("../rules/restricted_files.yaml"),
    ),
    ("ecommerce.yaml", include_str!("../rules/ecommerce.yaml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    family: String,
    class: AttackClass,
    #[serde(default)]
    description: String,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    description: String,
    #[serde(default)]
    class: Option<AttackClass>,
    targets: Vec<String>,
    #[serde(default)]
    transforms: Vec<String>,
    operator: RawOperator,
    #[serde(default)]
    negate: bool,
    paranoia: u8,
    severity: Severity,
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    tests: RawTests,
}

/// `operator:` is either a bare name (`detect_sqli`, `detect_xss`, `absent`) or a one-key map.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawOperator {
    Name(String),
    Map(RawOperatorMap),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperatorMap {
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    phrases: Option<Vec<String>>,
    #[serde(default)]
    numeric: Option<NumericBounds>,
    #[serde(default)]
    length: Option<NumericBounds>,
}

/// Bounds of a numeric comparison: the operator matches when any given bound is crossed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericBounds {
    /// Matches values strictly below this.
    #[serde(default)]
    pub lt: Option<f64>,
    /// Matches values strictly above this.
    #[serde(default)]
    pub gt: Option<f64>,
}

impl NumericBounds {
    /// Whether `v` crosses a bound.
    #[must_use]
    pub fn crossed(&self, v: f64) -> bool {
        self.lt.is_some_and(|lt| v < lt) || self.gt.is_some_and(|gt| v > gt)
    }
}

/// Cross-references of a rule to the standards people triage with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tags {
    /// OWASP Top 10 category, e.g. `A03:2021`.
    #[serde(default)]
    pub owasp: Option<String>,
    /// CAPEC attack pattern, e.g. `CAPEC-66`.
    #[serde(default)]
    pub capec: Option<String>,
    /// CRS rule ids this rule corresponds to.
    #[serde(default)]
    pub crs: Vec<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTests {
    #[serde(default, rename = "match")]
    matching: Vec<TestInput>,
    #[serde(default)]
    no_match: Vec<TestInput>,
}

/// Input of an embedded rule test: a bare value (run through the rule's transforms and operator
/// directly) or a whole request (run through the engine with only this rule).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TestInput {
    /// A value as it would appear in one of the rule's targets, after request parsing.
    Value(String),
    /// A full request.
    Request(TestRequest),
}

/// A request written in a rule file's test section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Method (default `GET`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Request target (default `/`).
    #[serde(default = "default_uri")]
    pub uri: String,
    /// Protocol version (default `HTTP/1.1`).
    #[serde(default = "default_version")]
    pub version: String,
    /// Headers; `Host`, `User-Agent` and `Accept` get harmless defaults unless given. A null
    /// value (`~`) removes the header, to test rules about missing headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// Body.
    #[serde(default)]
    pub body: String,
}

fn default_method() -> String {
    "GET".into()
}
fn default_uri() -> String {
    "/".into()
}
fn default_version() -> String {
    "HTTP/1.1".into()
}

/// How a rule selects the value's name within a target.
#[derive(Debug, Clone)]
pub enum NameFilter {
    /// Any name.
    Any,
    /// This name, case-insensitive (stored lowercase).
    Exact(String),
    /// Names matching this regex.
    Pattern(regex::Regex),
}

/// One target selector of a rule: `args`, `headers:user-agent`, `args:~(?i)qty$`, or an
/// exclusion with a leading `!`.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// Which part of the request.
    pub target: Target,
    /// Which names within it.
    pub name: NameFilter,
    /// Whether this spec excludes rather than selects.
    pub exclude: bool,
}

impl TargetSpec {
    /// Whether a field of `target` named `name` is selected by this spec.
    #[must_use]
    pub fn selects(&self, target: Target, name: &str) -> bool {
        self.target == target
            && match &self.name {
                NameFilter::Any => true,
                NameFilter::Exact(n) => n.eq_ignore_ascii_case(name),
                NameFilter::Pattern(r) => r.is_match(name),
            }
    }

    fn parse(s: &str) -> Result<Self, String> {
        let (exclude, s) = match s.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (t, name) = match s.split_once(':') {
            Some((t, n)) => (t, Some(n)),
            None => (s, None),
        };
        let target = Target::from_name(t).ok_or_else(|| {
            let known: Vec<_> = Target::ALL.iter().map(|t| t.name()).collect();
            format!("unknown target `{t}` (known: {})", known.join(", "))
        })?;
        let name = match name {
            None | Some("") => NameFilter::Any,
            Some(n) => match n.strip_prefix('~') {
                Some(p) => NameFilter::Pattern(
                    regex::RegexBuilder::new(p)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| format!("bad name pattern `{p}`: {e}"))?,
                ),
                None => NameFilter::Exact(n.to_ascii_lowercase()),
            },
        };
        Ok(Self {
            target,
            name,
            exclude,
        })
    }
}

/// A rule's compiled test of a value.
#[derive(Debug, Clone)]
pub enum Operator {
    /// Regex search (linear-time `regex` crate, size-bounded).
    Regex(Regex),
    /// Any of these phrases as a substring, ASCII case-insensitive.
    Phrases(Vec<String>),
    /// libinjection-class SQL injection detection.
    DetectSqli,
    /// libinjection-class XSS detection.
    DetectXss,
    /// The value parses as a number crossing the bounds.
    Numeric(NumericBounds),
    /// The value's byte length crosses the bounds.
    Length(NumericBounds),
    /// No field is selected by the targets at all (e.g. a missing header).
    Absent,
}

impl Operator {
    /// Name as written in rule files.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Regex(_) => "regex",
            Self::Phrases(_) => "phrases",
            Self::DetectSqli => "detect_sqli",
            Self::DetectXss => "detect_xss",
            Self::Numeric(_) => "numeric",
            Self::Length(_) => "length",
            Self::Absent => "absent",
        }
    }
}

/// Where a rule was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name.
    pub file: String,
    /// 1-based line of the rule's `id`.
    pub line: usize,
}

/// A validated rule, ready to compile into an [`crate::Engine`].
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id (e.g. `SQLI-001`).
    pub id: String,
    /// What the rule detects.
    pub description: String,
    /// Family (rule file) it belongs to.
    pub family: String,
    /// Attack class reported when it fires.
    pub class: AttackClass,
    /// Selected targets (inclusions and exclusions).
    pub targets: Vec<TargetSpec>,
    /// Transforms applied before the operator.
    pub transforms: Vec<Transform>,
    /// The test.
    pub operator: Operator,
    /// Fire when the operator does *not* match a selected value.
    pub negate: bool,
    /// Paranoia level 1–4 from which the rule is active.
    pub paranoia: u8,
    /// Severity (anomaly points).
    pub severity: Severity,
    /// OWASP / CAPEC / CRS cross-references.
    pub tags: Tags,
    /// Embedded inputs the rule must match.
    pub should_match: Vec<TestInput>,
    /// Embedded inputs the rule must not match.
    pub should_not_match: Vec<TestInput>,
    /// Where it was defined.
    pub location: Location,
}

impl Rule {
    /// Whether a field of `target` named `name` is selected by this rule.
    #[must_use]
    pub fn selects(&self, target: Target, name: &str) -> bool {
        let mut included = false;
        for spec in &self.targets {
            if spec.selects(target, name) {
                if spec.exclude {
                    return false;
                }
                included = true;
            }
        }
        included
    }

    /// Bit mask of targets this rule includes.
    #[must_use]
    pub fn target_mask(&self) -> u32 {
        self.targets
            .iter()
            .filter(|s| !s.exclude)
            .fold(0, |m, s| m | s.target.bit())
    }
}

/// Finds the 1-based line of rule `id`, and of `key` inside it.
fn locate(text: &str, id: &str, key: Option<&str>) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let is_id_line = |l: &str| {
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        t.strip_prefix("id:")
            .is_some_and(|v| v.trim().trim_matches(|c| c == '"' || c == '\'') == id)
    };
    let Some(start) = lines.iter().position(|l| is_id_line(l)) else {
        return 0;
    };
    let Some(key) = key else {
        return start + 1;
    };
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim_start();
        if t.starts_with("- id:") {
            break;
        }
        if t.trim_start_matches("- ").starts_with(&format!("{key}:")) {
            return i + 1;
        }
    }
    start + 1
}

/// Parses and validates one rule file's text.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| RuleError::Yaml {
        file: file.to_owned(),
        line: e.location().map_or(0, |l| l.line()),
        message: e.to_string(),
    })?;
    let _ = &raw.description;
    let mut out = Vec::with_capacity(raw.rules.len());
    for r in raw.rules {
        let bad = |key: &str, message: String| RuleError::Invalid {
            file: file.to_owned(),
            line: locate(text, &r.id, Some(key)),
            rule: r.id.clone(),
            key: key.to_owned(),
            message,
        };
        if r.id.trim().is_empty() {
            return Err(bad("id", "rule id is empty".into()));
        }
        if !(1..=4).contains(&r.paranoia) {
            return Err(bad(
                "paranoia",
                format!("paranoia level {} is out of range 1..=4", r.paranoia),
            ));
        }
        if r.targets.is_empty() {
            return Err(bad("targets", "no target given".into()));
        }
        let targets = r
            .targets
            .iter()
            .map(|t| TargetSpec::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| bad("targets", m))?;
        if targets.iter().all(|t| t.exclude) {
            return Err(bad("targets", "only exclusions given".into()));
        }
        let transforms = r
            .transforms
            .iter()
            .map(|t| {
                Transform::from_name(t).ok_or_else(|| {
                    let known: Vec<_> = Transform::ALL.iter().map(|t| t.name()).collect();
                    bad(
                        "transforms",
                        format!("unknown transform `{t}` (known: {})", known.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let operator = match &r.operator {
            RawOperator::Name(n) => match n.as_str() {
                "detect_sqli" => Operator::DetectSqli,
                "detect_xss" => Operator::DetectXss,
                "absent" => Operator::Absent,
                other => {
                    return Err(bad(
                        "operator",
                        format!(
                            "unknown operator `{other}` (known: detect_sqli, detect_xss, absent, regex, phrases, numeric, length)"
                        ),
                    ));
                }
            },
            RawOperator::Map(m) => {
                let given = [
                    m.regex.is_some(),
                    m.phrases.is_some(),
                    m.numeric.is_some(),
                    m.length.is_some(),
                ];
                if given.iter().filter(|g| **g).count() != 1 {
                    return Err(bad(
                        "operator",
                        "give exactly one of regex, phrases, numeric, length".into(),
                    ));
                }
                if let Some(src) = &m.regex {
                    Operator::Regex(compile_regex(src).map_err(|e| bad("operator", e))?)
                } else if let Some(p) = &m.phrases {
                    if p.is_empty() || p.len() > MAX_PHRASES {
                        return Err(bad(
                            "operator",
                            format!("phrase list must hold 1..={MAX_PHRASES} phrases"),
                        ));
                    }
                    if p.iter().any(String::is_empty) {
                        return Err(bad("operator", "empty phrase".into()));
                    }
                    Operator::Phrases(p.clone())
                } else {
                    let (b, numeric) = match (m.numeric, m.length) {
                        (Some(b), _) => (b, true),
                        (None, Some(b)) => (b, false),
                        (None, None) => unreachable_bounds(),
                    };
                    if b.lt.is_none() && b.gt.is_none() {
                        return Err(bad("operator", "numeric bounds need `lt` or `gt`".into()));
                    }
                    if numeric {
                        Operator::Numeric(b)
                    } else {
                        Operator::Length(b)
                    }
                }
            }
        };
        if matches!(operator, Operator::Absent) && r.negate {
            return Err(bad("negate", "`absent` cannot be negated".into()));
        }
        let location = Location {
            file: file.to_owned(),
            line: locate(text, &r.id, None),
        };
        out.push(Rule {
            id: r.id.clone(),
            description: r.description,
            family: raw.family.clone(),
            class: r.class.unwrap_or(raw.class),
            targets,
            transforms,
            operator,
            negate: r.negate,
            paranoia: r.paranoia,
            severity: r.severity,
            tags: r.tags,
            should_match: r.tests.matching,
            should_not_match: r.tests.no_match,
            location,
        });
    }
    Ok(out)
}

/// Counting above guarantees one of the four keys is set; an empty bound set is then reported
/// by the caller, so this only has to type-check.
fn unreachable_bounds() -> (NumericBounds, bool) {
    (NumericBounds::default(), true)
}

/// Compiles a rule regex under the crate's safety bounds.
pub(crate) fn compile_regex(src: &str) -> Result<Regex, String> {
    if src.len() > REGEX_MAX_SOURCE {
        return Err(format!(
            "regex is {} bytes, limit is {REGEX_MAX_SOURCE}",
            src.len()
        ));
    }
    RegexBuilder::new(src)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(n) => {
                format!(
                    "regex compiles beyond the {n}-byte limit (too many or too large repetitions)"
                )
            }
            regex::Error::Syntax(s) if s.contains("look-around") || s.contains("backreference") => {
                format!("regex uses look-around or backreferences, which are not linear-time: {s}")
            }
            other => format!("invalid regex: {other}"),
        })
}

/// Checks a set of rules (possibly from several files) for duplicate ids.
fn check_unique(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = HashSet::new();
    for r in rules {
        if !seen.insert(r.id.as_str()) {
            return Err(RuleError::DuplicateId {
                file: r.location.file.clone(),
                line: r.location.line,
                rule: r.id.clone(),
            });
        }
    }
    Ok(())
}

/// Loads the rule files embedded in the binary.
pub fn embedded() -> Result<Vec<Rule>, RuleError> {
    let mut all = Vec::new();
    for (name, text) in EMBEDDED {
        all.extend(parse_file(&format!("<embedded:{name}>"), text)?);
    }
    check_unique(&all)?;
    Ok(all)
}

/// Loads every `*.yaml` file of a directory (sorted by name), e.g. to override the embedded set.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, RuleError> {
    let io = |source| RuleError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    let mut all = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|source| RuleError::Io {
            path: p.display().to_string(),
            source,
        })?;
        all.extend(parse_file(&p.display().to_string(), &text)?);
    }
    check_unique(&all)?;
    Ok(all)
}

/// The embedded rules plus, when given, every rule file of `extra` (ids must stay unique across
/// both, so a local rule cannot silently shadow a shipped one).
pub fn embedded_and_dir(extra: Option<&Path>) -> Result<Vec<Rule>, RuleError> {
    let mut all = embedded()?;
    if let Some(dir) = extra {
        all.extend(load_dir(dir)?);
        check_unique(&all)?;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "family: t\nclass: sqli\nrules:\n  - id: T-1\n    description: d\n    targets: [args]\n    operator:\n      regex: 'a+b'\n    paranoia: 1\n    severity: critical\n";

    fn err(text: &str) -> String {
        match parse_file("f.yaml", text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_file_loads() {
        let rules = parse_file("f.yaml", GOOD).expect("valid file");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].location.line, 4);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        for (text, want) in [
            (
                GOOD.replace("'a+b'", "'a(?=b)'"),
                "f.yaml: line 7: rule T-1: key `operator`: regex uses look-around",
            ),
            (
                GOOD.replace("'a+b'", "'(a{1000}){1000}'"),
                "key `operator`: regex compiles beyond",
            ),
            (
                GOOD.replace("paranoia: 1", "paranoia: 7"),
                "line 9: rule T-1: key `paranoia`",
            ),
            (
                GOOD.replace("[args]", "[argz]"),
                "line 6: rule T-1: key `targets`: unknown target `argz`",
            ),
            (
                GOOD.replace("    paranoia", "    transforms: [rot13]\n    paranoia"),
                "key `transforms`: unknown transform `rot13`",
            ),
            (
                GOOD.replace("severity: critical", "severity: critical\n    colour: red"),
                "invalid yaml at line",
            ),
            (
                GOOD.replace("severity: critical", "severity: dire"),
                "invalid yaml at line 10",
            ),
        ] {
            let e = err(&text);
            assert!(e.contains(want), "got `{e}`, want `{want}`");
        }
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let mut all = parse_file("a.yaml", GOOD).expect("valid");
        all.extend(parse_file("b.yaml", GOOD).expect("valid"));
        let e = check_unique(&all).expect_err("duplicate").to_string();
        assert!(e.contains("b.yaml: line 4: duplicate rule id T-1"), "{e}");
    }

    #[test]
    fn target_specs() {
        let s = TargetSpec::parse("headers:User-Agent").expect("valid");
        assert!(s.selects(Target::Header, "user-agent"));
        assert!(!s.selects(Target::Header, "referer"));
        let p = TargetSpec::parse("args:~(?i)qty$").expect("valid");
        assert!(p.selects(Target::Arg, "cart.QTY"));
        assert!(
            TargetSpec::parse("!cookies:session")
                .expect("valid")
                .exclude
        );
    }

    #[test]
    fn embedded_rules_load() {
        let rules = embedded().expect("embedded rules are valid");
        assert!(rules.len() > 50, "only {} rules", rules.len());
    }
}
