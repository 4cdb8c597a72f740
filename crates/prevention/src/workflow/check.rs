//! Checking a workflow: the options, the verdict per property with its trace in plain words,
//! and the report. The search itself is done by one of two engines: [`Engine::Compiled`]
//! (`search.rs`, the default and fast one) or [`Engine::Stateright`] (`reference.rs`, the
//! `stateright` crate's checker, kept as an independent second implementation that the tests
//! compare the first with).
//!
//! Runs that never end are outside `eventually`'s reach: it is judged on runs that end.

use serde::Serialize;

use super::lang::{PropertyKind, Workflow};
use super::machine::{Machine, State, Step};
use super::{reference, search};

/// Which implementation searches the state space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// Our breadth-first search over bit-packed states with precompiled moves: the fast one.
    #[default]
    Compiled,
    /// `stateright`'s breadth-first checker (multi-threaded) on the byte-array model, with a
    /// second search for minimal traces: slower, kept to cross-check the compiled engine.
    Stateright,
}

/// How to check.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Worker threads (the stateright engine only; the compiled one is single-threaded).
    pub threads: usize,
    /// Stop at the first violated property (to time the time to a counterexample).
    pub stop_at_first_violation: bool,
    /// Which engine searches.
    pub engine: Engine,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            stop_at_first_violation: false,
            engine: Engine::default(),
        }
    }
}

/// What checking found for one property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// An `always` or `eventually` property holds in every reachable state or run.
    Holds,
    /// A property is violated; the trace leads from the initial state to the violation.
    Violated {
        /// Steps in plain words.
        trace: Vec<String>,
        /// What fails at the end, in plain words.
        detail: String,
    },
    /// A `sometimes` property is reachable, by this trace.
    Reachable {
        /// Steps in plain words.
        trace: Vec<String>,
    },
    /// A `sometimes` property is never reached: the model cannot do something it should.
    Unreachable,
    /// Checking stopped early (at the first violation) before deciding this property.
    Undecided,
}

/// The verdict on one property.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The property's name.
    pub property: String,
    /// `always`, `eventually` or `sometimes`.
    pub kind: &'static str,
    /// The outcome.
    pub outcome: Outcome,
}

impl Verdict {
    /// The property failed (violated, or a `sometimes` never reached).
    pub fn failed(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Violated { .. } | Outcome::Unreachable
        )
    }
}

/// The result of checking a workflow.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The workflow's name.
    pub workflow: String,
    /// SHA-256 of the model file.
    pub sha256: String,
    /// Distinct states explored.
    pub unique_states: usize,
    /// States generated (with repeats).
    pub generated_states: usize,
    /// Length of the longest shortest path explored.
    pub max_depth: usize,
    /// Every reachable state was explored.
    pub complete: bool,
    /// One verdict per property, in file order.
    pub verdicts: Vec<Verdict>,
}

impl CheckReport {
    /// No property failed.
    pub fn passed(&self) -> bool {
        !self.verdicts.iter().any(Verdict::failed)
    }
}

fn kind_name(k: PropertyKind) -> &'static str {
    match k {
        PropertyKind::Always => "always",
        PropertyKind::Eventually => "eventually",
        PropertyKind::Sometimes => "sometimes",
    }
}

/// Checks every property of the workflow exhaustively.
pub fn check(workflow: Workflow, options: Options) -> CheckReport {
    let machine = Machine::new(workflow);
    let found = match options.engine {
        Engine::Compiled => search::explore(&machine, options.stop_at_first_violation),
        Engine::Stateright => reference::explore(&machine, options),
    };
    let mut verdicts = Vec::new();
    for (i, (p, path)) in machine
        .workflow
        .properties
        .iter()
        .zip(found.paths)
        .enumerate()
    {
        let outcome = match (p.kind, path) {
            (PropertyKind::Sometimes, Some(path)) => Outcome::Reachable {
                trace: words(&machine, &path),
            },
            (_, Some(path)) => Outcome::Violated {
                trace: words(&machine, &path),
                detail: detail(&machine, i, path.last().map(|(s, _)| s)),
            },
            (_, None) if found.stopped_early => Outcome::Undecided,
            (PropertyKind::Sometimes, None) => Outcome::Unreachable,
            (_, None) => Outcome::Holds,
        };
        verdicts.push(Verdict {
            property: p.name.clone(),
            kind: kind_name(p.kind),
            outcome,
        });
    }
    CheckReport {
        workflow: machine.workflow.name.clone(),
        sha256: machine.workflow.sha256.clone(),
        unique_states: found.unique_states,
        generated_states: found.generated_states,
        max_depth: found.max_depth,
        complete: !found.stopped_early,
        verdicts,
    }
}

/// A run: each entry is a state and the step taken from it; the last has none.
pub type Path = Vec<(State, Option<Step>)>;

/// What an engine found, for [`check`] to turn into verdicts.
#[derive(Debug)]
pub struct Findings {
    /// Per property, in file order: a minimal run to a violation (or, for `sometimes`, to the
    /// goal); `None` if there is none (or the search stopped before finding one).
    pub paths: Vec<Option<Path>>,
    /// Distinct states explored.
    pub unique_states: usize,
    /// States generated, with repeats.
    pub generated_states: usize,
    /// Number of states on the longest shortest path explored.
    pub max_depth: usize,
    /// The search stopped at the first violation, before exploring every state.
    pub stopped_early: bool,
}

/// A path as numbered sentences.
fn words(machine: &Machine, path: &[(State, Option<Step>)]) -> Vec<String> {
    path.iter()
        .filter_map(|(state, step)| step.map(|s| machine.describe(state, s)))
        .collect()
}

/// What fails in the last state of a counterexample.
fn detail(machine: &Machine, i: usize, last: Option<&State>) -> String {
    let Some(state) = last else {
        return String::new();
    };
    let p = &machine.workflow.properties[i];
    let vars = &machine.workflow.vars;
    let shown: Vec<String> = (0..vars.names.len())
        .map(|v| format!("{} = {}", vars.names[v], vars.show(v, state.vars[v])))
        .collect();
    match p.kind {
        PropertyKind::Eventually => {
            format!("the run ends without reaching it ({})", shown.join(", "))
        }
        _ => format!(
            "`{}` does not hold ({})",
            p.then.failing(&state.vars, 0).unwrap_or_default(),
            shown.join(", ")
        ),
    }
}
