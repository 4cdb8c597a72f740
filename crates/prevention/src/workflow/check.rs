//! Exhaustive checking with stateright's breadth-first search, and the verdict per property
//! with its trace in plain words.
//!
//! Stateright records, per property, the path of the *last* violating state it visits (each
//! discovery overwrites the previous one), which is usually not the shortest. So for every
//! property it reports violated (or reached), [`shortest`] runs a plain breadth-first search
//! that stops at the first state where the property fails: level order makes that trace
//! minimal. Runs that never end are outside `eventually`'s reach (a stateright limitation: it
//! judges `eventually` on runs that end).

use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use stateright::{Checker, HasDiscoveries, Model};

use super::lang::{PropertyKind, Workflow};
use super::machine::{Machine, State, Step, property_index};

/// How to check.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Worker threads.
    pub threads: usize,
    /// Stop at the first violated property (to time the time to a counterexample).
    pub stop_at_first_violation: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            stop_at_first_violation: false,
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
    let finish = if options.stop_at_first_violation {
        HasDiscoveries::AnyFailures
    } else {
        HasDiscoveries::All
    };
    let checker = machine
        .clone()
        .checker()
        .threads(options.threads.max(1))
        .finish_when(finish)
        .spawn_bfs()
        .join();
    let discoveries = checker.discoveries();
    let stopped_early = options.stop_at_first_violation
        && discoveries.iter().any(|(name, _)| {
            property_index(name)
                .is_some_and(|i| machine.workflow.properties[i].kind != PropertyKind::Sometimes)
        });
    let mut verdicts = Vec::new();
    for (i, p) in machine.workflow.properties.iter().enumerate() {
        let found = discoveries
            .iter()
            .find(|(name, _)| property_index(name) == Some(i))
            .map(|(_, path)| path.clone().into_vec());
        let found = match (p.kind, found) {
            (PropertyKind::Eventually, f) => f,
            (_, Some(_)) => shortest(&machine, |s| {
                let holds = machine.property_holds(i, s);
                if p.kind == PropertyKind::Sometimes {
                    holds
                } else {
                    !holds
                }
            }),
            (_, None) => None,
        };
        let outcome = match (p.kind, found) {
            (PropertyKind::Sometimes, Some(path)) => Outcome::Reachable {
                trace: words(&machine, &path),
            },
            (_, Some(path)) => Outcome::Violated {
                trace: words(&machine, &path),
                detail: detail(&machine, i, path.last().map(|(s, _)| s)),
            },
            (_, None) if stopped_early => Outcome::Undecided,
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
        unique_states: checker.unique_state_count(),
        generated_states: checker.state_count(),
        max_depth: checker.max_depth(),
        complete: !stopped_early,
        verdicts,
    }
}

/// The shortest path from the initial state to a state where `target` is true.
pub fn shortest(
    machine: &Machine,
    target: impl Fn(&State) -> bool,
) -> Option<Vec<(State, Option<Step>)>> {
    let init = machine.initial();
    let mut parent: HashMap<State, Option<(State, Step)>> = HashMap::new();
    parent.insert(init, None);
    let mut queue = VecDeque::from([init]);
    let mut steps = Vec::new();
    while let Some(state) = queue.pop_front() {
        if target(&state) {
            let mut path = vec![(state, None)];
            let mut at = state;
            while let Some(Some((prev, step))) = parent.get(&at) {
                path.push((*prev, Some(*step)));
                at = *prev;
            }
            // Each entry is a state and the step taken from it; the last has none.
            path.reverse();
            return Some(path);
        }
        steps.clear();
        machine.actions(&state, &mut steps);
        for step in steps.drain(..) {
            if let Some(next) = machine.next_state(&state, step)
                && !parent.contains_key(&next)
            {
                parent.insert(next, Some((state, step)));
                queue.push_back(next);
            }
        }
    }
    None
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
