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

impl Known {
    /// Words it takes in an entity's state.
    pub(crate) const WORDS: usize = KNOWN + 1;

    /// Reads it back from [`Known::store`]'s words.
    pub(crate) fn load(w: &[u32]) -> Known {
        let mut hashes = [0; KNOWN];
        hashes.copy_from_slice(&w[..KNOWN]);
        let [len, next, ..] = w[KNOWN].to_le_bytes();
        Known { hashes, len, next }
    }

    /// Writes it into `WORDS` words.
    pub(crate) fn store(&self, w: &mut [u32]) {
        w[..KNOWN].copy_from_slice(&self.hashes);
        w[KNOWN] = u32::from_le_bytes([self.len, self.next, 0, 0]);
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

    #[test]
    fn stored_words_read_back_the_same_set() {
        let mut k = Known::default();
        for v in 1..=11u64 {
            k.insert(v << 40 | v);
        }
        let mut w = [0u32; Known::WORDS];
        k.store(&mut w);
        let mut back = Known::load(&w);
        for v in 4..=11u64 {
            assert!(!back.insert(v << 40 | v), "{v} is remembered");
        }
        assert!(back.insert(1), "the oldest were forgotten, and stay so");
    }
}
