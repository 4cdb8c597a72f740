//! The values an entity is known to use (an account's devices), kept far longer than a rule's
//! window so that "never seen for this entity" can be told from "not seen this hour".
//!
//! A fixed set of the last [`KNOWN`] distinct value hashes (32 bits each, 36 bytes in all): an
//! account rarely uses more devices, and when it does the one used longest ago is forgotten first,
//! so a returning old device may count as new again (a false "new", never a missed one).

/// Values remembered per entity and measure.
pub(crate) const KNOWN: usize = 8;

/// The remembered value hashes, most recently added last in ring order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known {
    hashes: [u32; KNOWN],
    len: u8,
    next: u8,
}

impl Known {
    /// Remembers a value; returns whether it was new.
    #[inline]
    pub(crate) fn insert(&mut self, hash: u64) -> bool {
        let h = hash as u32;
        if self.hashes[..usize::from(self.len)].contains(&h) {
            return false;
        }
        self.hashes[usize::from(self.next)] = h;
        self.next = ((usize::from(self.next) + 1) % KNOWN) as u8;
        self.len = (usize::from(self.len) + 1).min(KNOWN) as u8;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_new_once_and_the_oldest_is_forgotten_first() {
        let mut k = Known::default();
        assert!(k.insert(1));
        assert!(!k.insert(1));
        for v in 2..=KNOWN as u64 {
            assert!(k.insert(v));
        }
        assert!(!k.insert(1), "eight values fit");
        assert!(k.insert(100), "a ninth is new");
        assert!(k.insert(1), "and pushed out the first");
        assert!(!k.insert(100));
    }
}
