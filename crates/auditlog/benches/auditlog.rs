#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items
//! Benchmarks of the audit log: durable appends/s of 256-byte entries (with acknowledgement
//! latency percentiles), inclusion proof generation/s, and full offline verification speed
//! compared with raw SHA-256 throughput measured in the same run.
//!
//! The machine is shared, so besides wall-clock rates the proof and verification figures are also
//! given per CPU-second actually received (Linux `/proc` accounting): what one core achieves when
//! nothing else runs on it.
//!
//! `AUDITLOG_BENCH_ENTRIES` sets the size of the log that is proven and verified (default
//! 1,000,000; the target is 10,000,000). `AUDITLOG_BENCH_DIR` sets where logs are written.

use std::collections::VecDeque;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ensuresec_auditlog::note::{Ed25519Signer, VerifierSet};
use ensuresec_auditlog::verify_dir::{VerifyOptions, verify_log_dir};
use ensuresec_auditlog::{Log, LogConfig};
use sha2::{Digest, Sha256};

const ENTRY_BYTES: usize = 256;
const PRODUCERS: usize = 2;
/// Appends each producer keeps in flight. By Little's law the acknowledgement latency is about
/// the appends in flight divided by the rate, so a client that queues without bound measures its
/// own queue; 1,024 per producer keeps batches large enough for the throughput target.
const WINDOW: usize = 1024;

fn bench_dir() -> PathBuf {
    std::env::var_os("AUDITLOG_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn entries_for_verify() -> u64 {
    std::env::var("AUDITLOG_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// CPU time the calling thread has received (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// CPU time the whole process has received, finished threads included (`/proc/self/stat`
/// utime + stime, in the kernel's 100 Hz ticks).
fn process_cpu() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let mut f = rest.split_whitespace().skip(11);
            let utime: u64 = f.next()?.parse().ok()?;
            let stime: u64 = f.next()?.parse().ok()?;
            Some(Duration::from_millis((utime + stime) * 10))
        })
        .unwrap_or(Duration::ZERO)
}

fn entry(thread: usize, seq: u64) -> Vec<u8> {
    let mut e = vec![0u8; ENTRY_BYTES];
    e[..8].copy_from_slice(&seq.to_be_bytes());
    e[8] = thread as u8;
    e
}

/// Appends `total` entries from `PRODUCERS` threads, each keeping `WINDOW` appends in flight;
/// returns the elapsed time and every acknowledgement latency.
fn durable_appends(log: &Log, total: u64) -> (Duration, Vec<Duration>) {
    let per = total / PRODUCERS as u64;
    let start = Instant::now();
    let latencies = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|t| {
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(per as usize);
                    let mut inflight = VecDeque::with_capacity(WINDOW);
                    for seq in 0..per {
                        inflight.push_back((
                            Instant::now(),
                            log.append(entry(t, seq)).expect("queued"),
                        ));
                        if inflight.len() == WINDOW {
                            let (t0, ack) = inflight.pop_front().expect("in flight");
                            ack.wait().expect("durable");
                            lat.push(t0.elapsed());
                        }
                    }
                    for (t0, ack) in inflight {
                        ack.wait().expect("durable");
                        lat.push(t0.elapsed());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("producer"))
            .collect::<Vec<_>>()
    });
    (start.elapsed(), latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn bench_appends(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
    let log = Log::open(dir.path(), LogConfig::default()).expect("opens");
    // One long run for the figures the issue asks for: appends/s and ack latency percentiles.
    let total = 1_000_000;
    let (elapsed, mut lat) = durable_appends(&log, total);
    lat.sort_unstable();
    eprintln!(
        "durable appends (256 B, {PRODUCERS} producers, {WINDOW} in flight each): {:.0}/s over {total}; ack latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3,
    );
    let mut g = c.benchmark_group("append");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    g.bench_function("durable_256B", |b| {
        b.iter_custom(|iters| {
            let n = iters.max(PRODUCERS as u64);
            let (elapsed, _) = durable_appends(&log, n);
            elapsed.mul_f64(iters as f64 / n as f64)
        });
    });
    g.finish();
    drop(log);
}

/// Builds (once) a log of `n` 256-byte entries with a checkpoint, for proofs and verification.
fn build_log(n: u64) -> (tempfile::TempDir, Ed25519Signer) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
    let signer = Ed25519Signer::from_seed("bench.example/log", &[1; 32]).expect("name");
    let log = Log::open(dir.path(), LogConfig::default()).expect("opens");
    let chunk = 16_384u64;
    let mut acks = VecDeque::new();
    let mut i = 0;
    while i < n {
        let batch: Vec<Vec<u8>> = (i..(i + chunk).min(n)).map(|s| entry(0, s)).collect();
        i += batch.len() as u64;
        acks.push_back(log.append_many(batch).expect("queued"));
        if acks.len() > 8 {
            acks.pop_front().expect("ack").wait().expect("durable");
        }
    }
    for a in acks {
        a.wait().expect("durable");
    }
    log.publish_checkpoint("bench.example/log", &signer)
        .expect("checkpoint");
    log.close().expect("closes");
    (dir, signer)
}

fn bench_proofs_and_verify(c: &mut Criterion) {
    let n = entries_for_verify();
    let t0 = Instant::now();
    let (dir, signer) = build_log(n);
    eprintln!(
        "built a {n}-entry log in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let log = Log::open(dir.path(), LogConfig::default()).expect("opens");
    let reader = log.reader();
    let mut g = c.benchmark_group("proof");
    g.throughput(Throughput::Elements(1));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    g.bench_function(BenchmarkId::new("inclusion", n), |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(reader.inclusion_proof(x % n, n).expect("proof"))
        });
    });
    g.bench_function(BenchmarkId::new("consistency", n), |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(reader.consistency_proof(1 + x % (n - 1), n).expect("proof"))
        });
    });
    g.finish();
    // The figure the issue asks for, measured in one go: wall-clock and per CPU-second.
    let (wall, cpu) = (Instant::now(), thread_cpu());
    let mut proofs = 0u64;
    while wall.elapsed() < Duration::from_secs(3) {
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(reader.inclusion_proof(x % n, n).expect("proof"));
        }
        proofs += 1000;
    }
    let (wall, cpu) = (wall.elapsed(), thread_cpu().saturating_sub(cpu));
    eprintln!(
        "inclusion proofs (log of {n}): {:.0}/s wall-clock, {:.0} per CPU-second (the thread was on a CPU {:.0} % of the time)",
        proofs as f64 / wall.as_secs_f64(),
        proofs as f64 / cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    drop(log);

    let data_bytes = n * ENTRY_BYTES as u64;
    let buf = vec![0x5au8; 1 << 20];
    let mut g = c.benchmark_group("sha256");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("raw_1MiB", |b| b.iter(|| black_box(Sha256::digest(&buf))));
    g.finish();

    let options = VerifyOptions::new(VerifierSet::new(vec![Arc::new(signer.verifier())]));
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data_bytes));
    g.bench_function(BenchmarkId::new("log_dir", n), |b| {
        b.iter(|| black_box(verify_log_dir(dir.path(), &options).expect("verifies")));
    });
    g.finish();

    // The comparison the issue asks for, measured here in one go.
    let (t, cpu) = (Instant::now(), thread_cpu());
    let mut hashed = 0u64;
    while t.elapsed() < Duration::from_secs(2) {
        black_box(Sha256::digest(&buf));
        hashed += buf.len() as u64;
    }
    let sha_rate = hashed as f64 / t.elapsed().as_secs_f64();
    let sha_cpu_rate = hashed as f64 / thread_cpu().saturating_sub(cpu).as_secs_f64();
    // The verifier uses every core, so it is also compared with SHA-256 running on every core.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let t_all = Instant::now();
    let hashed_all: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let mut hashed = 0u64;
                    while t_all.elapsed() < Duration::from_secs(2) {
                        black_box(Sha256::digest(&buf));
                        hashed += buf.len() as u64;
                    }
                    hashed
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("hasher")).sum()
    });
    let sha_all_rate = hashed_all as f64 / t_all.elapsed().as_secs_f64();
    let (t, cpu) = (Instant::now(), process_cpu());
    let report = verify_log_dir(dir.path(), &options).expect("verifies");
    let verify_rate = data_bytes as f64 / t.elapsed().as_secs_f64();
    let verify_cpu_rate = data_bytes as f64 / process_cpu().saturating_sub(cpu).as_secs_f64();
    eprintln!(
        "multi-buffer SHA-256 of the verifier: {}",
        ensuresec_auditlog::hash::batch_backend()
    );
    eprintln!(
        "full verification of {} entries ({} MiB): {:.0} MiB/s, raw SHA-256 one core {:.0} MiB/s: {:.0} %",
        report.entries,
        data_bytes >> 20,
        verify_rate / 1048576.0,
        sha_rate / 1048576.0,
        100.0 * verify_rate / sha_rate
    );
    eprintln!(
        "against SHA-256 on all {cores} cores ({:.0} MiB/s): {:.0} %",
        sha_all_rate / 1048576.0,
        100.0 * verify_rate / sha_all_rate
    );
    eprintln!(
        "per CPU-second: verification {:.0} MiB, raw SHA-256 {:.0} MiB: {:.0} %",
        verify_cpu_rate / 1048576.0,
        sha_cpu_rate / 1048576.0,
        100.0 * verify_cpu_rate / sha_cpu_rate
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = bench_appends, bench_proofs_and_verify
}
criterion_main!(benches);
