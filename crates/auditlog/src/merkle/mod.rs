//! Merkle tree algorithms of RFC 9162: proof verification (standalone, no IO, usable by an
//! offline verifier), proof generation from any store of node hashes, and the incremental
//! frontier a writer keeps to hash appended leaves.

mod frontier;
mod memory;
mod prove;
mod verify;

pub use frontier::Frontier;
pub use memory::MemoryTree;
pub use prove::{
    NodeSource, ProveError, consistency_proof, inclusion_proof, range_hash,
    subtree_consistency_proof, subtree_inclusion_proof, tree_root,
};
pub use verify::{
    MAX_PROOF_HASHES, ProofError, is_valid_subtree, root_from_inclusion_proof, verify_consistency,
    verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};
