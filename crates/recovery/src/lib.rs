//! Recovery: after an incident, what is actually broken and what to restore first.
//!
//! - [`observation`]: asset health (OK, faulty, unknown) with time and evidence, from probes and
//!   from alerts mapped to assets.
//! - [`Diagnoser`]: model-based diagnosis over the dependency graph ([`DepGraph`]) — conflicts
//!   from symptoms, candidates as minimal hitting sets ([`hitting`], Reiter's HS-tree), ranked by
//!   [`prior`] likelihood, with a reasoning chain each and the next most informative probe;
//!   updated incrementally as observations arrive.
//! - [`config`]: `recovery.yaml` — health probes of assets and the library of recovery actions.
//! - [`probe`]: HTTP, TCP and heartbeat health checks that become observations.
//! - [`assess`]: one pass from observations to the ranked report and the dry-run plan, shared
//!   by the command line and the server.
//! - [`plan`] and [`execute`]: the ordered recovery plan for a diagnosis, run only with an
//!   [`execute::Approval`], every step verified by re-probing and recorded via [`audit`].
//!
//! Architecture invariant: diagnosis is pure (no IO, no clock); probes and plan execution are
//! the only parts that touch the outside, and they take time and approvals as arguments.

pub mod assess;
pub mod audit;
pub mod config;
mod diagnoser;
pub mod error;
pub mod execute;
mod graph;
pub mod hitting;
mod next_probe;
pub mod observation;
pub mod plan;
pub mod prior;
pub mod probe;
mod report;

pub use diagnoser::{Conflict, Diagnoser, Update};
pub use error::RecoveryError;
pub use graph::DepGraph;
pub use next_probe::ProbeSuggestion;
pub use observation::{Health, Observation};
pub use report::{Candidate, DiagnosisReport};
