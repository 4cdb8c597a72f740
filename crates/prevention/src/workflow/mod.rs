//! The workflow model checker: a small YAML language for commerce workflows (roles, state
//! variables, actions with guards and effects, security properties), an attacker who may
//! replay, reorder and race requests, exhaustive breadth-first checking (our engine over
//! bit-packed states, cross-checked against `stateright`'s), and a minimal counterexample trace
//! in plain words for each violated property.
//!
//! The language is documented in `docs/prevention.md`; example models are in `models/`.

mod check;
mod compiled;
mod expr;
mod lang;
mod machine;
mod packed;
mod reference;
mod search;

pub use check::{CheckReport, Engine, Options, Outcome, Verdict, check};
pub use lang::{MAX_FILE_BYTES, Workflow, WorkflowError};
pub use machine::{Machine, State, Step};
