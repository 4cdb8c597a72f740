//! Model-based diagnosis over the dependency graph, kept up to date observation by observation.
//!
//! Fault model (strong dependency): an asset works if and only if it is not faulty itself and
//! everything it depends on works. Hence
//! - an asset observed **faulty** means it, or something it depends on (transitively), is
//!   faulty: that set is a *conflict* — its members cannot all be healthy;
//! - an asset observed **OK** means it and everything it depends on is healthy: those assets are
//!   *exonerated* and leave every conflict;
//! - a faulty observation whose whole conflict is exonerated contradicts the model (a wrong
//!   observation or a missing dependency) and is reported, not used.
//!
//! Candidate diagnoses are the minimal hitting sets of the conflicts ([`crate::hitting`]).
//! A new faulty observation extends the sets by Berge's step without rebuilding; an OK
//! observation (which shrinks conflicts) or a changed one rebuilds from cached closures.

use std::collections::HashMap;

use bit_set::BitSet;

use crate::error::RecoveryError;
use crate::graph::DepGraph;
use crate::hitting::{HsOptions, HsResult, extend, minimal_hitting_sets};
use crate::observation::{Health, Observation};
use crate::prior::Prior;

/// One conflict: the assets that cannot all be healthy, and the symptom it comes from.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The asset observed faulty.
    pub symptom: usize,
    /// It and what it depends on, minus the exonerated.
    pub set: BitSet,
}

/// What an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Older than what is known about the asset: ignored.
    Stale,
    /// Same health as before: only time and evidence were refreshed.
    Refreshed,
    /// A new conflict was added by the incremental step.
    Extended,
    /// Conflicts and candidates were rebuilt.
    Rebuilt,
}

/// The diagnosis state of one asset graph.
#[derive(Debug, Clone)]
pub struct Diagnoser {
    graph: DepGraph,
    priors: Vec<Prior>,
    options: HsOptions,
    observations: HashMap<usize, Observation>,
    closures: HashMap<usize, BitSet>,
    exonerated: BitSet,
    conflicts: Vec<Conflict>,
    contradictions: Vec<usize>,
    result: HsResult,
}

impl Diagnoser {
    /// A diagnoser with no observations; `priors` has one entry per asset of `graph`.
    pub fn new(
        graph: DepGraph,
        priors: Vec<Prior>,
        options: HsOptions,
    ) -> Result<Diagnoser, RecoveryError> {
        if priors.len() != graph.len() {
            return Err(RecoveryError::Graph(format!(
                "{} priors for {} assets",
                priors.len(),
                graph.len()
            )));
        }
        Ok(Diagnoser {
            exonerated: BitSet::with_capacity(graph.len()),
            graph,
            priors,
            options,
            observations: HashMap::new(),
            closures: HashMap::new(),
            conflicts: Vec::new(),
            contradictions: Vec::new(),
            result: HsResult {
                sets: vec![Vec::new()],
                complete: true,
                nodes: 1,
            },
        })
    }

    /// The graph.
    pub fn graph(&self) -> &DepGraph {
        &self.graph
    }

    /// Per-asset priors.
    pub fn priors(&self) -> &[Prior] {
        &self.priors
    }

    /// The latest observation of each observed asset.
    pub fn observations(&self) -> impl Iterator<Item = (usize, &Observation)> {
        self.observations.iter().map(|(&i, o)| (i, o))
    }

    /// The latest observation of one asset.
    pub fn observation(&self, index: usize) -> Option<&Observation> {
        self.observations.get(&index)
    }

    /// The observed asset `index` and what it depends on (cached for observed assets).
    pub fn closure_of(&self, index: usize) -> Option<&BitSet> {
        self.closures.get(&index)
    }

    /// The search bounds.
    pub fn options(&self) -> HsOptions {
        self.options
    }

    /// Assets cleared by OK observations.
    pub fn exonerated(&self) -> &BitSet {
        &self.exonerated
    }

    /// The minimal conflicts, smallest first.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// Symptoms whose every possible cause was observed OK.
    pub fn contradictions(&self) -> &[usize] {
        &self.contradictions
    }

    /// The candidate diagnoses (minimal hitting sets), smallest first; `[[]]` with no symptoms.
    pub fn candidates(&self) -> &HsResult {
        &self.result
    }

    /// Takes several observations and rebuilds once.
    pub fn observe_all(
        &mut self,
        observations: impl IntoIterator<Item = Observation>,
    ) -> Result<(), RecoveryError> {
        for o in observations {
            self.record(o)?;
        }
        self.rebuild();
        Ok(())
    }

    /// Takes one observation and updates conflicts and candidates.
    pub fn observe(&mut self, observation: Observation) -> Result<Update, RecoveryError> {
        let health = observation.health;
        let (index, before) = match self.record(observation)? {
            Recorded::Stale => return Ok(Update::Stale),
            Recorded::Same => return Ok(Update::Refreshed),
            Recorded::Changed { index, before } => (index, before),
        };
        let fresh_symptom =
            health == Health::Faulty && matches!(before, None | Some(Health::Unknown));
        if fresh_symptom && self.result.complete {
            self.add_symptom(index);
            return Ok(Update::Extended);
        }
        self.rebuild();
        Ok(Update::Rebuilt)
    }

    fn record(&mut self, observation: Observation) -> Result<Recorded, RecoveryError> {
        let index = self
            .graph
            .index_of(&observation.asset)
            .ok_or_else(|| RecoveryError::UnknownAsset(observation.asset.clone()))?;
        let before = self.observations.get(&index).map(|o| (o.health, o.at));
        if let Some((_, at)) = before
            && at > observation.at
        {
            return Ok(Recorded::Stale);
        }
        let health = observation.health;
        self.observations.insert(index, observation);
        if health != Health::Unknown && !self.closures.contains_key(&index) {
            self.closures.insert(index, self.graph.closure(index));
        }
        match before {
            Some((h, _)) if h == health => Ok(Recorded::Same),
            _ => Ok(Recorded::Changed {
                index,
                before: before.map(|(h, _)| h),
            }),
        }
    }

    /// Berge's step for one new symptom.
    fn add_symptom(&mut self, index: usize) {
        let mut set = self.closures[&index].clone();
        set.difference_with(&self.exonerated);
        if set.is_empty() {
            self.contradictions.push(index);
            return;
        }
        if self.conflicts.iter().any(|c| c.set.is_subset(&set)) {
            return;
        }
        self.conflicts.retain(|c| !set.is_subset(&c.set));
        let at = self
            .conflicts
            .partition_point(|c| c.set.count() <= set.count());
        self.conflicts.insert(
            at,
            Conflict {
                symptom: index,
                set: set.clone(),
            },
        );
        let sets: Vec<BitSet> = self.conflicts.iter().map(|c| c.set.clone()).collect();
        self.result.sets = extend(&self.result.sets, &sets, &set, self.options.max_size);
    }

    /// Conflicts and candidates from scratch (closures are cached).
    fn rebuild(&mut self) {
        let mut exonerated = BitSet::with_capacity(self.graph.len());
        let mut symptoms: Vec<usize> = Vec::new();
        for (&i, o) in &self.observations {
            match o.health {
                Health::Ok => exonerated.union_with(&self.closures[&i]),
                Health::Faulty => symptoms.push(i),
                Health::Unknown => {}
            }
        }
        symptoms.sort_unstable();
        let mut contradictions = Vec::new();
        let mut raw: Vec<Conflict> = Vec::with_capacity(symptoms.len());
        for s in symptoms {
            let mut set = self.closures[&s].clone();
            set.difference_with(&exonerated);
            if set.is_empty() {
                contradictions.push(s);
            } else {
                raw.push(Conflict { symptom: s, set });
            }
        }
        raw.sort_by_key(|c| c.set.count());
        let mut conflicts: Vec<Conflict> = Vec::with_capacity(raw.len());
        for c in raw {
            if !conflicts.iter().any(|k| k.set.is_subset(&c.set)) {
                conflicts.push(c);
            }
        }
        let sets: Vec<BitSet> = conflicts.iter().map(|c| c.set.clone()).collect();
        self.result = minimal_hitting_sets(&sets, self.options);
        self.exonerated = exonerated;
        self.conflicts = conflicts;
        self.contradictions = contradictions;
    }
}

enum Recorded {
    Stale,
    Same,
    Changed {
        index: usize,
        before: Option<Health>,
    },
}
