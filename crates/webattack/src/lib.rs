//! HTTP inspection engine for known web attacks.
//!
//! The first thing that hits a web shop is injection and probing. This crate inspects HTTP
//! requests — rebuilt from access logs or handed over by a gateway — and flags known attack
//! classes the way the OWASP Core Rule Set (CRS) does, with its anomaly-scoring model and
//! paranoia levels, at a fraction of its cost.
//!
//! # Code map
//! - [`request`]: the [`InspectRequest`] type and its bounded parsing into fields;
//!   `body/` holds the urlencoded, multipart and JSON body parsers.
//! - [`transform`]: normalisations (URL, HTML, Unicode, paths, comments, ...), one file per group.
//! - [`rules`]: rules as data (YAML, one file per family under `rules/`), validated at load.
//! - [`engine`]: rules compiled into multi-pattern matchers; [`Engine::inspect`] gives a
//!   [`Verdict`].
//! - [`selftest`]: runs the test cases embedded in rule files.
//! - [`detector`]: the pipeline seam, [`WebAttackDetector`] (events in, alerts out).
//! - [`logs`]: access-log parsers (Combined/Common, nginx, Apache, Caddy, JSON lines) with
//!   auto-detection.
//!
//! # Architecture invariants
//! - **No IO and no clock in the engine**: inspection is a pure function of the request and the
//!   rules; callers read files and pass times in (log parsers work on byte slices).
//! - **Hostile input never panics and never runs away**: every collection is bounded by
//!   [`Limits`], every limit hit is reported as a [`ParseAnomaly`], transforms never grow their
//!   input, and only linear-time, size-bounded regexes are accepted (see [`Engine`] for the bound).
//! - **Rules are data**: adding a rule means editing YAML, not code; the operator and transform
//!   vocabularies are closed enums.

mod body;
pub mod detector;
pub mod engine;
pub mod error;
pub mod logs;
pub mod request;
pub mod rules;
pub mod scoring;
pub mod selftest;
pub mod transform;

pub use detector::{SharedEngine, WebAttackDetector};
pub use engine::{Engine, EngineConfig, EngineError, Finding, Verdict};
pub use error::{ConfigError, RuleError};
pub use request::{Field, InspectRequest, Limits, ParseAnomaly, ParsedRequest, Target, parse};
pub use rules::Rule;
pub use scoring::{AttackClass, Severity};
