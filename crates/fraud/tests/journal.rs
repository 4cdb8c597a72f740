//! The feature state's journal through the service, with real files: what was flushed before a
//! crash (here: a service dropped without writing its state, as `kill -9` leaves it) is
//! counted again at the next start; a torn end is cut off; damage elsewhere stops the start.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::{Path, PathBuf};

use common::journal_files;
use ensuresec_fraud::journal::Kept as _;
use ensuresec_fraud::{FraudService, PaymentRequest, ServiceConfig, StateLimits};

mod common;
use ensuresec_model::event::PaymentAuthorization;

/// A payment of card `card` at `second` past a fixed time (2026-03-01 12:00 UTC).
fn payment(id: &str, card: &str, second: u32) -> PaymentRequest {
    let json = serde_json::json!({
        "payment_id": id,
        "time": chrono::DateTime::from_timestamp(1_772_366_400 + i64::from(second), 0)
            .unwrap()
            .to_rfc3339(),
        "amount": {"minor": 1_999, "currency": "EUR"},
        "merchant": "shop-1",
        "card": {"fingerprint": card, "bin": "424242", "country": "DE"},
        "billing": {"country": "DE"},
        "ip": "192.0.2.1",
        "device": format!("dev-{card}"),
        "account": {"id": format!("acc-{card}"), "age_days": 2}
    });
    PaymentRequest::from_json(json.to_string().as_bytes()).unwrap()
}

/// The issuer's decline of payment `id` of `card`, as the payment pipeline reports it.
fn decline(id: &str, card: &str) -> PaymentAuthorization {
    serde_json::from_value(serde_json::json!({
        "payment_id": id, "card_fingerprint": card,
        "amount": {"minor": 1_999, "currency": "EUR"}, "outcome": "declined"
    }))
    .unwrap()
}

fn journaled(dir: &Path) -> ServiceConfig {
    ServiceConfig {
        state_file: Some(dir.join("state.bin")),
        journal: true,
        ..ServiceConfig::default()
    }
}

/// The probability of `card`'s next payment on `service`: it moves with what the state holds
/// of the card.
fn next_probability(service: &FraudService, card: &str) -> f64 {
    service
        .score(&payment("probe", card, 60))
        .unwrap()
        .probability
}

#[test]
fn what_was_flushed_before_a_crash_is_counted_again_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = journaled(dir.path());
    let crashed = FraudService::open(&config).unwrap();
    crashed.score(&payment("p0", "card-1", 0)).unwrap();
    crashed.save().unwrap();
    for i in 1..6 {
        crashed
            .score(&payment(&format!("p{i}"), "card-1", i * 10))
            .unwrap();
    }
    crashed.record_outcome(&decline("p5", "card-1"), 1_772_366_460);
    assert_eq!(
        crashed.flush_journal().unwrap(),
        6,
        "five payments, one decline"
    );
    assert_eq!(
        crashed.status().journaled,
        7,
        "and the first, written with the state"
    );
    // Counted after the last flush: lost with the crash.
    crashed.score(&payment("p6", "card-1", 70)).unwrap();
    let entities = crashed.status().entities;
    drop(crashed);

    let restarted = FraudService::open(&config).unwrap();
    let replayed = restarted.replayed();
    assert_eq!((replayed.records, replayed.torn_bytes), (6, 0));
    assert_eq!(restarted.status().entities, entities);

    // The same payments on a server that never crashed, up to the last flush.
    let reference = FraudService::open(&ServiceConfig::default()).unwrap();
    for i in 0..6 {
        reference
            .score(&payment(&format!("p{i}"), "card-1", i * 10))
            .unwrap();
    }
    reference.record_outcome(&decline("p5", "card-1"), 1_772_366_460);
    let expected = next_probability(&reference, "card-1");
    assert_eq!(next_probability(&restarted, "card-1"), expected);

    // Without the journal the restart would hold only the state file's first payment.
    let forgetful = FraudService::open(&ServiceConfig::default()).unwrap();
    forgetful.score(&payment("p0", "card-1", 0)).unwrap();
    assert_ne!(next_probability(&forgetful, "card-1"), expected);
}

/// Scores payments `ids` of `card` (payment `pN` at second `10 N`) and reports the decline
/// of the last.
fn score_all(service: &FraudService, ids: std::ops::Range<u32>, card: &str) {
    let last = ids.end - 1;
    for i in ids {
        service
            .score(&payment(&format!("p{i}"), card, i * 10))
            .unwrap();
    }
    service.record_outcome(&decline(&format!("p{last}"), card), 1_772_366_460);
}

#[test]
fn payments_scored_again_after_a_crash_are_not_counted_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = journaled(dir.path());
    let crashed = FraudService::open(&config).unwrap();
    score_all(&crashed, 0..2, "card-1");
    // The first two in the state file, the next three and the decline in the journal.
    crashed.save().unwrap();
    score_all(&crashed, 2..5, "card-1");
    crashed.flush_journal().unwrap();
    drop(crashed);

    // The pipeline detects them again at the start: they were counted, so not again.
    let restarted = FraudService::open(&config).unwrap();
    score_all(&restarted, 0..5, "card-1");
    assert_eq!(
        restarted.status().repeated,
        6,
        "five payments and a decline"
    );

    let reference = FraudService::open(&ServiceConfig::default()).unwrap();
    score_all(&reference, 0..2, "card-1");
    score_all(&reference, 2..5, "card-1");
    let expected = next_probability(&reference, "card-1");
    assert_eq!(next_probability(&restarted, "card-1"), expected);

    // Counted twice, the card would look busier.
    let twice = FraudService::open(&ServiceConfig {
        limits: ensuresec_fraud::StateLimits {
            recent_payments: 0,
            ..Default::default()
        },
        ..ServiceConfig::default()
    })
    .unwrap();
    score_all(&twice, 0..2, "card-1");
    score_all(&twice, 2..5, "card-1");
    score_all(&twice, 0..5, "card-1");
    assert_ne!(next_probability(&twice, "card-1"), expected);
}

#[test]
fn a_write_of_the_state_removes_the_journal_files_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = journaled(dir.path());
    let service = FraudService::open(&config).unwrap();
    assert_eq!(journal_files(dir.path()), ["state.bin.journal.0"]);
    service.score(&payment("p0", "card-1", 0)).unwrap();
    service.flush_journal().unwrap();
    service.save().unwrap();
    assert_eq!(journal_files(dir.path()), ["state.bin.journal.1"]);
    service.score(&payment("p1", "card-1", 10)).unwrap();
    // Written with the state: the records before its copy are in it.
    service.save().unwrap();
    assert_eq!(journal_files(dir.path()), ["state.bin.journal.2"]);
    drop(service);
    let again = FraudService::open(&config).unwrap();
    assert_eq!(again.replayed().records, 0, "nothing twice");
    assert_eq!(
        journal_files(dir.path()),
        ["state.bin.journal.2", "state.bin.journal.3"]
    );
}

/// Runs a service on `dir` that journals `payments` of `card` and crashes; returns the path of
/// the journal file it wrote.
fn crash_after(dir: &Path, card: &str, payments: u32) -> PathBuf {
    let service = FraudService::open(&journaled(dir)).unwrap();
    for i in 0..payments {
        service
            .score(&payment(&format!("{card}-{i}"), card, i))
            .unwrap();
    }
    service.flush_journal().unwrap();
    let names = journal_files(dir);
    dir.join(names.last().unwrap())
}

#[test]
fn a_torn_end_of_the_last_file_is_cut_off_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = crash_after(dir.path(), "card-1", 3);
    let whole = std::fs::metadata(&file).unwrap().len();
    // Half a record: the batch the crash interrupted.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[0x5a; 40]);
    std::fs::write(&file, &bytes).unwrap();

    let restarted = FraudService::open(&journaled(dir.path())).unwrap();
    let replayed = restarted.replayed();
    assert_eq!((replayed.records, replayed.torn_bytes), (3, 40));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), whole, "cut back");
}

#[test]
fn a_file_made_just_before_a_crash_without_its_header_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    crash_after(dir.path(), "card-1", 3);
    // The next file, created when the crash came: a few bytes of its header.
    let next = dir.path().join("state.bin.journal.1");
    std::fs::write(&next, b"ensuresec fr").unwrap();
    let first = FraudService::open(&journaled(dir.path())).unwrap();
    assert_eq!(first.replayed().records, 3);
    assert_eq!(first.replayed().torn_bytes, 12);
    drop(first);
    assert!(!next.exists() || std::fs::metadata(&next).unwrap().len() > 12);
    // Once it is no longer the last file, it must not stop a start.
    let again = FraudService::open(&journaled(dir.path())).unwrap();
    assert_eq!(again.replayed().records, 3);
}

#[test]
fn a_damaged_record_before_the_end_stops_the_start_naming_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let first = crash_after(dir.path(), "card-1", 3);
    crash_after(dir.path(), "card-2", 2);
    // The second record of the first file, which is no longer the last: not a torn write.
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[36 + 80 + 30] ^= 1;
    std::fs::write(&first, &bytes).unwrap();

    let e = FraudService::open(&journaled(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("state.bin.journal.0") && e.contains("record 2 (byte 116)"),
        "{e}"
    );
    assert!(e.contains("torn or damaged, and not at the end"), "{e}");
}

#[test]
fn without_the_journal_no_journal_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let service = FraudService::open(&ServiceConfig {
        journal: false,
        ..journaled(dir.path())
    })
    .unwrap();
    service.score(&payment("p0", "card-1", 0)).unwrap();
    assert_eq!(service.flush_journal().unwrap(), 0);
    service.save().unwrap();
    assert!(journal_files(dir.path()).is_empty());
}

#[test]
fn a_state_written_without_the_journal_retires_the_files_of_a_run_with_it() {
    let dir = tempfile::tempdir().unwrap();
    crash_after(dir.path(), "card-1", 3);
    let unjournaled = ServiceConfig {
        journal: false,
        ..journaled(dir.path())
    };
    let without = FraudService::open(&unjournaled).unwrap();
    assert_eq!(
        without.status().entities,
        0,
        "the journal is not read without it"
    );
    without.score(&payment("p0", "card-2", 0)).unwrap();
    let entities = without.status().entities;
    without.save().unwrap();
    assert!(journal_files(dir.path()).is_empty(), "retired");
    drop(without);
    // Turned on again: nothing of the older run is counted over the newer state.
    let with = FraudService::open(&journaled(dir.path())).unwrap();
    assert_eq!(with.replayed().records, 0);
    assert_eq!(with.status().entities, entities);
    assert_eq!(journal_files(dir.path()), ["state.bin.journal.1"]);
}

#[test]
fn the_journal_counts_what_a_start_would_count_again_until_the_state_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let service = FraudService::open(&journaled(dir.path())).unwrap();
    assert_eq!(service.journal_records(), 0);
    for i in 0..4 {
        service
            .score(&payment(&format!("p{i}"), "card-1", i))
            .unwrap();
    }
    assert_eq!(service.journal_records(), 0, "not flushed yet");
    service.flush_journal().unwrap();
    assert_eq!(service.journal_records(), 4);
    service.save().unwrap();
    assert_eq!(service.journal_records(), 0, "a new file after the state");
}

#[test]
fn a_state_written_from_its_journal_holds_what_was_counted() {
    let dir = tempfile::tempdir().unwrap();
    let config = journaled(dir.path());
    let live = FraudService::open(&config).unwrap();
    score_all(&live, 0..3, "card-1");
    score_all(&live, 3..5, "card-2");
    // No state file yet: made from the journal alone.
    live.save().unwrap();
    score_all(&live, 5..9, "card-1");
    // Scored again: remembered, not counted again, in the file as in memory.
    live.score(&payment("p0", "card-1", 0)).unwrap();
    // Made from the first file and the journal since, not copied under the scorer's lock.
    live.save().unwrap();
    assert_eq!(live.status().saves_from_journal, 2);
    assert_eq!(journal_files(dir.path()), ["state.bin.journal.2"]);

    // The file alone, without the journal, holds what the live state holds.
    let back = FraudService::open(&ServiceConfig {
        journal: false,
        ..config.clone()
    })
    .unwrap();
    assert_eq!(back.status().entities, live.status().entities);
    let probe = |service: &FraudService, card: &str| {
        let id = format!("probe-{card}");
        service.score(&payment(&id, card, 100)).unwrap().probability
    };
    for card in ["card-1", "card-2"] {
        assert_eq!(probe(&back, card), probe(&live, card), "{card}");
    }
    back.score(&payment("p3", "card-2", 30)).unwrap();
    assert_eq!(back.status().repeated, 1, "p3 was remembered");

    // Without the journal, or when told to, the state is copied, as before.
    for (journal, name) in [(false, "unjournaled.bin"), (true, "by-copy.bin")] {
        let copied = FraudService::open(&ServiceConfig {
            journal,
            save_by_copy: true,
            state_file: Some(dir.path().join(name)),
            ..config.clone()
        })
        .unwrap();
        score_all(&copied, 0..3, "card-1");
        assert_eq!(copied.save().unwrap(), copied.status().entities);
        assert_eq!(copied.status().saves_from_journal, 0, "{name}");
    }
}

#[test]
fn expired_entities_leave_the_live_state_a_shard_at_a_time_and_the_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServiceConfig {
        limits: StateLimits {
            ttl_seconds: 3600,
            ..StateLimits::default()
        },
        ..journaled(dir.path())
    };
    let live = FraudService::open(&config).unwrap();
    // Card, device and account of `old`, and the IP address both payments share.
    live.score(&payment("p-old", "old", 0)).unwrap();
    assert_eq!(live.save().unwrap(), 4);
    // Two hours later `old`'s three entities have expired: seen again, they would start afresh.
    live.score(&payment("p-new", "new", 7200)).unwrap();
    assert_eq!(
        live.status().entities,
        7,
        "still held until a sweep reaches them"
    );

    // The file is made from the last one and the journal, and holds only what is alive.
    assert_eq!(live.save().unwrap(), 4);
    assert_eq!(live.status().saves_from_journal, 2);
    let back = FraudService::open(&ServiceConfig {
        journal: false,
        ..config.clone()
    })
    .unwrap();
    assert_eq!(back.status().entities, 4);

    // The live state forgets them one shard at a time, over one pass.
    let forgotten: usize = (0..live.sweep_steps()).map(|_| live.sweep_step()).sum();
    assert_eq!(forgotten, 3);
    let status = live.status();
    assert_eq!(status.entities, 4);
    // The IP address started afresh when seen after its time to live: expired too.
    assert_eq!((status.expired, status.evicted), (4, 0));
}
