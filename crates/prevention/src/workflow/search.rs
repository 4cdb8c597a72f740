//! The checker's main engine: one breadth-first search over packed states that decides every
//! property and keeps the tree of first discoveries, from which minimal traces are read.
//!
//! Why not stateright's BFS (still available as [`Engine::Stateright`], and the tests compare
//! the two): by its source (0.31, `checker/bfs.rs`), stateright clones each state's path of
//! action indices into every successor (a `Vec` allocation per transition), fingerprints the
//! 65-byte state into a `DashMap` shared by its threads, and re-checks every property's
//! discovery status per state; and it records a violation's
//! *last* path, so a second search was needed for the minimal trace. Here a state is one or two
//! words, the visited set is an FxHash map to the state's index, the queue is the state list
//! itself (states are appended in level order), a parent pointer is 6 bytes, and the first
//! state in level order that violates an `always` (or reaches a `sometimes`) property ends a
//! minimal trace by construction. Single-threaded on purpose: the models are small enough that
//! sharing the visited set between threads costs more than it brings.
//!
//! `eventually` is judged on runs that end (states without successors), like stateright, but
//! without its path dependence: a property is violated when some terminal state is reachable
//! through states that all miss the goal. Each state carries the set of `eventually` goals still
//! missed on some path to it; when a later path adds to that set for a state already expanded,
//! the state is expanded again (a set only grows, so this ends).
//!
//! [`Engine::Stateright`]: super::Engine::Stateright

use std::hash::BuildHasherDefault;

use rustc_hash::FxHasher;

use super::check::{Findings, Path};
use super::compiled::Compiled;
use super::lang::PropertyKind;
use super::machine::Machine;
use super::packed::Packed;

type Index<K> = std::collections::HashMap<K, u32, BuildHasherDefault<FxHasher>>;

/// The states found so far, in discovery order, with the move that first reached each.
struct Tree<K> {
    states: Vec<K>,
    /// Per state: the index of the state it was first reached from, and the move.
    parent: Vec<(u32, u16)>,
    index: Index<K>,
}

impl<K: Packed> Tree<K> {
    fn new(init: K) -> Self {
        let mut index = Index::default();
        index.insert(init, 0);
        Self {
            states: vec![init],
            parent: vec![(u32::MAX, u16::MAX)],
            index,
        }
    }

    /// Adds `s`, reached from `from` by `mv`; `Ok` with the new index, or `Err` with the index
    /// it already has.
    fn insert(&mut self, s: K, from: usize, mv: usize) -> Result<usize, usize> {
        let next = self.states.len();
        match self.index.entry(s) {
            std::collections::hash_map::Entry::Occupied(e) => Err(*e.get() as usize),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(next as u32);
                self.states.push(s);
                self.parent.push((from as u32, mv as u16));
                Ok(next)
            }
        }
    }

    /// The path from the initial state to state `i`, in words-ready form.
    fn path(&self, c: &Compiled, i: usize) -> Path {
        let mut path = vec![(c.unpack(&self.states[i]), None)];
        let mut at = i;
        while at != 0 {
            let (from, mv) = self.parent[at];
            at = from as usize;
            path.push((c.unpack(&self.states[at]), Some(c.step(usize::from(mv)))));
        }
        path.reverse();
        path
    }
}

/// Explores every state of `machine` (or until the first violation when `stop_early`).
pub fn explore(machine: &Machine, stop_early: bool) -> Findings {
    let c = Compiled::new(machine);
    let init = machine.initial();
    // The language's limits (16 variables up to 7 bits, 16 request slots up to 11 bits, the
    // replays) keep every layout within 6 words.
    match c.layout.words {
        0 | 1 => run::<[u64; 1]>(&c, c.pack(&init), stop_early),
        2 => run::<[u64; 2]>(&c, c.pack(&init), stop_early),
        3 | 4 => run::<[u64; 4]>(&c, c.pack(&init), stop_early),
        _ => run::<[u64; 6]>(&c, c.pack(&init), stop_early),
    }
}

/// Bookkeeping for `eventually` properties, one bit per property.
struct Pending {
    /// The bits of the `eventually` properties.
    mask: u16,
    /// Per state: the goals not met in it.
    open: Vec<u16>,
    /// Per state: the goals missed on some path from the initial state to it, itself included.
    missed: Vec<u16>,
    /// Per state: it has no successor.
    terminal: Vec<bool>,
    /// States expanded before their `missed` grew, to expand again.
    redo: Vec<usize>,
}

impl Pending {
    fn open_in<K: Packed>(&self, c: &Compiled, s: &K) -> u16 {
        c.props.iter().enumerate().fold(0, |acc, (p, prop)| {
            if self.mask >> p & 1 == 1 && !prop.holds(s) {
                acc | 1 << p
            } else {
                acc
            }
        })
    }

    /// Records that `to` is reached from `from`; `new` says whether `to` was just added.
    fn reach(&mut self, from: usize, to: usize, new: bool, open: u16, expanded: bool) {
        let bits = self.missed[from] & open;
        if new {
            self.open.push(open);
            self.missed.push(bits);
            self.terminal.push(false);
        } else if bits & !self.missed[to] != 0 {
            self.missed[to] |= bits;
            if expanded {
                self.redo.push(to);
            }
        }
    }
}

fn run<K: Packed>(c: &Compiled, init: K, stop_early: bool) -> Findings {
    let n = c.props.len();
    let mask = c
        .props
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == PropertyKind::Eventually)
        .fold(0u16, |acc, (i, _)| acc | 1 << i);
    let mut ev = Pending {
        mask,
        open: Vec::new(),
        missed: Vec::new(),
        terminal: Vec::new(),
        redo: Vec::new(),
    };
    if mask != 0 {
        let open = ev.open_in(c, &init);
        ev.open.push(open);
        ev.missed.push(open);
        ev.terminal.push(false);
    }
    let mut tree = Tree::new(init);
    let mut first: Vec<Option<usize>> = vec![None; n];
    let mut generated = 1usize;
    let (mut depth, mut level_end) = (0usize, 0usize);
    let mut stopped = false;
    let mut cursor = 0;
    'search: while cursor < tree.states.len() {
        if cursor == level_end {
            depth += 1;
            level_end = tree.states.len();
        }
        let s = tree.states[cursor];
        for (p, prop) in c.props.iter().enumerate() {
            let hit = match prop.kind {
                PropertyKind::Always => !prop.holds(&s),
                PropertyKind::Sometimes => prop.holds(&s),
                PropertyKind::Eventually => false,
            };
            if hit && first[p].is_none() {
                first[p] = Some(cursor);
                if stop_early && prop.kind == PropertyKind::Always {
                    stopped = true;
                    break 'search;
                }
            }
        }
        let mut terminal = true;
        for m in 0..c.moves() {
            let Some(t) = c.next(&s, m) else { continue };
            terminal = false;
            generated += 1;
            let (j, new) = match tree.insert(t, cursor, m) {
                Ok(j) => (j, true),
                Err(j) => (j, false),
            };
            if mask != 0 {
                let open = if new { ev.open_in(c, &t) } else { ev.open[j] };
                ev.reach(cursor, j, new, open, j <= cursor);
            }
        }
        if mask != 0 && terminal {
            ev.terminal[cursor] = true;
            if stop_early && ev.missed[cursor] != 0 {
                stopped = true;
                break;
            }
        }
        cursor += 1;
    }
    // Spread goals missed on paths found late to everything after them.
    while let Some(i) = ev.redo.pop() {
        let s = tree.states[i];
        for m in 0..c.moves() {
            if let Some(t) = c.next(&s, m)
                && let Some(&j) = tree.index.get(&t)
            {
                let j = j as usize;
                ev.reach(i, j, false, ev.open[j], true);
            }
        }
    }
    let mut paths: Vec<Option<Path>> = first.iter().map(|f| f.map(|i| tree.path(c, i))).collect();
    if mask != 0 {
        let violated = ev
            .terminal
            .iter()
            .zip(&ev.missed)
            .filter(|(t, _)| **t)
            .fold(0u16, |acc, (_, m)| acc | m);
        for (p, path) in paths.iter_mut().enumerate() {
            if violated >> p & 1 == 1 {
                *path = to_missed_end(c, init, p);
            }
        }
    }
    Findings {
        paths,
        unique_states: tree.states.len(),
        generated_states: generated,
        max_depth: depth,
        stopped_early: stopped,
    }
}

/// The shortest run that ends (no successor) without meeting `eventually` property `p`'s goal.
fn to_missed_end<K: Packed>(c: &Compiled, init: K, p: usize) -> Option<Path> {
    let prop = &c.props[p];
    if prop.holds(&init) {
        return None;
    }
    let mut tree = Tree::new(init);
    let mut cursor = 0;
    while cursor < tree.states.len() {
        let s = tree.states[cursor];
        let mut terminal = true;
        for m in 0..c.moves() {
            let Some(t) = c.next(&s, m) else { continue };
            terminal = false;
            if !prop.holds(&t) {
                let _ = tree.insert(t, cursor, m);
            }
        }
        if terminal {
            return Some(tree.path(c, cursor));
        }
        cursor += 1;
    }
    None
}
