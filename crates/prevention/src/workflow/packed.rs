//! A workflow state bit-packed into a few machine words, with conditions and effects compiled to
//! shifts and masks on them.
//!
//! Checking speed is the cost of making, hashing and comparing states. The byte-array [`State`]
//! is 65 bytes for every model; packed, the shipped models need one `u64` (each variable, counter
//! and request slot gets just the bits its largest value needs), so the visited set hashes and
//! compares one word. A field never straddles two words, so reading one is a shift and a mask.
//!
//! [`State`]: super::machine::State

use super::expr::{Atom, Condition, Effect, Op, Subject};
use super::lang::{VarKind, Workflow};

/// Where one field of the state lives in the packed words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Field {
    word: usize,
    shift: u32,
    mask: u64,
}

/// A packed state: `N` words. The engine picks the smallest `N` the model's layout needs.
pub trait Packed: Copy + Eq + std::hash::Hash + Default {
    /// The value of a field.
    fn get(&self, f: Field) -> u64;
    /// Sets a field (`v` must fit in it).
    fn put(&mut self, f: Field, v: u64);
}

impl<const N: usize> Packed for [u64; N]
where
    [u64; N]: Default,
{
    #[inline]
    fn get(&self, f: Field) -> u64 {
        (self[f.word] >> f.shift) & f.mask
    }

    #[inline]
    fn put(&mut self, f: Field, v: u64) {
        let w = &mut self[f.word];
        *w = (*w & !(f.mask << f.shift)) | (v << f.shift);
    }
}

/// Hands out fields word by word, so no field crosses a word boundary.
#[derive(Debug, Default)]
struct Allocator {
    word: usize,
    used: u32,
}

impl Allocator {
    /// A field that holds `0..=max`.
    fn field(&mut self, max: u64) -> Field {
        let bits = (u64::BITS - max.leading_zeros()).max(1);
        if self.used + bits > u64::BITS {
            self.word += 1;
            self.used = 0;
        }
        let f = Field {
            word: self.word,
            shift: self.used,
            mask: (1u64 << bits) - 1,
        };
        self.used += bits;
        f
    }

    fn words(&self) -> usize {
        self.word + usize::from(self.used > 0)
    }
}

/// The position of every part of a state in the packed words.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Per variable.
    pub vars: Vec<Field>,
    /// Per request slot: requests sent.
    pub sent: Vec<Field>,
    /// Per request slot: copies in flight.
    pub inflight: Vec<Field>,
    /// Per request slot: checked, not yet applied.
    pub checked: Vec<Field>,
    /// Replays the attacker has left.
    pub replays: Field,
    /// Words needed.
    pub words: usize,
}

impl Layout {
    /// Lays out the state of `workflow` whose request slots are `slots` (action, sender).
    pub fn new(workflow: &Workflow, slots: &[(u8, u8)]) -> Self {
        let mut alloc = Allocator::default();
        let vars = workflow
            .vars
            .kinds
            .iter()
            .map(|k| {
                alloc.field(match k {
                    VarKind::Enum(values) => values.len().saturating_sub(1) as u64,
                    VarKind::Counter(max) => u64::from(*max),
                })
            })
            .collect();
        let replays = u64::from(workflow.replays);
        let mut sent = Vec::new();
        let mut inflight = Vec::new();
        let mut checked = Vec::new();
        for &(a, _) in slots {
            let sends = u64::from(workflow.actions[a as usize].sends);
            sent.push(alloc.field(sends));
            // Every replay may go to one slot: at most sends + replays copies in flight.
            inflight.push(alloc.field(sends + replays));
            checked.push(alloc.field(sends + replays));
        }
        let replays = alloc.field(replays);
        Self {
            vars,
            sent,
            inflight,
            checked,
            replays,
            words: alloc.words(),
        }
    }
}

/// One test of a compiled condition: the field's value is in the set `allowed` (bit `v` for
/// value `v`; values are at most 100, counters included, so `<`, `<=`, `>`, `>=` become sets
/// too).
#[derive(Debug, Clone, Copy)]
struct Test {
    field: Field,
    allowed: u128,
}

/// A condition compiled for one acting role: `actor` atoms are decided at compile time.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Clauses of one test (most of them), kept flat: each must hold.
    single: Vec<Test>,
    /// Clauses of several tests: each must have a test that holds.
    multi: Vec<Vec<Test>>,
    /// Some clause can never hold (only `actor` atoms that are false for this role).
    never: bool,
}

impl Guard {
    /// Compiles `cond` for the role `actor`.
    pub fn new(cond: &Condition, layout: &Layout, actor: u8) -> Self {
        let (mut single, mut multi) = (Vec::new(), Vec::new());
        let mut never = false;
        for clause in &cond.clauses {
            let mut tests = Vec::new();
            let mut always = false;
            for atom in clause {
                match atom.subject {
                    Subject::Actor => always |= atom.holds(&[], actor),
                    Subject::Var(i) => tests.push(Test {
                        field: layout.vars[i],
                        allowed: allowed(atom),
                    }),
                }
            }
            if always {
                continue;
            }
            never |= tests.is_empty();
            if let [test] = tests[..] {
                single.push(test);
            } else {
                multi.push(tests);
            }
        }
        Self {
            single,
            multi,
            never,
        }
    }

    /// Whether the condition holds in `s`.
    #[inline]
    pub fn holds<K: Packed>(&self, s: &K) -> bool {
        let pass = |t: &Test| (t.allowed >> s.get(t.field)) & 1 == 1;
        !self.never
            && self.single.iter().all(pass)
            && self.multi.iter().all(|clause| clause.iter().any(pass))
    }
}

/// The values (0..=127) for which a variable atom holds.
fn allowed(atom: &Atom) -> u128 {
    let v0 = atom.values.first().copied().unwrap_or(0);
    (0u8..128)
        .filter(|&v| match atom.op {
            Op::In => atom.values.contains(&v),
            Op::NotIn => !atom.values.contains(&v),
            Op::Lt => v < v0,
            Op::Le => v <= v0,
            Op::Gt => v > v0,
            Op::Ge => v >= v0,
        })
        .fold(0u128, |acc, v| acc | (1u128 << v))
}

/// One effect compiled for one acting role.
#[derive(Debug, Clone, Copy)]
enum Write {
    /// Set a field to a value (`var = value`, and `var = actor` resolved for the role).
    Set(Field, u64),
    /// Add to a counter, saturating at 0 and its maximum.
    Add(Field, i64, i64),
}

/// The effects of an action for one acting role, in order.
#[derive(Debug, Clone, Default)]
pub struct Effects(Vec<Write>);

impl Effects {
    /// Compiles the effects of `action` for the role `actor`; `actor_value` gives the value of
    /// variable `i` named like role `r`.
    pub fn new(
        workflow: &Workflow,
        layout: &Layout,
        action: usize,
        actor: u8,
        actor_value: impl Fn(usize, u8) -> u8,
    ) -> Self {
        let writes = workflow.actions[action]
            .effects
            .iter()
            .map(|e| match *e {
                Effect::Set(i, v) => Write::Set(layout.vars[i], u64::from(v)),
                Effect::SetActor(i) => Write::Set(layout.vars[i], u64::from(actor_value(i, actor))),
                Effect::Add(i, n) => {
                    let max = match workflow.vars.kinds[i] {
                        VarKind::Counter(max) => i64::from(max),
                        VarKind::Enum(_) => 0,
                    };
                    Write::Add(layout.vars[i], i64::from(n), max)
                }
            })
            .collect();
        Self(writes)
    }

    /// Applies the effects to `s`.
    #[inline]
    pub fn apply<K: Packed>(&self, s: &mut K) {
        for w in &self.0 {
            match *w {
                Write::Set(f, v) => s.put(f, v),
                Write::Add(f, n, max) => {
                    let v = (s.get(f) as i64 + n).clamp(0, max);
                    s.put(f, v as u64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Machine;

    /// The largest state the language allows: 16 counters up to 100, 16 request slots sent up
    /// to 4 times, 4 replays.
    fn largest() -> String {
        let mut t = String::from(
            "workflow: largest\nroles: [a, b, attacker]\nattacker:\n  replays: 4\nvariables:\n",
        );
        for v in 0..16 {
            t += &format!("  v{v}: {{max: 100}}\n");
        }
        t += "actions:\n";
        for a in 0..8 {
            t += &format!(
                "  - name: r{a}\n    by: [a, attacker]\n    request: true\n    sends: 4\n    atomic: false\n    effect: [v{a} += 1]\n"
            );
        }
        t + "properties:\n  - name: p\n    always: [v0 <= 100]\n"
    }

    #[test]
    fn the_largest_state_fits_six_words_and_round_trips() {
        let wf = Workflow::parse(&largest(), "largest.yaml").expect("compiles");
        let machine = Machine::new(wf);
        let layout = Layout::new(&machine.workflow, &machine.slots);
        assert_eq!(layout.sent.len(), 16);
        assert!(layout.words > 4 && layout.words <= 6, "{}", layout.words);
        let mut k = [0u64; 6];
        for (i, f) in layout.vars.iter().enumerate() {
            k.put(*f, 100 - i as u64);
        }
        for (i, f) in layout.inflight.iter().enumerate() {
            k.put(*f, 8 - (i % 9) as u64);
        }
        k.put(layout.replays, 4);
        for (i, f) in layout.vars.iter().enumerate() {
            assert_eq!(k.get(*f), 100 - i as u64);
        }
        for (i, f) in layout.inflight.iter().enumerate() {
            assert_eq!(k.get(*f), 8 - (i % 9) as u64);
        }
        assert_eq!(k.get(layout.replays), 4);
        assert!(layout.sent.iter().all(|f| k.get(*f) == 0));
    }

    #[test]
    fn counter_comparisons_become_value_sets() {
        let wf = Workflow::parse(&largest(), "largest.yaml").expect("compiles");
        let atom = |text: &str| {
            crate::workflow::expr::parse_atom(text, &wf.vars, &wf.roles).expect("atom")
        };
        assert_eq!(allowed(&atom("v0 <= 1")), 0b11);
        let above = allowed(&atom("v0 > 98"));
        assert_eq!((above >> 98) & 0b111, 0b110);
        assert_eq!(allowed(&atom("v0 != 0")) & 1, 0);
    }
}
