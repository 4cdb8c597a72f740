//! Deterministic hashing of entity keys and field values.
//!
//! State tables are keyed by a 64-bit hash of the entity instead of its text, which saves an
//! allocation and about 40 bytes per entity; the text is read off the event again when an alert is
//! raised. The hash has a fixed seed so that replaying the same events gives the same state, and a
//! strong finaliser so that HyperLogLog can use its bits directly.
//!
//! Not [`ensuresec_model::hash::hash_bytes`]: that one goes a byte at a time and must never
//! change, since files on disk are keyed by it. This state lives in memory only, so its hash
//! takes eight bytes at a time, which is faster on names and the detectors hash several per
//! event. The finaliser and the pass-through hasher are shared.

use std::net::IpAddr;

use ensuresec_model::EntityRef;
use ensuresec_model::hash::BuildPreHashed;
pub(crate) use ensuresec_model::hash::mix;

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const MUL: u64 = 0xbf58_476d_1ce4_e5b9;

/// Hashes bytes: eight at a time through a multiply-rotate, then the finaliser.
#[inline]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEED ^ (bytes.len() as u64).wrapping_mul(MUL);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(MUL)
            .rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(MUL)
            .rotate_left(29);
    }
    mix(h)
}

/// Hashes an address by its octets (v4 and v6 never collide: the lengths differ).
#[inline]
pub(crate) fn hash_ip(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => hash_bytes(&v4.octets()),
        IpAddr::V6(v6) => hash_bytes(&v6.octets()),
    }
}

/// Hashes an entity value as read off an event.
#[inline]
pub(crate) fn hash_entity(entity: EntityRef<'_>) -> u64 {
    match entity {
        EntityRef::Ip(ip) => hash_ip(ip),
        EntityRef::Name(name) => hash_bytes(name.as_bytes()),
    }
}

/// A `HashMap` keyed by pre-hashed `u64`s.
pub(crate) type HashedMap<V> = std::collections::HashMap<u64, V, BuildPreHashed>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_inputs_hash_equal_and_neighbours_differ() {
        assert_eq!(hash_bytes(b"alice"), hash_bytes(b"alice"));
        assert_ne!(hash_bytes(b"alice"), hash_bytes(b"alicf"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"12345678"), hash_bytes(b"123456789"));
    }

    #[test]
    fn low_bits_are_balanced() {
        // HyperLogLog reads the low bits as a register index: they must be near uniform.
        let mut buckets = [0u32; 16];
        for i in 0..16_000u32 {
            buckets[(hash_bytes(&i.to_le_bytes()) & 15) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|b| (850..1150).contains(b)),
            "{buckets:?}"
        );
    }
}
