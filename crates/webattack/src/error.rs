//! Errors of the crate: rule loading and engine construction.
//!
//! Inspection itself never fails: hostile input is reported as a [`crate::ParseAnomaly`] inside the
//! verdict, never as an error.

use thiserror::Error;

/// Why a rule file could not be loaded or compiled.
///
/// Every variant names the file, and when it is known the line and the key, so that a rule author
/// can go straight to the mistake.
#[derive(Debug, Error)]
pub enum RuleError {
    /// The YAML itself is malformed or carries an unknown or missing key.
    #[error("rule file {file}: invalid yaml at line {line}: {message}")]
    Yaml {
        /// File the rule came from (or `<embedded:NAME>`).
        file: String,
        /// 1-based line of the problem (0 when the parser did not say).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A rule is well-formed YAML but semantically wrong (bad regex, unknown transform, ...).
    #[error("rule file {file}: line {line}: rule {rule}: key `{key}`: {message}")]
    Invalid {
        /// File the rule came from.
        file: String,
        /// 1-based line of the offending key, or of the rule when the key was not found.
        line: usize,
        /// Rule id.
        rule: String,
        /// Key whose value is wrong.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Two rules share one id.
    #[error("rule file {file}: line {line}: duplicate rule id {rule}")]
    DuplicateId {
        /// File of the second occurrence.
        file: String,
        /// 1-based line of the second occurrence.
        line: usize,
        /// The duplicated id.
        rule: String,
    },
    /// A rules directory could not be read.
    #[error("rules directory {path}: {source}")]
    Io {
        /// Path that failed.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The combined multi-pattern matcher could not be built (size limit exceeded).
    #[error("multi-pattern matcher for transform chain {chain}: {message}")]
    Matcher {
        /// The transform chain of the group that failed.
        chain: String,
        /// The builder's message.
        message: String,
    },
}

/// Why an engine configuration was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Paranoia levels are 1 to 4.
    #[error("paranoia level {0} is out of range 1..=4")]
    Paranoia(u8),
    /// A zero inbound threshold would flag every request.
    #[error("inbound anomaly threshold must be at least 1")]
    Threshold,
}
