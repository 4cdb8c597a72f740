//! Throughput of the engine at paranoia levels 1 and 2 on a mix of benign shop requests and CRS
//! regression attacks, and of the access-log parsers (`bench/webattack.sh` prints the figures).

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_main};
use ensuresec_webattack::logs::{LogFormat, parse_all};
use ensuresec_webattack::{Engine, EngineConfig, InspectRequest};
use support::benign::{Rng, request};

fn workload() -> Vec<InspectRequest> {
    let mut rng = Rng::new(42);
    let mut reqs: Vec<InspectRequest> = (0..2_000).map(|_| request(&mut rng)).collect();
    // One attack in ten, from CRS's regression tests when they are present.
    if let Some(root) = support::corpus("crs-regression/v3.3.4") {
        let attacks: Vec<_> = support::ftw::load(&root)
            .into_iter()
            .filter(|c| c.must_fire)
            .map(|c| c.request)
            .collect();
        for (i, a) in attacks.into_iter().step_by(10).take(200).enumerate() {
            reqs.insert(i * 10, a);
        }
    }
    reqs
}

fn combined_log(lines: usize) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    for i in 0..lines {
        let r = request(&mut rng);
        out.extend_from_slice(
            format!(
                "198.51.100.{} - - [10/Oct/2024:13:55:{:02} +0000] \"{} {} {}\" 200 {} \"{}\" \"{}\"\n",
                i % 250,
                i % 60,
                r.method,
                r.uri,
                r.http_version,
                1000 + i,
                r.header("referer").unwrap_or("-"),
                r.header("user-agent").unwrap_or("-")
            )
            .as_bytes(),
        );
    }
    out
}

fn bench(c: &mut Criterion) {
    let reqs = workload();
    let mut g = c.benchmark_group("inspect");
    g.throughput(Throughput::Elements(reqs.len() as u64));
    g.sample_size(10);
    for pl in [1u8, 2] {
        let engine = Engine::embedded(EngineConfig::at_paranoia(pl)).expect("rules compile");
        g.bench_function(format!("pl{pl}"), |b| {
            b.iter(|| reqs.iter().map(|r| engine.inspect(r).score).sum::<u32>());
        });
    }
    g.finish();

    let log = combined_log(20_000);
    let mut g = c.benchmark_group("logs");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(10);
    g.bench_function("combined", |b| {
        b.iter(|| {
            parse_all(LogFormat::Combined, &log)
                .filter(Result::is_ok)
                .count()
        })
    });
    g.finish();
}

// The macro generates an undocumented function; nothing here is public API.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
