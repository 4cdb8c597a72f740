//! Runs the engine over generated benign traffic in a loop; a target for profilers
//! (`valgrind --tool=callgrind`, `perf record`) when tuning rules or matchers.

#[path = "../tests/support/mod.rs"]
mod support;

use ensuresec_webattack::{Engine, EngineConfig};
use support::benign::{Rng, request};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let pl: u8 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2);
    let engine = Engine::embedded(EngineConfig::at_paranoia(pl)).expect("rules compile");
    let mut rng = Rng::new(1);
    let reqs: Vec<_> = (0..n).map(|_| request(&mut rng)).collect();
    let start = std::time::Instant::now();
    let total: u32 = reqs.iter().map(|r| engine.inspect(r).score).sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} rules in {} groups; {n} requests in {secs:.3}s = {:.0} req/s; total score {total}",
        engine.rules().len(),
        engine.groups(),
        n as f64 / secs
    );
}
