//! CRS's anomaly-scoring model: per-rule severity, summed and compared to an inbound threshold,
//! with paranoia levels selecting how aggressive the rule set is.

use serde::{Deserialize, Serialize};

/// Severity of a rule; its score is what CRS adds to the inbound anomaly score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Score 2.
    Notice,
    /// Score 3.
    Warning,
    /// Score 4.
    Error,
    /// Score 5.
    Critical,
}

impl Severity {
    /// Anomaly points, as in CRS (`critical_anomaly_score` = 5, ...).
    #[must_use]
    pub fn score(self) -> u32 {
        match self {
            Self::Notice => 2,
            Self::Warning => 3,
            Self::Error => 4,
            Self::Critical => 5,
        }
    }

    /// Name used in rule files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

/// Attack class of a rule, the unit in which detection is reported and evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackClass {
    /// Protocol violations and attacks: smuggling, CRLF, invalid encodings, method enforcement.
    Protocol,
    /// Security scanners and bad bots.
    Scanner,
    /// Local file inclusion and path traversal.
    Lfi,
    /// Remote file inclusion.
    Rfi,
    /// Remote command execution (Unix and Windows).
    Rce,
    /// PHP injection.
    Php,
    /// Node.js / JavaScript server-side injection.
    Nodejs,
    /// Java injection (deserialization, OGNL, class names).
    Java,
    /// Cross-site scripting.
    Xss,
    /// SQL injection.
    Sqli,
    /// Session fixation.
    SessionFixation,
    /// Server-side request forgery.
    Ssrf,
    /// Access to restricted files (`.env`, `.git`, backups).
    RestrictedFile,
    /// E-commerce parameter tampering (negative or absurd quantities and prices).
    Ecommerce,
}

impl AttackClass {
    /// All classes, in report order.
    pub const ALL: [AttackClass; 14] = [
        Self::Protocol,
        Self::Scanner,
        Self::Lfi,
        Self::Rfi,
        Self::Rce,
        Self::Php,
        Self::Nodejs,
        Self::Java,
        Self::Xss,
        Self::Sqli,
        Self::SessionFixation,
        Self::Ssrf,
        Self::RestrictedFile,
        Self::Ecommerce,
    ];

    /// snake_case name, as in rule files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Protocol => "protocol",
            Self::Scanner => "scanner",
            Self::Lfi => "lfi",
            Self::Rfi => "rfi",
            Self::Rce => "rce",
            Self::Php => "php",
            Self::Nodejs => "nodejs",
            Self::Java => "java",
            Self::Xss => "xss",
            Self::Sqli => "sqli",
            Self::SessionFixation => "session_fixation",
            Self::Ssrf => "ssrf",
            Self::RestrictedFile => "restricted_file",
            Self::Ecommerce => "ecommerce",
        }
    }
}
