//! In-process scoring throughput on one core (rules only, and rules plus a trained model over
//! the online features), and the memory the feature state takes per card.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ensuresec_fraud::dataset::{Columns, Dataset};
use ensuresec_fraud::{
    FraudService, PaymentRequest, RuleSet, Scorer, ServiceConfig, StateLimits, TrainOptions, train,
};

use ensuresec_fraud::journal::{Journaled as _, Kept as _};

#[path = "common/training_rows.rs"]
mod training_rows;

/// Event time of the first timed request.
const START: i64 = 1_770_000_000;

/// Requests over `cards` cards and a tenth as many devices, one second apart.
fn requests(n: usize, cards: usize) -> Vec<PaymentRequest> {
    requests_from(START, n, cards)
}

/// [`requests`] from event time `start`.
fn requests_from(start: i64, n: usize, cards: usize) -> Vec<PaymentRequest> {
    (0..n)
        .map(|i| {
            let time = chrono::DateTime::from_timestamp(start + i as i64, 0).expect("time");
            let json = serde_json::json!({
                "payment_id": format!("p{start}-{i}"),
                "time": time.to_rfc3339(),
                "amount": {"minor": 1_000 + (i % 50_000) as i64, "currency": "EUR"},
                "merchant": "shop",
                "card": {"fingerprint": format!("card{}", i % cards), "bin": "424242", "country": "DE"},
                "billing": {"country": "DE", "hash": format!("b{}", i % cards),
                    "location": {"lat": 52.52, "lon": 13.405}},
                "shipping": {"country": if i % 7 == 0 { "FR" } else { "DE" }, "hash": format!("s{}", i % cards),
                    "location": {"lat": if i % 7 == 0 { 48.857 } else { 52.52 }, "lon": 2.352}},
                "ip": format!("198.18.{}.{}", (i / 250) % 250, i % 250),
                "ip_country": "DE",
                "device": format!("dev{}", i % (cards / 10 + 1)),
                "email_hash": format!("e{}", i % cards),
                "account": {"id": format!("a{}", i % cards), "age_days": (i % 900) as u32},
            });
            PaymentRequest::from_json(json.to_string().as_bytes()).expect("valid")
        })
        .collect()
}

/// A model over online features, trained on the generated rows.
fn model() -> ensuresec_fraud::Model {
    let csv = training_rows::csv();
    let columns = Columns {
        label: "label".into(),
        time: Some("time".into()),
    };
    let data = Dataset::read_csv("bench.csv", csv.as_bytes(), &columns).expect("csv");
    train(
        &data,
        &TrainOptions {
            threads: Some(1),
            ..TrainOptions::default()
        },
    )
    .expect("train")
}

/// Times scoring every request of `reqs` with a scorer from `make`, made afresh for each
/// iteration (not timed). With `warm`, the scorer first scores those (not timed either): the
/// steady state of a running server, whose tables hold these entities already. Without, the
/// timed pass also pays for the kernel handing the fresh tables their pages, once per entity
/// page, which a server pays once after it starts.
fn time_scoring(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    reqs: &[PaymentRequest],
    warm: Option<&[PaymentRequest]>,
    make: impl Fn() -> Scorer,
) {
    group.bench_function(name, |b| {
        b.iter_batched(
            || {
                let mut s = make();
                for r in warm.unwrap_or_default() {
                    s.score(r).expect("score");
                }
                s
            },
            |mut s| {
                for r in reqs {
                    std::hint::black_box(s.score(r).expect("score"));
                }
            },
            BatchSize::PerIteration,
        );
    });
}

fn bench(c: &mut Criterion) {
    let reqs = requests(100_000, 20_000);
    // The same cards, devices and addresses two days before (the timed requests span 28 hours).
    let day_before = requests_from(START - 2 * 86_400, 100_000, 20_000);
    let mut group = c.benchmark_group("fraud");
    group.throughput(Throughput::Elements(reqs.len() as u64));
    group.sample_size(10);
    let rules_only = || Scorer::new(RuleSet::builtin().expect("rules"), StateLimits::default());
    time_scoring(
        &mut group,
        "score_rules_only",
        &reqs,
        Some(&day_before),
        rules_only,
    );
    time_scoring(
        &mut group,
        "score_rules_only_cold_tables",
        &reqs,
        None,
        rules_only,
    );
    let model = model();
    println!(
        "model: {} trees, {} nodes; {:?}",
        model.trees.trees.len(),
        model.trees.nodes(),
        model.training
    );
    let json = model.to_json().expect("json");
    let with_model = || {
        let mut s = rules_only();
        s.set_model(
            "bench",
            ensuresec_fraud::Model::from_json("bench", &json).expect("model"),
        )
        .expect("online features");
        s
    };
    time_scoring(
        &mut group,
        "score_with_model",
        &reqs,
        Some(&day_before),
        with_model,
    );
    time_scoring(
        &mut group,
        "score_with_model_cold_tables",
        &reqs,
        None,
        with_model,
    );
    // With exchange rates for the thirty currencies of a central bank's daily list: each
    // amount is looked up and converted.
    let rates = std::sync::Arc::new(
        ensuresec_fraud::rates::ExchangeRates::from_yaml(
            "rates.yaml",
            "reference: EUR\nrates: {USD: 0.95, JPY: 0.0062, BGN: 0.51, CZK: 0.040, DKK: 0.134, \
             GBP: 1.17, HUF: 0.0025, PLN: 0.23, RON: 0.20, SEK: 0.087, CHF: 1.07, ISK: 0.0068, \
             NOK: 0.085, TRY: 0.027, AUD: 0.61, BRL: 0.17, CAD: 0.68, CNY: 0.13, HKD: 0.12, \
             IDR: 0.000058, ILS: 0.25, INR: 0.011, KRW: 0.00066, MXN: 0.047, MYR: 0.21, \
             NZD: 0.55, PHP: 0.016, SGD: 0.71, THB: 0.027, ZAR: 0.052}\n",
        )
        .expect("rates"),
    );
    time_scoring(
        &mut group,
        "score_with_model_and_exchange_rates",
        &reqs,
        Some(&day_before),
        || {
            let mut s = with_model();
            s.set_exchange_rates(Some(rates.clone()));
            s
        },
    );
    // With the journal: each score also keeps its record for the journal writer (which runs
    // on another thread in `serve`, outside the scorer's lock, and is not timed here).
    time_scoring(
        &mut group,
        "score_with_model_journaled",
        &reqs,
        Some(&day_before),
        || {
            let mut s = with_model();
            s.state_mut().start_journal();
            s
        },
    );
    // The model alone on as many rows, one at a time, with explanations (what scoring does).
    let loaded = ensuresec_fraud::Model::from_json("bench", &json).expect("model");
    let cols = loaded.features.len();
    let rows: Vec<Vec<f64>> = (0..reqs.len())
        .map(|i| (0..cols).map(|c| ((i * 31 + c * 17) % 97) as f64).collect())
        .collect();
    group.bench_function("model_explain_compiled", |b| {
        b.iter(|| {
            for row in &rows {
                std::hint::black_box(loaded.predict(row));
            }
        });
    });
    group.bench_function("score_shared_service", |b| {
        b.iter_batched(
            || {
                let service = FraudService::open(&ServiceConfig::default()).expect("service");
                for r in &day_before {
                    service.score(r).expect("score");
                }
                service
            },
            |service| {
                for r in &reqs {
                    std::hint::black_box(service.score(r).expect("score"));
                }
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    // Memory: one million cards, each with its own device, e-mail, account and addresses.
    let mut s = Scorer::new(RuleSet::builtin().expect("rules"), StateLimits::default());
    let cards = 1_000_000;
    for r in requests(cards, cards) {
        s.score(&r).expect("score");
    }
    let entities = s.state().len();
    println!(
        "feature state, 1M cards with their own device, e-mail, account and addresses: {entities} entities, {} heap bytes, {:.1} bytes per entity (state {} bytes)",
        s.state().heap_bytes(),
        s.state().heap_bytes() as f64 / entities as f64,
        ensuresec_fraud::features::ENTITY_BYTES
    );
    drop(s);
    ten_million_cards();
    feature_journal();
    ring_file();
    ring_merges();
}

/// Resident memory of this process, from the kernel (bytes).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A request whose only entities are its card and its IP address (no device, e-mail, account
/// or addresses): the state it makes is the card's and the IP address's.
fn card_only_request() -> PaymentRequest {
    let template = requests(1, 1).remove(0);
    let mut r = PaymentRequest {
        device: None,
        email_hash: None,
        account: None,
        shipping: None,
        ..template
    };
    r.billing.hash = None;
    r
}

/// Ten million cards (card state only), then ten million more with the ceiling at ten million:
/// the bytes per card, measured by the tables' size and by the process's resident memory, and
/// the ceiling holding.
fn ten_million_cards() {
    let mut r = card_only_request();
    r.ip = None;
    let cards: usize = 10_000_000;
    let before = rss();
    let mut s = Scorer::new(RuleSet::builtin().expect("rules"), StateLimits::default());
    let started = std::time::Instant::now();
    // The longest single score while the tables grow (the first ten million) and while the
    // ceiling evicts (the next ten million), and how many took over a millisecond.
    let mut longest = [std::time::Duration::ZERO; 2];
    let mut over_1ms = [0usize; 2];
    for i in 0..2 * cards {
        r.card.fingerprint = format!("card{i}");
        r.payment_id = format!("p{i}");
        r.time = chrono::DateTime::from_timestamp(START + (i / 100) as i64, 0).expect("time");
        let call = std::time::Instant::now();
        s.score(&r).expect("score");
        let took = call.elapsed();
        let phase = usize::from(i >= cards);
        longest[phase] = longest[phase].max(took);
        over_1ms[phase] += usize::from(took > std::time::Duration::from_millis(1));
        if i + 1 == cards {
            let entities = s.state().len();
            let grew = rss().saturating_sub(before);
            println!(
                "feature state, 10M cards: {entities} entities, tables {} bytes ({:.1} per card), process resident memory grew {grew} bytes ({:.1} per card), {:.1} s",
                s.state().heap_bytes(),
                s.state().heap_bytes() as f64 / entities as f64,
                grew as f64 / entities as f64,
                started.elapsed().as_secs_f64()
            );
        }
    }
    for (phase, what) in ["growing to 10M cards", "evicting at the 10M ceiling"]
        .iter()
        .enumerate()
    {
        println!(
            "longest single score while {what}: {:.1} ms; {} scores over 1 ms",
            longest[phase].as_secs_f64() * 1e3,
            over_1ms[phase]
        );
    }
    let stats = s.state().stats();
    println!(
        "after 20M distinct cards with a ceiling of 10M: {} entities held, {} evicted, {} expired; tables {} bytes; resident memory grew {} bytes",
        s.state().len(),
        stats.evicted,
        stats.expired,
        s.state().heap_bytes(),
        rss().saturating_sub(before)
    );
    state_file(s.state());
    sweep_passes(&mut s, &mut r);
}

/// What `serve`'s pass forgetting expired entities costs scoring at ten million entities: the
/// longest step (one shard of one kind, while scoring waits) and a whole pass, first with
/// nothing expired (the usual pass), then with every entity but one payment's expired.
fn sweep_passes(s: &mut Scorer, r: &mut PaymentRequest) {
    let pass = |what: &str, s: &mut Scorer| {
        let (mut longest, mut forgotten) = (std::time::Duration::ZERO, 0);
        let started = std::time::Instant::now();
        for _ in 0..s.state().sweep_steps() {
            let step = std::time::Instant::now();
            forgotten += s.state_mut().sweep_step();
            longest = longest.max(step.elapsed());
        }
        println!(
            "sweep pass, {what}: {} steps, longest {:.2} ms, whole pass {:.1} ms, {forgotten} forgotten, {} entities left",
            s.state().sweep_steps(),
            longest.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3,
            s.state().len()
        );
    };
    pass("nothing expired", s);
    // The cards held were last seen up to 200,000 s after `START`: 93 days on, all expired.
    r.card.fingerprint = "after 93 days".into();
    r.payment_id = "after 93 days".into();
    r.time = chrono::DateTime::from_timestamp(START + 93 * 86_400, 0).expect("time");
    s.score(r).expect("score");
    pass("everything expired but one payment's", s);
}

/// Writing the state to a file and reading it back (what `serve` does when it stops and
/// starts, and every `save_state_secs`): seconds and bytes.
fn state_file(state: &ensuresec_fraud::FeatureStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("fraud-state.bin");
    let started = std::time::Instant::now();
    let mut copy = ensuresec_fraud::features::StateCopy::with_room(&state.entities_per_kind());
    let made = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    state.copy_into(&mut copy);
    let copied = started.elapsed().as_secs_f64();
    let file = std::fs::File::create(&path).expect("create");
    copy.write(&file).expect("write");
    file.sync_all().expect("sync");
    let written = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path).expect("size").len();
    let started = std::time::Instant::now();
    let back = ensuresec_fraud::FeatureStore::read_snapshot(
        "bench",
        std::fs::File::open(&path).expect("open"),
        StateLimits::default(),
    )
    .expect("read back");
    println!(
        "state file, {} entities: room made (before the lock) in {made:.2} s, copied under the lock in {copied:.3} s, written and synced after {written:.2} s ({bytes} bytes, {:.1} per entity), read back in {:.2} s",
        back.len(),
        bytes as f64 / back.len() as f64,
        started.elapsed().as_secs_f64()
    );
}

/// The worst start after a crash: ten million payments (`journal_max_records`, the default) in
/// the feature state's journal and no state file, taken again at open. Seconds, bytes, and
/// the state rebuilt against the one that crashed.
fn feature_journal() {
    let mut r = card_only_request();
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = ServiceConfig {
        state_file: Some(dir.path().join("fraud-state.bin")),
        journal: true,
        ..ServiceConfig::default()
    };
    let records: usize = 10_000_000;
    let service = FraudService::open(&config).expect("open");
    let started = std::time::Instant::now();
    for i in 0..records {
        r.card.fingerprint = format!("card{}", i % 5_000_000);
        r.payment_id = format!("p{i}");
        r.time = chrono::DateTime::from_timestamp(START + (i / 100) as i64, 0).expect("time");
        service.score(&r).expect("score");
        if i % 100_000 == 99_999 {
            service.flush_journal().expect("flush");
        }
    }
    service.flush_journal().expect("flush");
    let scored = started.elapsed().as_secs_f64();
    let status = service.status();
    assert_eq!(status.journaled, records as u64, "every payment journaled");
    drop(service);
    let bytes = std::fs::metadata(dir.path().join("fraud-state.bin.journal.0"))
        .expect("journal file")
        .len();
    let started = std::time::Instant::now();
    let restarted = FraudService::open(&config).expect("open after the crash");
    let replayed = started.elapsed().as_secs_f64();
    assert_eq!(restarted.replayed().records, records as u64);
    assert_eq!(
        restarted.status().entities,
        status.entities,
        "the state the crash lost"
    );
    println!(
        "feature journal, {records} payments over 5M cards and {} entities: scored and journaled in {scored:.1} s, {bytes} bytes ({:.1} per payment), taken again at open in {replayed:.1} s ({:.0} payments/s)",
        status.entities,
        bytes as f64 / records as f64,
        records as f64 / replayed
    );
}

/// The ring graph at its default ceiling (two million entities: both generations full) built
/// with and without its journal, taken again from the journal alone (a crash before any write
/// of the file), then written to its file and read back, as `serve` does: how long the graph's
/// lock is held (the bytes made in memory), the write, the file's size and the read.
fn ring_file() {
    use ensuresec_fraud::rings::{RingLimits, RingService};
    let limits = RingLimits::default();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("fraud-rings.bin");

    let plain = RingService::in_memory(limits);
    let started = std::time::Instant::now();
    let payments = fill_rings(&plain, || {});
    let linked = started.elapsed().as_secs_f64();
    let stats = plain.stats();

    let journaled = RingService::open(&path, limits, true).expect("no file yet");
    let started = std::time::Instant::now();
    let flushes = std::cell::Cell::new(0u64);
    fill_rings(&journaled, || {
        // As serve's timer would, every 50 ms at 20,000 payments a second.
        flushes.set(flushes.get() + 1);
        if flushes.get().is_multiple_of(1_000) {
            journaled.flush_journal().expect("flush");
        }
    });
    journaled.flush_journal().expect("flush");
    let linked_journaled = started.elapsed().as_secs_f64();
    assert_eq!(journaled.stats(), stats, "the journal changes nothing");
    let records = journaled.journaled();
    drop(journaled);
    let journal_bytes = std::fs::metadata(dir.path().join("fraud-rings.bin.journal.0"))
        .expect("journal file")
        .len();
    let started = std::time::Instant::now();
    let rings = RingService::open(&path, limits, true).expect("open after the crash");
    let replayed = started.elapsed().as_secs_f64();
    assert_eq!(rings.replayed().records, records);
    assert_eq!(rings.stats(), stats, "the graph the crash lost");
    println!(
        "ring graph, {payments} payments and {} labels: linked in {linked:.2} s, with the journal (synced every 1,000 payments) in {linked_journaled:.2} s; journal {journal_bytes} bytes ({:.1} per record), taken again at open in {replayed:.2} s ({:.0} records/s)",
        records - payments,
        journal_bytes as f64 / records as f64,
        records as f64 / replayed
    );

    let started = std::time::Instant::now();
    let bytes = rings.graph().lock().expect("lock").snapshot_body();
    let locked = started.elapsed().as_secs_f64();
    drop(bytes);
    let started = std::time::Instant::now();
    rings.save().expect("save");
    let saved = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).expect("size").len();
    let started = std::time::Instant::now();
    let back = ensuresec_fraud::rings::load(&path, limits).expect("read back");
    let read = started.elapsed().as_secs_f64();
    assert_eq!(
        back.stats(),
        stats,
        "the graph read back is the graph written"
    );
    println!(
        "ring file, {} entities and {} payments: bytes made under the lock in {locked:.3} s, saved (made, sealed, written, synced, renamed) in {saved:.2} s ({size} bytes, {:.1} per entity and payment), read back in {read:.2} s",
        stats.nodes,
        stats.payments,
        size as f64 / (stats.nodes + stats.payments) as f64,
    );
}

/// The ring graph's heaviest joins: 2^20 groups of a card and a device, then joined two equal
/// groups at a time, level by level, until one group holds all 2,097,152 entities, each join a
/// payment of a card of one group with a device of the other. Joins of equal groups are the
/// costliest for union by size, and for the links, which walk up the smaller group's tree; the
/// figures are the whole and the longest single payment, which holds the graph's lock.
fn ring_merges() {
    use ensuresec_fraud::rings::{Link, RingGraph, RingLimits};
    const LEVELS: u32 = 20;
    let groups = 1usize << LEVELS;
    let mut g = RingGraph::new(RingLimits {
        max_nodes: 8 * groups,
        max_payments: 8 * groups,
        max_age_seconds: None,
        ..RingLimits::default()
    });
    let started = std::time::Instant::now();
    for i in 0..groups {
        g.add_payment(
            START,
            &format!("pay-{i}"),
            &[
                (Link::Card, &format!("card-{i}")),
                (Link::Device, &format!("dev-{i}")),
            ],
        );
    }
    let pairs = started.elapsed().as_secs_f64();
    // Group k's latest card and device, as the levels go.
    let mut latest: Vec<usize> = (0..groups).collect();
    let (mut longest, mut joins) = (0f64, 0u64);
    let started = std::time::Instant::now();
    for level in 0..LEVELS {
        let next: Vec<usize> = latest
            .chunks(2)
            .enumerate()
            .map(|(k, pair)| {
                let one = std::time::Instant::now();
                g.add_payment(
                    START,
                    &format!("join-{level}-{k}"),
                    &[
                        (Link::Card, &format!("card-{}", pair[0])),
                        (Link::Device, &format!("dev-{}", pair[1])),
                    ],
                );
                longest = longest.max(one.elapsed().as_secs_f64());
                joins += 1;
                pair[1]
            })
            .collect();
        latest = next;
    }
    let joined = started.elapsed().as_secs_f64();
    assert_eq!(
        g.stats().nodes,
        2 * groups,
        "every entity in one generation"
    );
    println!(
        "ring joins, worst case: {groups} card-device pairs linked in {pairs:.2} s, then joined two equal groups at a time in {LEVELS} levels ({joins} payments) in {joined:.2} s; longest single payment {:.2} ms",
        longest * 1e3
    );
}

/// Links payments into `rings` until both generations are full, calling `after_each` after
/// every payment; returns how many payments. Each payment brings a new card and e-mail;
/// devices, addresses and IP addresses are shared by a few payments each; one in fifty gets a
/// chargeback. Identifiers as long as real fingerprints and hashes.
fn fill_rings(rings: &ensuresec_fraud::rings::RingService, mut after_each: impl FnMut()) -> u64 {
    use ensuresec_fraud::rings::Link;
    let max_nodes = ensuresec_fraud::rings::RingLimits::default().max_nodes;
    let mut i = 0u64;
    // A payment brings at most five new entities, so both generations are within eight of
    // full before the newer one would be rotated out a second time.
    loop {
        let s = rings.stats();
        if s.rotations >= 1 && s.nodes + 8 >= max_nodes {
            break;
        }
        let card = format!("card-{i:016x}");
        let device = format!("dev-{:016x}", i / 3);
        let email = format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let shipping = format!("{:032x}", (i / 2).wrapping_mul(0xc2b2_ae3d_27d4_eb4f));
        let ip = format!(
            "198.{}.{}.{}",
            18 + (i / 10) / 65_536 % 2,
            (i / 10) / 256 % 256,
            (i / 10) % 256
        );
        let time = START + (i / 20) as i64;
        let mut graph = rings.graph().lock().expect("lock");
        graph.add_payment(
            time,
            &format!("pay-{i:016x}"),
            &[
                (Link::Card, &card),
                (Link::Device, &device),
                (Link::Email, &email),
                (Link::Shipping, &shipping),
                (Link::Ip, &ip),
            ],
        );
        if i.is_multiple_of(50) {
            graph.label(time, &format!("pay-{i:016x}"), true);
        }
        drop(graph);
        after_each();
        i += 1;
    }
    assert_eq!(
        rings.stats().rotations,
        1,
        "both generations full, none forgotten twice"
    );
    i
}

criterion_group!(benches, bench);
criterion_main!(benches);
