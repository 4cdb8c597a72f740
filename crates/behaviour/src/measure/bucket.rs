//! A leaky bucket: the level rises by each event's weight and drains at a constant rate, so it
//! measures a sustained rate with a tolerated burst, in O(1) state.

/// A bucket's level and when it was last updated.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bucket {
    /// Current level.
    pub level: f64,
    /// Event time of the last update, in ms.
    pub last_ms: i64,
}

impl Bucket {
    /// Drains for the time since the last update (never backwards), then pours `weight` in.
    #[inline]
    pub(crate) fn pour(&mut self, time_ms: i64, weight: f64, leak_per_second: f64) -> f64 {
        if time_ms > self.last_ms {
            let drained = leak_per_second * (time_ms - self.last_ms) as f64 / 1000.0;
            self.level = (self.level - drained).max(0.0);
            self.last_ms = time_ms;
        }
        self.level += weight.max(0.0);
        self.level
    }
}

impl Bucket {
    /// Words it takes in an entity's state.
    pub(crate) const WORDS: usize = 4;

    /// Reads it back from [`Bucket::store`]'s words.
    pub(crate) fn load(w: &[u32]) -> Bucket {
        Bucket {
            level: f64::from_bits(crate::state::get_u64(w, 0)),
            last_ms: crate::state::get_u64(w, 2) as i64,
        }
    }

    /// Writes it into `WORDS` words.
    pub(crate) fn store(&self, w: &mut [u32]) {
        crate::state::set_u64(w, 0, self.level.to_bits());
        crate::state::set_u64(w, 2, self.last_ms as u64);
    }
}
