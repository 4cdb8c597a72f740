//! Prevention: checking interface designs before deployment.
//!
//! - [`spec`] loads an OpenAPI 3.0/3.1 description (YAML or JSON, `$ref`s across files) with the
//!   line of every value, within size, depth and reference limits;
//! - [`audit`] checks it against rules mapped to the OWASP API Security Top 10 (2023), with
//!   texts and parameters as data (`rules/openapi.yaml`);
//! - [`report`] renders findings as JSON and SARIF 2.1.0;
//! - [`workflow`] model-checks commerce workflows written in a small YAML language against
//!   security properties, with an attacker who replays, reorders and races requests;
//! - [`certificate`] states what was checked and the verdict in a note signed with the audit
//!   log's key.
//!
//! Pure: it reads the files it is given and nothing else. See `docs/prevention.md`.

pub mod audit;
pub mod certificate;
pub mod report;
pub mod spec;
pub mod workflow;

pub use audit::{Finding, Owasp, Report, RuleSet, Severity, audit};
pub use spec::{Limits, Spec, SpecError, load};
