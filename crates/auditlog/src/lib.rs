//! The tamper-evident audit trail of ensuresec: an append-only Merkle log (RFC 9162 hashing) with
//! durable group-committed storage, C2SP signed checkpoints and cosignatures, a witness, receipts
//! and an offline verifier.
//!
//! See `ARCHITECTURE.md` beside this crate for the code map and invariants.

pub mod checkpoint;
pub mod hash;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod store;
pub mod tiles;
pub mod verify_dir;
pub mod witness;

pub use store::{Ack, AppendError, Log, LogConfig, LogReader, StoreError};
