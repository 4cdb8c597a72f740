//! The transition system of [`Machine`] compiled for speed: every step the model can take
//! ("moves") is listed once with its guard and effects resolved for its role, and applied to
//! packed states with shifts and masks — no lookups by name, no allocation per transition.
//!
//! The moves are listed in the order in which `Machine::actions` offers them, so a
//! breadth-first search over them visits states in the same order as one over `Machine`, and
//! finds the same shortest traces.

use super::lang::PropertyKind;
use super::machine::{Machine, State, Step};
use super::packed::{Effects, Field, Guard, Layout, Packed};

/// What a move does besides its guard and effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An internal action: offered when its guard holds, a step only if it changes something.
    Do,
    /// A sender sends a request (`honest`: only when its guard holds as the sender sees it).
    Send { honest: bool },
    /// The attacker replays a request sent before.
    Replay,
    /// The server checks and applies a request in one step.
    Process,
    /// The server checks a non-atomic request.
    Check,
    /// The server applies a checked non-atomic request.
    Apply,
}

/// One move of the model.
#[derive(Debug, Clone)]
struct Move {
    step: Step,
    kind: Kind,
    guard: Guard,
    effects: Effects,
    /// For request moves: the slot's fields and how often it may be sent (unused by `Do`).
    sent: Field,
    inflight: Field,
    checked: Field,
    sends: u64,
}

/// A property compiled to packed tests.
#[derive(Debug, Clone)]
pub struct Prop {
    /// Its kind.
    pub kind: PropertyKind,
    when: Guard,
    then: Guard,
}

impl Prop {
    /// Whether the property holds in `s` (for `sometimes` and `eventually`: its goal is met).
    #[inline]
    pub fn holds<K: Packed>(&self, s: &K) -> bool {
        match self.kind {
            PropertyKind::Always => !self.when.holds(s) || self.then.holds(s),
            PropertyKind::Eventually | PropertyKind::Sometimes => self.then.holds(s),
        }
    }
}

/// A workflow compiled to moves over packed states.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Where each part of a state lives.
    pub layout: Layout,
    moves: Vec<Move>,
    /// The properties, in file order.
    pub props: Vec<Prop>,
}

impl Compiled {
    /// Compiles `machine`'s workflow.
    pub fn new(machine: &Machine) -> Self {
        let wf = &machine.workflow;
        let layout = Layout::new(wf, &machine.slots);
        let effects =
            |a: usize, r: u8| Effects::new(wf, &layout, a, r, |v, r| machine.actor_value(v, r));
        let mut moves = Vec::new();
        for (a, def) in wf.actions.iter().enumerate() {
            if def.request {
                continue;
            }
            for &r in &def.by {
                moves.push(Move {
                    step: Step::Do {
                        action: a as u8,
                        actor: r,
                    },
                    kind: Kind::Do,
                    guard: Guard::new(&def.guard, &layout, r),
                    effects: effects(a, r),
                    sent: Field::default(),
                    inflight: Field::default(),
                    checked: Field::default(),
                    sends: 0,
                });
            }
        }
        for (i, &(a, r)) in machine.slots.iter().enumerate() {
            let def = &wf.actions[a as usize];
            let slot = i as u8;
            let request = |step, kind| Move {
                step,
                kind,
                guard: Guard::new(&def.guard, &layout, r),
                effects: effects(a as usize, r),
                sent: layout.sent[i],
                inflight: layout.inflight[i],
                checked: layout.checked[i],
                sends: u64::from(def.sends),
            };
            let honest = wf.attacker != Some(r);
            moves.push(request(Step::Send(slot), Kind::Send { honest }));
            moves.push(request(Step::Replay(slot), Kind::Replay));
            moves.push(if def.atomic {
                request(Step::Process(slot), Kind::Process)
            } else {
                request(Step::Check(slot), Kind::Check)
            });
            moves.push(request(Step::Apply(slot), Kind::Apply));
        }
        let props = wf
            .properties
            .iter()
            .map(|p| Prop {
                kind: p.kind,
                when: Guard::new(&p.when, &layout, 0),
                then: Guard::new(&p.then, &layout, 0),
            })
            .collect();
        Self {
            layout,
            moves,
            props,
        }
    }

    /// How many moves there are (a move's index fits in a `u16`: at most 16 actions × 16
    /// roles plus 4 per request slot).
    pub fn moves(&self) -> usize {
        self.moves.len()
    }

    /// The step of move `m`, for traces.
    pub fn step(&self, m: usize) -> Step {
        self.moves[m].step
    }

    /// The state after move `m` from `s`, if the move is possible there.
    #[inline]
    pub fn next<K: Packed>(&self, s: &K, m: usize) -> Option<K> {
        let mv = &self.moves[m];
        let mut n = *s;
        match mv.kind {
            Kind::Do => {
                if !mv.guard.holds(s) {
                    return None;
                }
                mv.effects.apply(&mut n);
                if n == *s {
                    return None;
                }
            }
            Kind::Send { honest } => {
                let (sent, inflight) = (mv.sent, mv.inflight);
                let k = s.get(sent);
                if k >= mv.sends || (honest && !mv.guard.holds(s)) {
                    return None;
                }
                n.put(sent, k + 1);
                n.put(inflight, s.get(inflight) + 1);
            }
            Kind::Replay => {
                let (sent, inflight) = (mv.sent, mv.inflight);
                let left = s.get(self.layout.replays);
                if left == 0 || s.get(sent) == 0 {
                    return None;
                }
                n.put(self.layout.replays, left - 1);
                n.put(inflight, s.get(inflight) + 1);
            }
            Kind::Process | Kind::Check => {
                let inflight = mv.inflight;
                let k = s.get(inflight);
                if k == 0 {
                    return None;
                }
                n.put(inflight, k - 1);
                if mv.guard.holds(s) {
                    if mv.kind == Kind::Process {
                        mv.effects.apply(&mut n);
                    } else {
                        let checked = mv.checked;
                        n.put(checked, s.get(checked) + 1);
                    }
                }
            }
            Kind::Apply => {
                let checked = mv.checked;
                let k = s.get(checked);
                if k == 0 {
                    return None;
                }
                n.put(checked, k - 1);
                mv.effects.apply(&mut n);
            }
        }
        Some(n)
    }

    /// Packs a byte-array state.
    pub fn pack<K: Packed>(&self, s: &State) -> K {
        let mut k = K::default();
        let l = &self.layout;
        for (i, f) in l.vars.iter().enumerate() {
            k.put(*f, u64::from(s.vars[i]));
        }
        for i in 0..l.sent.len() {
            k.put(l.sent[i], u64::from(s.sent[i]));
            k.put(l.inflight[i], u64::from(s.inflight[i]));
            k.put(l.checked[i], u64::from(s.checked[i]));
        }
        k.put(l.replays, u64::from(s.replays));
        k
    }

    /// Unpacks a state, for traces in words.
    pub fn unpack<K: Packed>(&self, k: &K) -> State {
        let mut s = State::default();
        let l = &self.layout;
        for (i, f) in l.vars.iter().enumerate() {
            s.vars[i] = k.get(*f) as u8;
        }
        for i in 0..l.sent.len() {
            s.sent[i] = k.get(l.sent[i]) as u8;
            s.inflight[i] = k.get(l.inflight[i]) as u8;
            s.checked[i] = k.get(l.checked[i]) as u8;
        }
        s.replays = k.get(l.replays) as u8;
        s
    }
}
