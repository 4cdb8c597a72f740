//! The rules' texts and parameters as data (`rules/openapi.yaml`, built in; another file can
//! replace it). Loading is strict: unknown keys, a rule the code does not know, a check without
//! its text and a bad regular expression are errors naming the file and the line or key.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use super::{Owasp, Severity};

/// The built-in rules file.
pub const DEFAULT_RULES: &str = include_str!("../../rules/openapi.yaml");

/// The id of every check the code implements; the rules file must describe exactly these.
pub const CHECK_IDS: &[&str] = &[
    "bola-unscoped-object-id",
    "bfla-admin-unscoped",
    "auth-missing",
    "auth-scheme-undefined",
    "auth-apikey-in-query",
    "auth-http-basic",
    "auth-jwt-no-audience",
    "auth-oauth-weak-flow",
    "exposure-sensitive-field",
    "exposure-personal-data-unauthenticated",
    "mass-assignment-writable-sensitive",
    "mass-assignment-open-body",
    "rate-limit-missing",
    "unbounded-string",
    "unbounded-array",
    "unbounded-number",
    "ssrf-url-input",
    "tls-missing",
    "inventory-debug-endpoint",
    "errors-none-declared",
    "errors-inconsistent",
];

/// Why a rules file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not YAML of the expected shape (the message carries line and column).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is wrong: the key is named.
    #[error("{file}: `{key}` {message}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// What a rule reports: its category, default severity and texts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleText {
    /// OWASP API Security Top 10 (2023) category.
    pub owasp: Owasp,
    /// Severity of its findings.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// Why it matters.
    pub explanation: String,
    /// What to do.
    pub fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    rules: BTreeMap<String, RuleText>,
    params: RawParams,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    secret_fields: Vec<String>,
    personal_fields: Vec<String>,
    privileged_fields: Vec<String>,
    open_body_min_shared: usize,
    session_paths: String,
    non_object_path_params: String,
    public_paths: String,
    rate_limited_paths: String,
    rate_limit_headers: Vec<String>,
    debug_paths: String,
    admin_paths: String,
    admin_text: String,
    url_name_suffixes: Vec<String>,
    url_formats: Vec<String>,
    bounded_formats: Vec<String>,
}

/// The checks' parameters, compiled.
#[derive(Debug, Clone)]
pub struct Params {
    /// Normalised names of secret response properties.
    pub secret_fields: HashSet<String>,
    /// Normalised names of personal-data properties, matched as suffixes.
    pub personal_fields: Vec<String>,
    /// Normalised names of properties clients must not set.
    pub privileged_fields: HashSet<String>,
    /// Shared properties that tie an open body to a privileged resource.
    pub open_body_min_shared: usize,
    /// Operations whose body is checked, not stored.
    pub session_paths: Regex,
    /// Path parameters that are not object ids.
    pub non_object_path_params: Regex,
    /// Paths public on purpose.
    pub public_paths: Regex,
    /// Paths that must be rate-limited.
    pub rate_limited_paths: Regex,
    /// Lower-case names of rate-limit headers.
    pub rate_limit_headers: HashSet<String>,
    /// Debug and maintenance paths.
    pub debug_paths: Regex,
    /// Administrative paths.
    pub admin_paths: Regex,
    /// Administrative wording in summaries and descriptions.
    pub admin_text: Regex,
    /// Normalised name suffixes of URL inputs.
    pub url_name_suffixes: Vec<String>,
    /// URL string formats.
    pub url_formats: HashSet<String>,
    /// Formats that bound a string's length.
    pub bounded_formats: HashSet<String>,
}

/// Rule texts and parameters.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Texts by rule id (exactly [`CHECK_IDS`]).
    pub rules: BTreeMap<String, RuleText>,
    /// Parameters.
    pub params: Params,
}

/// A property name as compared: lower case without `_`, `-` and `.`.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_RULES, "rules/openapi.yaml").expect("the built-in rules are valid")
    }

    /// Reads a rules file.
    pub fn from_file(path: &Path) -> Result<Self, RulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses rules text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, RulesError> {
        let raw: RawRules = serde_yaml_ng::from_str(text).map_err(|e| RulesError::Syntax {
            file: file.into(),
            message: e.to_string(),
        })?;
        let invalid = |key: String, message: String| RulesError::Invalid {
            file: file.into(),
            key,
            message,
        };
        for id in raw.rules.keys() {
            if !CHECK_IDS.contains(&id.as_str()) {
                return Err(invalid(
                    format!("rules.{id}"),
                    "is not a rule this version knows".into(),
                ));
            }
        }
        for id in CHECK_IDS {
            if !raw.rules.contains_key(*id) {
                return Err(invalid(format!("rules.{id}"), "is missing".into()));
            }
        }
        let p = raw.params;
        let regex = |key: &str, src: &str| {
            Regex::new(src).map_err(|e| {
                invalid(
                    format!("params.{key}"),
                    format!("is not a valid regular expression: {e}"),
                )
            })
        };
        if p.open_body_min_shared == 0 {
            return Err(invalid(
                "params.open_body_min_shared".into(),
                "must be at least 1".into(),
            ));
        }
        let names = |v: Vec<String>| v.iter().map(|n| normalise(n)).collect::<HashSet<_>>();
        let lower = |v: Vec<String>| v.iter().map(|n| n.to_lowercase()).collect::<HashSet<_>>();
        let params = Params {
            non_object_path_params: regex("non_object_path_params", &p.non_object_path_params)?,
            public_paths: regex("public_paths", &p.public_paths)?,
            session_paths: regex("session_paths", &p.session_paths)?,
            rate_limited_paths: regex("rate_limited_paths", &p.rate_limited_paths)?,
            debug_paths: regex("debug_paths", &p.debug_paths)?,
            admin_paths: regex("admin_paths", &p.admin_paths)?,
            admin_text: regex("admin_text", &p.admin_text)?,
            secret_fields: names(p.secret_fields),
            personal_fields: p.personal_fields.iter().map(|n| normalise(n)).collect(),
            privileged_fields: names(p.privileged_fields),
            open_body_min_shared: p.open_body_min_shared,
            rate_limit_headers: lower(p.rate_limit_headers),
            url_name_suffixes: p.url_name_suffixes.iter().map(|n| normalise(n)).collect(),
            url_formats: lower(p.url_formats),
            bounded_formats: lower(p.bounded_formats),
        };
        Ok(Self {
            rules: raw.rules,
            params,
        })
    }

    /// The normalised name is personal data (ends with a personal-data name).
    pub fn is_personal(&self, normalised: &str) -> bool {
        self.params
            .personal_fields
            .iter()
            .any(|p| normalised.ends_with(p.as_str()))
    }

    /// The text of a rule the code implements.
    pub fn text(&self, id: &str) -> &RuleText {
        self.rules
            .get(id)
            .expect("every check id has a text: checked at load")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_describe_every_check() {
        let rules = RuleSet::builtin();
        assert_eq!(rules.rules.len(), CHECK_IDS.len());
        assert!(rules.params.privileged_fields.contains("isadmin"));
        assert_eq!(normalise("is_Admin-x.y"), "isadminxy");
    }

    #[test]
    fn unknown_or_missing_rules_and_bad_regexes_name_the_key() {
        let extra = DEFAULT_RULES.replace("  auth-http-basic:", "  auth-http-basics:");
        let err = RuleSet::parse(&extra, "r.yaml")
            .expect_err("unknown id")
            .to_string();
        assert!(err.contains("rules.auth-http-basics"), "{err}");
        let bad = DEFAULT_RULES.replace("debug_paths: '(?i)", "debug_paths: '(?i)(");
        let err = RuleSet::parse(&bad, "r.yaml")
            .expect_err("bad regex")
            .to_string();
        assert!(err.contains("params.debug_paths"), "{err}");
        let typo = DEFAULT_RULES.replace("  open_body_min_shared: 2", "  open_body_min_share: 2");
        let err = RuleSet::parse(&typo, "r.yaml")
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("line"), "{err}");
    }
}
