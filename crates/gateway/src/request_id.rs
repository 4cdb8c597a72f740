//! Request ids: unique per process run (a random prefix and a counter), short enough to read
//! out over the phone, and cheap.

use std::sync::atomic::{AtomicU64, Ordering};

/// The id source.
#[derive(Debug)]
pub struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let mut seed = [0u8; 4];
        // Without randomness, ids still differ within a run; the prefix only separates runs.
        let _ = getrandom::fill(&mut seed);
        RequestIds {
            prefix: u32::from_le_bytes(seed),
            next: AtomicU64::new(1),
        }
    }
}

impl RequestIds {
    /// A new id, 20 hex digits.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}{:012x}", self.prefix, n & 0xffff_ffff_ffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ() {
        let ids = RequestIds::default();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
    }
}
