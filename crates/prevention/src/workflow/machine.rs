//! The transition system of a workflow, as a `stateright` model. A state is a fixed array of
//! bytes: the variables, and per request slot (a request action and one of its senders) how
//! often it was sent, how many copies are in flight and how many passed the server's check
//! without their effect applied yet, plus the replays the attacker has left.
//!
//! Steps: a role performs an internal action whose guard holds; a sender sends a request (up to
//! `sends` times; honest roles only when its guard holds as they see it); the attacker replays a request it has seen; the server takes any request in
//! flight, in any order (reordering), and either checks and applies it in one step (atomic) or
//! checks it and applies it later (non-atomic: other requests can come between, a race).

use stateright::{Model, Property};

use super::expr::Effect;
use super::lang::{
    MAX_PROPERTIES, MAX_ROLES, MAX_SLOTS, MAX_VARS, PropertyKind, VarKind, Workflow,
};

/// A state of the model. Small and `Copy`: checking speed is hashing and copying these.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct State {
    /// Variable values.
    pub vars: [u8; MAX_VARS],
    /// Requests sent per slot.
    pub sent: [u8; MAX_SLOTS],
    /// Requests in flight per slot.
    pub inflight: [u8; MAX_SLOTS],
    /// Requests checked but not applied per slot.
    pub checked: [u8; MAX_SLOTS],
    /// Replays the attacker has left.
    pub replays: u8,
}

/// One step of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// A role performs an internal action.
    Do {
        /// Action index.
        action: u8,
        /// Role index.
        actor: u8,
    },
    /// A sender sends a request.
    Send(u8),
    /// The attacker sends a copy of a request seen before.
    Replay(u8),
    /// The server checks and applies (or rejects) a request in one step.
    Process(u8),
    /// The server checks a non-atomic request (passes it on, or rejects it).
    Check(u8),
    /// The server applies a checked non-atomic request.
    Apply(u8),
}

/// A workflow ready to check.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The compiled workflow.
    pub workflow: Workflow,
    /// Request slots: (action index, sender role index).
    pub slots: Vec<(u8, u8)>,
    /// Per variable, the value each role's name has in it (`u8::MAX`: none), for `var = actor`.
    actor_values: Vec<[u8; MAX_ROLES]>,
}

impl Machine {
    /// Prepares a workflow for checking.
    pub fn new(workflow: Workflow) -> Self {
        let mut slots = Vec::new();
        for (i, a) in workflow.actions.iter().enumerate() {
            if a.request {
                for r in &a.by {
                    slots.push((i as u8, *r));
                }
            }
        }
        let actor_values = (0..workflow.vars.names.len())
            .map(|v| {
                let mut row = [u8::MAX; MAX_ROLES];
                for (r, name) in workflow.roles.iter().enumerate() {
                    if let Some(x) = workflow.vars.value(v, name) {
                        row[r] = x;
                    }
                }
                row
            })
            .collect();
        Self {
            workflow,
            slots,
            actor_values,
        }
    }

    /// The initial state.
    pub fn initial(&self) -> State {
        let mut vars = [0u8; MAX_VARS];
        vars[..self.workflow.vars.initial.len()].copy_from_slice(&self.workflow.vars.initial);
        State {
            vars,
            sent: [0; MAX_SLOTS],
            inflight: [0; MAX_SLOTS],
            checked: [0; MAX_SLOTS],
            replays: self.workflow.replays,
        }
    }

    fn apply(&self, vars: &mut [u8; MAX_VARS], action: usize, actor: u8) {
        for e in &self.workflow.actions[action].effects {
            match *e {
                Effect::Set(i, v) => vars[i] = v,
                Effect::SetActor(i) => vars[i] = self.actor_values[i][actor as usize],
                Effect::Add(i, n) => {
                    let max = match self.workflow.vars.kinds[i] {
                        VarKind::Counter(max) => i16::from(max),
                        VarKind::Enum(_) => 0,
                    };
                    vars[i] = (i16::from(vars[i]) + n).clamp(0, max) as u8;
                }
            }
        }
    }

    /// The value of variable `var` named like role `role` (for `var = actor`).
    pub fn actor_value(&self, var: usize, role: u8) -> u8 {
        self.actor_values[var][role as usize]
    }

    fn guard(&self, vars: &[u8], action: usize, actor: u8) -> bool {
        self.workflow.actions[action].guard.holds(vars, actor)
    }

    /// Whether property `i` holds in `state` (for `sometimes`: whether it is reached).
    pub fn property_holds(&self, i: usize, state: &State) -> bool {
        let p = &self.workflow.properties[i];
        match p.kind {
            PropertyKind::Always => !p.when.holds(&state.vars, 0) || p.then.holds(&state.vars, 0),
            PropertyKind::Eventually | PropertyKind::Sometimes => p.then.holds(&state.vars, 0),
        }
    }

    /// The sender role and action name of a slot.
    fn slot_words(&self, slot: u8) -> (String, String) {
        let (a, r) = self.slots[slot as usize];
        (
            self.workflow.roles[r as usize].clone(),
            self.workflow.actions[a as usize].name.clone(),
        )
    }

    /// What changed between two variable arrays, in words: `payment captured → refunded`.
    fn changes(&self, before: &[u8], after: &[u8]) -> String {
        let vars = &self.workflow.vars;
        let parts: Vec<String> = (0..vars.names.len())
            .filter(|i| before[*i] != after[*i])
            .map(|i| {
                format!(
                    "{} {} → {}",
                    vars.names[i],
                    vars.show(i, before[i]),
                    vars.show(i, after[i])
                )
            })
            .collect();
        if parts.is_empty() {
            "no change".into()
        } else {
            parts.join(", ")
        }
    }

    /// One step of a trace in plain words, seen from the state before it.
    pub fn describe(&self, before: &State, step: Step) -> String {
        let after = self.next_state(before, step).unwrap_or(*before);
        let wf = &self.workflow;
        match step {
            Step::Do { action, actor } => format!(
                "{} does `{}` ({})",
                wf.roles[actor as usize],
                wf.actions[action as usize].name,
                self.changes(&before.vars, &after.vars)
            ),
            Step::Send(s) => {
                let (who, what) = self.slot_words(s);
                format!("{who} sends a `{what}` request")
            }
            Step::Replay(s) => {
                let (who, what) = self.slot_words(s);
                format!("the attacker replays {who}'s `{what}` request")
            }
            Step::Process(s) | Step::Check(s) => {
                let (who, what) = self.slot_words(s);
                let (a, r) = self.slots[s as usize];
                if !self.guard(&before.vars, a as usize, r) {
                    let why = wf.actions[a as usize]
                        .guard
                        .failing(&before.vars, r)
                        .unwrap_or_default();
                    format!("the server rejects {who}'s `{what}` (`{why}` does not hold)")
                } else if matches!(step, Step::Process(_)) {
                    format!(
                        "the server accepts {who}'s `{what}` ({})",
                        self.changes(&before.vars, &after.vars)
                    )
                } else {
                    format!("the server checks {who}'s `{what}`: allowed, not applied yet")
                }
            }
            Step::Apply(s) => {
                let (who, what) = self.slot_words(s);
                format!(
                    "the server applies {who}'s `{what}` ({})",
                    self.changes(&before.vars, &after.vars)
                )
            }
        }
    }
}

/// Property names given to stateright, which wants `&'static str`; reports use the model's own
/// names by index.
const NAMES: [&str; MAX_PROPERTIES] = [
    "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12", "p13", "p14",
    "p15",
];

/// The property index of a stateright name.
pub fn property_index(name: &str) -> Option<usize> {
    NAMES.iter().position(|n| *n == name)
}

fn prop<const I: usize>(m: &Machine, s: &State) -> bool {
    m.property_holds(I, s)
}

/// Stateright wants plain function pointers: one per property index.
const CONDITIONS: [fn(&Machine, &State) -> bool; MAX_PROPERTIES] = [
    prop::<0>, prop::<1>, prop::<2>, prop::<3>, prop::<4>, prop::<5>, prop::<6>, prop::<7>,
    prop::<8>, prop::<9>, prop::<10>, prop::<11>, prop::<12>, prop::<13>, prop::<14>, prop::<15>,
];

impl Model for Machine {
    type State = State;
    type Action = Step;

    fn init_states(&self) -> Vec<State> {
        vec![self.initial()]
    }

    fn actions(&self, s: &State, out: &mut Vec<Step>) {
        for (a, def) in self.workflow.actions.iter().enumerate() {
            if def.request {
                continue;
            }
            for &r in &def.by {
                if self.guard(&s.vars, a, r) {
                    out.push(Step::Do {
                        action: a as u8,
                        actor: r,
                    });
                }
            }
        }
        for (i, &(a, r)) in self.slots.iter().enumerate() {
            let def = &self.workflow.actions[a as usize];
            let slot = i as u8;
            // Honest roles send a request when its guard holds as they see it; the attacker
            // sends whenever it likes.
            let honest = self.workflow.attacker != Some(r);
            if s.sent[i] < def.sends && (!honest || self.guard(&s.vars, a as usize, r)) {
                out.push(Step::Send(slot));
            }
            if s.replays > 0 && s.sent[i] > 0 {
                out.push(Step::Replay(slot));
            }
            if s.inflight[i] > 0 {
                out.push(if def.atomic {
                    Step::Process(slot)
                } else {
                    Step::Check(slot)
                });
            }
            if s.checked[i] > 0 {
                out.push(Step::Apply(slot));
            }
        }
    }

    fn next_state(&self, s: &State, step: Step) -> Option<State> {
        let mut n = *s;
        match step {
            Step::Do { action, actor } => {
                self.apply(&mut n.vars, action as usize, actor);
                if n.vars == s.vars {
                    return None;
                }
            }
            Step::Send(slot) => {
                n.sent[slot as usize] += 1;
                n.inflight[slot as usize] += 1;
            }
            Step::Replay(slot) => {
                n.replays -= 1;
                n.inflight[slot as usize] += 1;
            }
            Step::Process(slot) => {
                let (a, r) = self.slots[slot as usize];
                n.inflight[slot as usize] -= 1;
                if self.guard(&s.vars, a as usize, r) {
                    self.apply(&mut n.vars, a as usize, r);
                }
            }
            Step::Check(slot) => {
                let (a, r) = self.slots[slot as usize];
                n.inflight[slot as usize] -= 1;
                if self.guard(&s.vars, a as usize, r) {
                    n.checked[slot as usize] += 1;
                }
            }
            Step::Apply(slot) => {
                let (a, r) = self.slots[slot as usize];
                n.checked[slot as usize] -= 1;
                self.apply(&mut n.vars, a as usize, r);
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.workflow
            .properties
            .iter()
            .enumerate()
            .map(|(i, p)| match p.kind {
                PropertyKind::Always => Property::always(NAMES[i], CONDITIONS[i]),
                PropertyKind::Eventually => Property::eventually(NAMES[i], CONDITIONS[i]),
                PropertyKind::Sometimes => Property::sometimes(NAMES[i], CONDITIONS[i]),
            })
            .collect()
    }
}
