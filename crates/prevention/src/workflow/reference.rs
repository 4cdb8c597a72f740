//! The reference engine: `stateright`'s breadth-first checker on the byte-array model of
//! `machine.rs`.
//!
//! Stateright records, per property, the path of the *last* violating state it visits (each
//! discovery overwrites the previous one), which is usually not the shortest. So for every
//! property it reports violated (or reached), [`shortest`] runs a plain breadth-first search
//! that stops at the first state where the property fails: level order makes that trace
//! minimal. Its `eventually` verdicts depend on the path by which a state was first reached
//! (a stateright limitation); the compiled engine has no such dependence.

use std::collections::{HashMap, VecDeque};

use stateright::{Checker, HasDiscoveries, Model};

use super::check::{Findings, Options, Path};
use super::lang::PropertyKind;
use super::machine::{Machine, State, Step, property_index};

/// Explores `machine` with stateright.
pub fn explore(machine: &Machine, options: Options) -> Findings {
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
    let paths = machine
        .workflow
        .properties
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let found = discoveries
                .iter()
                .find(|(name, _)| property_index(name) == Some(i))
                .map(|(_, path)| path.clone().into_vec());
            match (p.kind, found) {
                (PropertyKind::Eventually, f) => f,
                (_, Some(_)) => shortest(machine, |s| {
                    let holds = machine.property_holds(i, s);
                    if p.kind == PropertyKind::Sometimes {
                        holds
                    } else {
                        !holds
                    }
                }),
                (_, None) => None,
            }
        })
        .collect();
    Findings {
        paths,
        unique_states: checker.unique_state_count(),
        generated_states: checker.state_count(),
        max_depth: checker.max_depth(),
        stopped_early,
    }
}

/// The shortest path from the initial state to a state where `target` is true.
pub fn shortest(machine: &Machine, target: impl Fn(&State) -> bool) -> Option<Path> {
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
