//! HyperLogLog (Flajolet et al., 2007): counts distinct values in a fixed 1 KiB, with a standard
//! error of about 3.3 %. Used when an entity's distinct values outgrow the exact list (scanners
//! touching thousands of ports or paths).

/// Register-index bits.
pub const PRECISION: u32 = 10;
/// Registers per sketch.
pub const REGISTERS: usize = 1 << PRECISION;

/// One sketch.
#[derive(Clone, PartialEq, Eq)]
pub struct HyperLogLog {
    registers: [u8; REGISTERS],
}

impl Default for HyperLogLog {
    fn default() -> Self {
        HyperLogLog {
            registers: [0; REGISTERS],
        }
    }
}

impl std::fmt::Debug for HyperLogLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HyperLogLog(~{:.0})", self.estimate())
    }
}

impl HyperLogLog {
    /// Adds a value by its 64-bit hash (which must be well mixed).
    #[inline]
    pub fn insert(&mut self, hash: u64) {
        let index = (hash >> (64 - PRECISION)) as usize;
        let rest = hash << PRECISION;
        let rank = (rest.leading_zeros() + 1).min(64 - PRECISION + 1) as u8;
        let r = &mut self.registers[index];
        if rank > *r {
            *r = rank;
        }
    }

    /// Takes the register-wise maximum with another sketch: the sketch of the union.
    pub fn merge(&mut self, other: &HyperLogLog) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.registers = [0; REGISTERS];
    }

    /// The estimated number of distinct values, with the small-range (linear counting) correction.
    pub fn estimate(&self) -> f64 {
        estimate(self.registers.iter().copied())
    }
}

/// The estimate from register values (shared with the union of several sketches).
pub(crate) fn estimate(registers: impl Iterator<Item = u8>) -> f64 {
    let m = REGISTERS as f64;
    let mut sum = 0.0;
    let mut zeros = 0u32;
    for r in registers {
        // 2^-r, built from its exponent bits (r is at most 55).
        sum += f64::from_bits((1023 - u64::from(r)) << 52);
        if r == 0 {
            zeros += 1;
        }
    }
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let raw = alpha * m * m / sum;
    if raw <= 2.5 * m && zeros > 0 {
        m * (m / f64::from(zeros)).ln()
    } else {
        raw
    }
}

/// A HyperLogLog over a sliding window: four generations of two ring slots each. The union of
/// the generations still in the ring covers between 6/8 and 8/8 of the ring's span (see
/// `ring.rs`), so in sketch mode the window is approximated to within a quarter.
#[derive(Debug, Clone, Default)]
pub struct SlidingHll {
    epochs: [i64; GENERATIONS],
    sketches: [HyperLogLog; GENERATIONS],
}

const GENERATIONS: usize = 4;
const SLOTS_PER_GENERATION: i64 = 2;

impl SlidingHll {
    /// An empty sliding sketch.
    pub fn new() -> Self {
        SlidingHll {
            epochs: [i64::MIN; GENERATIONS],
            sketches: Default::default(),
        }
    }

    /// Adds a value seen in ring slot `slot`, the newest slot being `newest`.
    pub fn insert(&mut self, hash: u64, slot: i64, newest: i64) {
        let epoch = slot.div_euclid(SLOTS_PER_GENERATION);
        let newest_epoch = newest.div_euclid(SLOTS_PER_GENERATION);
        if newest_epoch - epoch >= GENERATIONS as i64 {
            return;
        }
        let i = epoch.rem_euclid(GENERATIONS as i64) as usize;
        if self.epochs[i] != epoch {
            self.epochs[i] = epoch;
            self.sketches[i].clear();
        }
        self.sketches[i].insert(hash);
    }

    /// Estimated distinct values in the generations still inside the ring.
    pub fn estimate(&self, newest: i64) -> f64 {
        let newest_epoch = newest.div_euclid(SLOTS_PER_GENERATION);
        let live: [bool; GENERATIONS] = std::array::from_fn(|i| {
            let e = self.epochs[i];
            e != i64::MIN && e <= newest_epoch && newest_epoch - e < GENERATIONS as i64
        });
        if !live.contains(&true) {
            return 0.0;
        }
        estimate((0..REGISTERS).map(|r| {
            (0..GENERATIONS)
                .filter(|g| live[*g])
                .map(|g| self.sketches[g].registers[r])
                .max()
                .unwrap_or(0)
        }))
    }

    /// Bytes it holds, for the memory ceiling.
    pub const BYTES: usize = std::mem::size_of::<SlidingHll>();
}
