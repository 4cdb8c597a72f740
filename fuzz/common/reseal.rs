//! The state files' checksum, written out again here from its definition (FNV-1a, 64 bits, of
//! every byte but the last eight), so that a target can give the reader an input whose
//! checksum is right and its mutations reach the checks behind it.

/// `data` with its last eight bytes replaced by the checksum of the rest; `None` when it is
/// shorter than a checksum.
pub fn resealed(data: &[u8]) -> Option<Vec<u8>> {
    let body = data.len().checked_sub(8)?;
    let sum = data[..body].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut fixed = data.to_vec();
    fixed[body..].copy_from_slice(&sum.to_le_bytes());
    Some(fixed)
}
