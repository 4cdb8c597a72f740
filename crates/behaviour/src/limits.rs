//! Bounds on detector state, and what happens when they are hit.
//!
//! Policy (documented in `docs/scenarios.md`): an entity's state expires once it has been idle for
//! its rule's window. A table that reaches `max_entities`, or a detector whose estimated state
//! reaches `max_state_bytes`, first sweeps expired entities; if that frees nothing, the new entity
//! is **refused** (entities already tracked keep their state, so an attacker rotating addresses
//! cannot flush the state of one already being watched) and the refusal is counted. Distinct
//! counts that would grow past the ceiling stay exact but capped. The first refusal in a window
//! raises an `info` alert, `state-limit-reached`, so that hitting a limit is never silent.

/// Bounds for one detector instance (one partition, one entity kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// Most entities one rule tracks.
    pub max_entities: usize,
    /// Estimated bytes of state the detector may hold, all rules together.
    pub max_state_bytes: usize,
}

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            max_entities: 1_000_000,
            max_state_bytes: 512 << 20,
        }
    }
}

impl StateLimits {
    /// The tighter of two sets of limits.
    pub fn tighter(self, other: StateLimits) -> StateLimits {
        StateLimits {
            max_entities: self.max_entities.min(other.max_entities),
            max_state_bytes: self.max_state_bytes.min(other.max_state_bytes),
        }
    }
}

/// Counters of limit hits, reported in alerts' evidence and readable by the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitHits {
    /// New entities refused because a table or the memory ceiling was full.
    pub refused_entities: u64,
    /// Distinct-count promotions to a sketch refused by the memory ceiling.
    pub refused_sketches: u64,
    /// Events older than a rule's window relative to the entity's newest event, not counted.
    pub too_late: u64,
    /// Entities removed because they expired.
    pub expired: u64,
}
