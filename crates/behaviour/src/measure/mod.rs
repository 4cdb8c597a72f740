//! The per-entity measures a rule keeps: sliding counters, distinct counts, leaky buckets, known
//! values.

pub(crate) mod bucket;
pub mod distinct;
pub mod hll;
pub(crate) mod known;
pub(crate) mod ring;
