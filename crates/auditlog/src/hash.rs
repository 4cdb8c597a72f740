//! RFC 9162 (RFC 6962) Merkle tree hashing: the two domain-separated hash functions every other
//! part of the log builds on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Size in bytes of every hash in the tree (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A Merkle tree hash: kept as a fixed-size array so a hash of the wrong length cannot exist.
pub type Hash = [u8; HASH_SIZE];

/// Domain-separation prefix of a leaf hash, so a leaf can never be mistaken for an inner node.
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain-separation prefix of an inner node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// A byte string that should have been a hash but has the wrong length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashDecodeError {
    /// The decoded bytes are not exactly 32 bytes long.
    #[error("hash has {0} bytes, expected 32")]
    Length(usize),
    /// The text is not valid standard base64.
    #[error("hash is not valid base64")]
    Base64,
}

/// Hashes one log entry into its leaf hash: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    h.finalize().into()
}

/// SHA-256's initial hash value (FIPS 180-4, section 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Hashes two children into their parent: `SHA-256(0x01 || left || right)`. The 65-byte message
/// always pads to the same two blocks, so they are laid out here and compressed directly: the
/// hot loop of proofs and verification skips the streaming hasher's buffering.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut blocks = [Block::default(); 2];
    blocks[0][0] = NODE_PREFIX;
    blocks[0][1..1 + HASH_SIZE].copy_from_slice(left);
    blocks[0][1 + HASH_SIZE..].copy_from_slice(&right[..HASH_SIZE - 1]);
    blocks[1][0] = right[HASH_SIZE - 1];
    blocks[1][1] = 0x80;
    let bits = (1 + 2 * HASH_SIZE as u64) * 8;
    blocks[1][56..].copy_from_slice(&bits.to_be_bytes());
    let mut state = SHA256_IV;
    sha2::compress256(&mut state, &blocks);
    let mut out = [0u8; HASH_SIZE];
    for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Leaf hashes of many entries at once, into `out` (one per entry). Independent messages are
/// hashed several side by side on one core (multi-buffer SHA-256, `tape-sha256`), which on
/// CPUs with wide vectors or SHA extensions is well above one stream: the offline verifier
/// hashes every entry of a log this way.
///
/// # Panics
///
/// If `out` is not as long as `entries` (a caller's bug).
pub fn leaf_hashes(entries: &[&[u8]], out: &mut [Hash]) {
    tape_sha256::hash_many_prefixed(&[LEAF_PREFIX], entries, out);
}

/// Which multi-buffer SHA-256 implementation [`leaf_hashes`] and [`node_hashes`] use on this CPU
/// (chosen at run time), for benchmark reports.
pub fn batch_backend() -> &'static str {
    tape_sha256::backend()
}

/// The parents of consecutive pairs of `children` (`children[2i]`, `children[2i+1]`) into
/// `out`, many at once like [`leaf_hashes`]; a last unpaired child is ignored.
///
/// # Panics
///
/// If `out` is not half as long as `children` (rounded down).
pub fn node_hashes(children: &[Hash], out: &mut [Hash]) {
    let (left, right): (Vec<&[u8]>, Vec<&[u8]>) = children
        .chunks_exact(2)
        .map(|pair| (&pair[0][..], &pair[1][..]))
        .unzip();
    tape_sha256::hash_pairs(&[NODE_PREFIX], &left, &right, out);
}

/// One 64-byte SHA-256 block.
type Block = sha2::digest::generic_array::GenericArray<u8, sha2::digest::consts::U64>;

/// The root hash of the empty tree, `SHA-256("")`, which RFC 9162 fixes for size zero.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Converts a byte slice into a hash, refusing any other length.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, HashDecodeError> {
    bytes
        .try_into()
        .map_err(|_| HashDecodeError::Length(bytes.len()))
}

/// Encodes a hash as standard base64, the form used in checkpoints and proofs.
pub fn hash_to_base64(hash: &Hash) -> String {
    STANDARD.encode(hash)
}

/// Decodes a standard-base64 hash, refusing bad base64 and wrong lengths.
pub fn hash_from_base64(text: &str) -> Result<Hash, HashDecodeError> {
    if text.len() > 64 {
        return Err(HashDecodeError::Length(text.len() * 3 / 4));
    }
    let bytes = STANDARD.decode(text).map_err(|_| HashDecodeError::Base64)?;
    hash_from_slice(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hash_to_base64(&empty_root()),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        let a = leaf_hash(b"");
        let b = node_hash(&a, &a);
        assert_ne!(a, empty_root());
        assert_ne!(b, leaf_hash(&[a, a].concat()));
        assert_eq!(
            hash_to_base64(&a),
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
        );
    }

    #[test]
    fn node_hash_is_sha256_of_the_prefixed_pair() {
        for seed in 0..=255u8 {
            let left = [seed; HASH_SIZE];
            let mut right = [seed.wrapping_mul(31); HASH_SIZE];
            right[HASH_SIZE - 1] = seed ^ 0x5a;
            let mut message = vec![NODE_PREFIX];
            message.extend_from_slice(&left);
            message.extend_from_slice(&right);
            let want: Hash = Sha256::digest(&message).into();
            assert_eq!(node_hash(&left, &right), want, "seed {seed}");
        }
    }

    #[test]
    fn many_at_once_match_one_at_a_time() {
        // Lengths around every block and padding boundary, and more entries than a pass holds.
        let entries: Vec<Vec<u8>> = (0..300usize)
            .map(|n| (0..n).map(|i| (i * 7 + n) as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let mut leaves = vec![Hash::default(); refs.len()];
        leaf_hashes(&refs, &mut leaves);
        for (entry, leaf) in entries.iter().zip(&leaves) {
            assert_eq!(*leaf, leaf_hash(entry), "entry of {} bytes", entry.len());
        }
        let mut parents = vec![Hash::default(); leaves.len() / 2];
        node_hashes(&leaves, &mut parents);
        for (pair, parent) in leaves.chunks_exact(2).zip(&parents) {
            assert_eq!(*parent, node_hash(&pair[0], &pair[1]));
        }
    }

    #[test]
    fn decode_refuses_wrong_length() {
        assert_eq!(
            hash_from_base64("V3JvbmdMZWFm"),
            Err(HashDecodeError::Length(9))
        );
        assert_eq!(hash_from_base64("!!"), Err(HashDecodeError::Base64));
    }
}
