//! The ring graph's journal through `RingService`, with real files: what was flushed before a
//! crash (here: a service dropped without writing its file, as `kill -9` leaves it) is taken
//! again at the next start, so a ring half built before the crash is still found; a torn end
//! is cut off; damage elsewhere stops the start.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;

use common::journal_files;
use ensuresec_fraud::journal::Kept as _;
use ensuresec_fraud::rings::{Link, Ring, RingLimits, RingService};

mod common;

fn limits() -> RingLimits {
    RingLimits {
        min_members: 4,
        min_frauds: 3,
        min_fraud_rate: 0.5,
        ..RingLimits::default()
    }
}

fn open(dir: &Path) -> RingService {
    RingService::open(&dir.join("rings.bin"), limits(), true).unwrap()
}

/// Payment `id` of card `card` on the shared device and drop address, at `minute`.
fn pay(rings: &RingService, minute: i64, id: &str, card: &str) -> Option<Ring> {
    rings.graph().lock().unwrap().add_payment(
        1_772_366_400 + 60 * minute,
        id,
        &[
            (Link::Card, card),
            (Link::Device, "dev-shared"),
            (Link::Shipping, "drop-1"),
        ],
    )
}

fn chargeback(rings: &RingService, minute: i64, id: &str) -> Option<Ring> {
    rings
        .graph()
        .lock()
        .unwrap()
        .label(1_772_366_400 + 60 * minute, id, true)
}

#[test]
fn what_was_flushed_before_a_crash_is_taken_again_and_the_ring_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = open(dir.path());
    pay(&crashed, 0, "p1", "c1");
    crashed.save().unwrap();
    pay(&crashed, 1, "p2", "c2");
    pay(&crashed, 2, "p3", "c3");
    assert!(chargeback(&crashed, 3, "p1").is_none());
    assert!(
        chargeback(&crashed, 4, "p2").is_none(),
        "two frauds: not yet"
    );
    assert_eq!(crashed.flush_journal().unwrap(), 4);
    assert_eq!(
        crashed.journaled(),
        5,
        "and the first, written with the file"
    );
    // Taken after the last flush: lost with the crash.
    pay(&crashed, 5, "p9", "c9");
    let flushed = {
        let mut reference = ensuresec_fraud::rings::RingGraph::new(limits());
        for (minute, id, card) in [(0, "p1", "c1"), (1, "p2", "c2"), (2, "p3", "c3")] {
            reference.add_payment(
                1_772_366_400 + 60 * minute,
                id,
                &[
                    (Link::Card, card),
                    (Link::Device, "dev-shared"),
                    (Link::Shipping, "drop-1"),
                ],
            );
        }
        reference.label(1_772_366_400 + 180, "p1", true);
        reference.label(1_772_366_400 + 240, "p2", true);
        reference.stats()
    };
    drop(crashed);

    let restarted = open(dir.path());
    let replayed = restarted.replayed();
    assert_eq!(
        (replayed.files, replayed.records, replayed.torn_bytes),
        (1, 4, 0)
    );
    assert_eq!(restarted.stats(), flushed);
    // The third chargeback completes the ring the crash split: found, with all three cards.
    let ring = chargeback(&restarted, 6, "p3").expect("three frauds of three: a ring");
    assert_eq!((ring.size, ring.payments, ring.frauds), (5, 3, 3));

    // Without the journal the restart would hold only p1: the same chargeback finds nothing.
    let forgetful = RingService::open(&dir.path().join("rings.bin"), limits(), false).unwrap();
    assert!(chargeback(&forgetful, 6, "p3").is_none());
}

#[test]
fn a_ring_reported_just_before_a_crash_is_reported_again_by_the_same_event() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = open(dir.path());
    for (minute, id, card) in [(0, "p1", "c1"), (1, "p2", "c2"), (2, "p3", "c3")] {
        pay(&crashed, minute, id, card);
    }
    chargeback(&crashed, 3, "p1");
    chargeback(&crashed, 4, "p2");
    // Reported here; the crash comes before its alert is stored, after the journal's sync.
    let reported = chargeback(&crashed, 5, "p3").expect("three frauds of three: a ring");
    crashed.flush_journal().unwrap();
    drop(crashed);

    let restarted = open(dir.path());
    assert_eq!(restarted.replayed().records, 6);
    assert!(
        chargeback(&restarted, 4, "p2").is_none(),
        "another label again reports nothing"
    );
    // The pipeline detects the stored chargeback again: its ring is reported again.
    let again = chargeback(&restarted, 5, "p3").expect("the report's own chargeback");
    assert_eq!(again.members, reported.members);
    assert_eq!((again.payments, again.frauds), (3, 3));
}

#[test]
fn a_write_of_the_graph_removes_the_journal_files_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let rings = open(dir.path());
    assert_eq!(journal_files(dir.path()), ["rings.bin.journal.0"]);
    pay(&rings, 0, "p1", "c1");
    rings.flush_journal().unwrap();
    assert_eq!(rings.journal_records(), 1);
    assert_eq!(rings.save().unwrap(), 3);
    assert_eq!(journal_files(dir.path()), ["rings.bin.journal.1"]);
    assert_eq!(rings.journal_records(), 0, "a new file after the graph's");
    // Taken but not flushed: written with the graph.
    pay(&rings, 1, "p2", "c2");
    rings.save().unwrap();
    drop(rings);
    let again = open(dir.path());
    assert_eq!(again.replayed().records, 0, "nothing twice");
    assert_eq!(again.stats().payments, 2);
}

#[test]
fn a_torn_end_is_cut_off_and_damage_before_it_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    for (minute, id, card) in [(0, "p1", "c1"), (1, "p2", "c2")] {
        pay(&first, minute, id, card);
    }
    first.flush_journal().unwrap();
    drop(first);
    let file = dir.path().join("rings.bin.journal.0");
    let whole = std::fs::read(&file).unwrap();
    // A length and half a record: the batch the crash interrupted.
    let mut torn = whole.clone();
    torn.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&file, &torn).unwrap();
    let second = open(dir.path());
    let replayed = second.replayed();
    assert_eq!((replayed.records, replayed.torn_bytes), (2, 7));
    assert_eq!(std::fs::read(&file).unwrap(), whole, "cut back");
    pay(&second, 2, "p3", "c3");
    second.flush_journal().unwrap();
    drop(second);

    // The first file is no longer the last: a changed byte in its second record is damage.
    let mut damaged = whole.clone();
    let second_record = 36 + (whole.len() - 36) / 2;
    damaged[second_record + 10] ^= 1;
    std::fs::write(&file, &damaged).unwrap();
    let e = RingService::open(&dir.path().join("rings.bin"), limits(), true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rings.bin.journal.0")
            && e.contains(&format!("record 2 (byte {second_record})"))
            && e.contains("torn or damaged, and not at the end"),
        "{e}"
    );
}

#[test]
fn a_journal_of_the_feature_state_is_not_taken_for_the_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let mut header = b"ensuresec fraud journal\n".to_vec();
    header.extend_from_slice(&1u32.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    std::fs::write(dir.path().join("rings.bin.journal.0"), &header).unwrap();
    let e = RingService::open(&dir.path().join("rings.bin"), limits(), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("rings.bin.journal.0"), "{e}");
    assert!(e.contains("ensuresec rings journal"), "{e}");
}

#[test]
fn a_graph_kept_in_no_file_is_not_written() {
    let rings = RingService::in_memory(limits());
    pay(&rings, 0, "p1", "c1");
    assert_eq!(rings.flush_journal().unwrap(), 0);
    let e = rings.save().unwrap_err().to_string();
    assert!(e.contains("not kept"), "{e}");
}

#[test]
fn a_graph_written_from_its_journal_holds_what_was_linked() {
    let dir = tempfile::tempdir().unwrap();
    let live = open(dir.path());
    pay(&live, 0, "p1", "c1");
    pay(&live, 1, "p2", "c2");
    // No ring file yet: made from the journal alone.
    live.save().unwrap();
    pay(&live, 2, "p3", "c3");
    assert!(chargeback(&live, 3, "p1").is_none());
    assert!(chargeback(&live, 4, "p2").is_none());
    // Made from the first file and the journal since, not from the graph under its lock.
    live.save().unwrap();
    assert_eq!(live.saves_from_journal(), 2);
    assert_eq!(journal_files(dir.path()), ["rings.bin.journal.2"]);

    // The file alone, without the journal, holds what the live graph holds: the ring half
    // built before the write is completed by the next chargeback on both.
    let back = RingService::open(&dir.path().join("rings.bin"), limits(), false).unwrap();
    assert_eq!(back.stats(), live.stats());
    pay(&back, 5, "p4", "c4");
    pay(&live, 5, "p4", "c4");
    let found = chargeback(&back, 6, "p3").expect("the ring, from the file");
    assert_eq!(chargeback(&live, 6, "p3"), Some(found));
}
