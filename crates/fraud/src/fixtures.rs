//! The number stream the tests and benchmarks of the fraud module draw their made-up payments
//! and training rows from (`ensuresec-fraud = { features = ["fixtures"] }` as a
//! dev-dependency): the same rows on every machine, without a dependency.

/// Numbers spread evenly over [0, 1), from a linear congruential generator with Knuth's MMIX
/// constants. Predictable by design: never for keys, salts or anything an attacker must not
/// guess.
#[derive(Debug, Clone)]
pub struct Uniform(u64);

impl Uniform {
    /// A stream starting from `seed`; the same seed gives the same numbers.
    pub fn new(seed: u64) -> Uniform {
        Uniform(seed)
    }

    /// The next number, in [0, 1).
    pub fn draw(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::Uniform;

    #[test]
    fn the_same_seed_gives_the_same_numbers_all_in_the_unit_interval() {
        let (mut a, mut b, mut other) = (Uniform::new(7), Uniform::new(7), Uniform::new(8));
        let drawn: Vec<f64> = (0..10_000).map(|_| a.draw()).collect();
        assert!(drawn.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(drawn.iter().all(|x| *x == b.draw()));
        assert_ne!(drawn[..4], [0, 1, 2, 3].map(|_| other.draw()));
        let mean = drawn.iter().sum::<f64>() / drawn.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }
}
