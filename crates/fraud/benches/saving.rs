//! A write of the feature state while payments are scored, as `serve` makes one every
//! `save_state_secs`: how long a score waits during it. Run with `serve`'s allocator, since
//! where in a write that builds and frees a second state the scoring thread was slowed
//! depended on it (bench/RESULTS.md, "A write of the state while scoring").
#![allow(missing_docs)] // criterion_main! generates undocumented items

use ensuresec_fraud::journal::Kept as _;
use ensuresec_fraud::{FraudService, PaymentRequest, ServiceConfig};

#[path = "common/card_payment.rs"]
mod card_payment;
use card_payment::card_payment;

/// `serve`'s allocator (`crates/ensuresec/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Event time of the first payment.
const START: i64 = 1_770_000_000;

/// A write of the feature state of ten million cards while 2,000 payments a second are scored
/// on another thread and the journal is flushed every 50 ms, as `serve` does: copied under the
/// scorer's lock (without the journal, and with it under `save_by_copy`) against made from the
/// last state file and the journal. The figures are the longest single score during the write
/// counted from when it was due, when it came, the scores over 1 ms, how long the write took,
/// and the same scoring for five seconds just before without a write; for the write from the
/// journal also the same scoring while another process only keeps the other core busy, and
/// while `serve`'s steps forgetting expired entities come at their pace; and the CPU time the
/// host took from the machine (a virtual one) meanwhile.
fn save_while_scoring() {
    use std::time::{Duration, Instant};
    let cards: usize = 10_000_000;
    let mut r = card_payment();
    // Without the journal (so by copy), with it but by copy (`save_by_copy`), and from it.
    for (journal, by_copy) in [(false, true), (true, true), (true, false)] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let service = FraudService::open(&ServiceConfig {
            state_file: Some(dir.path().join("fraud-state.bin")),
            journal,
            save_by_copy: by_copy,
            ..ServiceConfig::default()
        })
        .expect("open");
        let mut n = 0usize;
        let mut next = |r: &mut PaymentRequest, card: usize| {
            r.card.fingerprint = format!("card{card}");
            r.payment_id = format!("p{n}");
            r.time = chrono::DateTime::from_timestamp(START + (n / 100) as i64, 0).expect("time");
            n += 1;
        };
        for card in 0..cards {
            next(&mut r, card);
            service.score(&r).expect("score");
            if card % 100_000 == 99_999 {
                service.flush_journal().expect("flush");
            }
        }
        // The first write; then what comes before the next one.
        service.save().expect("first save");
        for i in 0..1_000_000 {
            next(&mut r, i * 7 % cards);
            service.score(&r).expect("score");
            if i % 100_000 == 99_999 {
                service.flush_journal().expect("flush");
            }
        }
        let quiet = score_during(&service, &mut r, &mut next, cards, || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                std::thread::park_timeout(Duration::from_secs(5) - started.elapsed());
            }
        });
        // For the write from the journal: the same scoring while another process only keeps
        // the other core busy, to tell what the write costs from what any work beside it does.
        let busy = (!by_copy).then(|| {
            let stolen = Stolen::start();
            let window = score_during(&service, &mut r, &mut next, cards, keep_the_other_core_busy);
            (window, stolen.ms())
        });
        let stolen = Stolen::start();
        let saving = score_during(&service, &mut r, &mut next, cards, || {
            service.save().expect("save");
        });
        let stolen_saving = stolen.ms();
        let status = service.status();
        assert_eq!(
            status.saves_from_journal,
            if by_copy { 0 } else { 2 },
            "the write the bench means"
        );
        println!(
            "state of {} entities written {} in {:.2} s while {} payments were scored at 2,000/s: longest single score from when it was due {:.1} ms ({:.2} s into the write), {} over 1 ms, CPU time the host took from this machine during it {stolen_saving} ms; for 5 s before without a write, {} payments: longest {:.1} ms, {} over 1 ms",
            status.entities,
            match (journal, by_copy) {
                (true, false) => "from the last file and the journal",
                (true, true) => "from a copy under the lock, journaled",
                (false, _) => "from a copy under the lock",
            },
            saving.took.as_secs_f64(),
            saving.scored,
            saving.longest.as_secs_f64() * 1e3,
            saving.longest_at.as_secs_f64(),
            saving.over_1ms,
            quiet.scored,
            quiet.longest.as_secs_f64() * 1e3,
            quiet.over_1ms,
        );
        if !by_copy {
            sweep_while_scoring(&service, &mut r, &mut next, cards, quiet.over_1ms);
        }
        if let Some((busy, stolen_busy)) = busy {
            println!(
                "  beside it, for {:.1} s without a write while another process kept the other core busy, {} payments: longest {:.1} ms, {} over 1 ms, CPU time the host took {stolen_busy} ms",
                busy.took.as_secs_f64(),
                busy.scored,
                busy.longest.as_secs_f64() * 1e3,
                busy.over_1ms,
            );
        }
    }
}

/// Sixteen steps of `serve`'s pass forgetting expired entities, at its default pace (a pass of
/// 300 s over the 1,536 shards of ten million entities: a step every 195 ms), while 2,000
/// payments a second are scored: what the steps' pauses do to the scores' tail. `quiet_over_1ms`
/// is the count over 1 ms of the five seconds before, for comparison.
fn sweep_while_scoring(
    service: &FraudService,
    r: &mut PaymentRequest,
    next: &mut (dyn FnMut(&mut PaymentRequest, usize) + Send),
    cards: usize,
    quiet_over_1ms: usize,
) {
    use std::time::{Duration, Instant};
    let every = Duration::from_secs(300) / service.sweep_steps() as u32;
    let mut longest_step = Duration::ZERO;
    let window = score_during(service, r, next, cards, || {
        let mut due = Instant::now();
        for _ in 0..16 {
            due += every;
            while Instant::now() < due {
                std::thread::park_timeout(due - Instant::now());
            }
            let step = Instant::now();
            service.sweep_step();
            longest_step = longest_step.max(step.elapsed());
        }
    });
    println!(
        "  sixteen sweep steps, one every {:.0} ms, while {} payments were scored at 2,000/s: longest step {:.2} ms; longest single score from when it was due {:.1} ms, {} over 1 ms ({:.2} % of them; {quiet_over_1ms} in the 5 s before without steps)",
        every.as_secs_f64() * 1e3,
        window.scored,
        longest_step.as_secs_f64() * 1e3,
        window.longest.as_secs_f64() * 1e3,
        window.over_1ms,
        window.over_1ms as f64 * 100.0 / window.scored as f64,
    );
}

/// Runs a shell loop that does nothing but use a core, for four seconds: work that shares no
/// memory, lock, file or allocator with the scorer.
fn keep_the_other_core_busy() {
    let status = std::process::Command::new("timeout")
        .args(["4", "sh", "-c", "while :; do :; done"])
        .status()
        .expect("timeout and sh");
    // `timeout` ends the loop: its status says so (124).
    assert_eq!(
        status.code(),
        Some(124),
        "the busy loop ran its four seconds"
    );
}

/// CPU time the host took from this virtual machine since [`Stolen::start`] (the `steal`
/// column of `/proc/stat`, all cores; 0 where there is none).
struct Stolen(u64);

impl Stolen {
    fn start() -> Stolen {
        Stolen(steal_ticks())
    }

    fn ms(&self) -> u64 {
        // Ticks of 1/100 s (USER_HZ).
        steal_ticks().saturating_sub(self.0) * 10
    }
}

fn steal_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or_default();
    // cpu user nice system idle iowait irq softirq steal ...
    cpu.split_whitespace()
        .nth(8)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// What scoring on one thread saw while something else ran.
struct Window {
    /// How long the other work took.
    took: std::time::Duration,
    /// The longest single score, and when it started after the work did.
    longest: std::time::Duration,
    longest_at: std::time::Duration,
    over_1ms: usize,
    scored: usize,
}

/// One payment due every half millisecond: 2,000 a second, the rate of the HTTP benchmark.
const PACE: std::time::Duration = std::time::Duration::from_micros(500);

/// Scores payments of `cards` cards (each made by `next`), one due every [`PACE`], on one
/// thread, with the journal flushed every 50 ms on another, as `serve` does, while `work`
/// runs on this one. Each score's time is counted from when it was due.
fn score_during(
    service: &FraudService,
    r: &mut PaymentRequest,
    next: &mut (dyn FnMut(&mut PaymentRequest, usize) + Send),
    cards: usize,
    work: impl FnOnce(),
) -> Window {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                service.flush_journal().expect("flush");
                std::thread::park_timeout(Duration::from_millis(50));
            }
        });
        let scorer = scope.spawn(|| {
            let mut w = Window {
                took: Duration::ZERO,
                longest: Duration::ZERO,
                longest_at: Duration::ZERO,
                over_1ms: 0,
                scored: 0,
            };
            let mut due = Instant::now();
            while !done.load(Ordering::Relaxed) {
                due += PACE;
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
                next(r, w.scored * 13 % cards);
                service.score(r).expect("score");
                // From when it was due, as a client sees it: a score that waited for the
                // lock delays every one due meanwhile.
                let t = due.elapsed();
                if t > w.longest {
                    w.longest = t;
                    w.longest_at = due - started;
                }
                w.over_1ms += usize::from(t > Duration::from_millis(1));
                w.scored += 1;
            }
            w
        });
        work();
        let took = started.elapsed();
        done.store(true, Ordering::Relaxed);
        Window {
            took,
            ..scorer.join().expect("scorer")
        }
    })
}

fn main() {
    save_while_scoring();
}
