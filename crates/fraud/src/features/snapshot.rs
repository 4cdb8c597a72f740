//! The feature state on disk, so that a restart does not forget every card's history (a
//! fraudster's velocity would otherwise start from zero after each deploy).
//!
//! The format is our own and fixed-size per entity: a header (with, from version 2, the number
//! of the first journal file that continues the state: `crate::journal`), then per kind of
//! entity its count and its records (key and [`EntityState`], 64 bytes, little-endian), from
//! version 3 the keys of the payments counted last, oldest first (their count, then 8 bytes
//! each), then a 64-bit FNV-1a checksum of everything before it (`crate::checksum`). A file is read completely before it is used: a
//! wrong header or version, a count above the ceiling, a value no update could produce, a key
//! twice, a wrong checksum or a byte too few or too many is an error naming what and where.
//! Written here because the state is a few plain numbers per entity; a general serialisation
//! crate would add a layer without adding a check.

use std::io::{self, Read, Write};
use std::path::Path;

use super::entity::EntityState;
use super::recent::{self, RecentPayments};
use super::store::{FeatureStore, KINDS, StateLimits, StateStats};
use super::table::Table;
use crate::checksum::Checksum;
use crate::error::FileError;

/// First bytes of every state file.
const MAGIC: &[u8; 22] = b"ensuresec fraud state\n";
/// The format's version: a file of another version is refused, but version 1 (before the
/// journal) is read as continued by no journal file before the first, and versions 1 and 2
/// (before the recent payments were kept) as remembering no payment.
const VERSION: u32 = 3;
/// Bytes of one entity's record.
const RECORD: usize = 64;
/// The kinds, in file order, as errors name them.
const KIND_NAMES: [&str; KINDS] = ["card", "device", "IP", "e-mail", "account", "shipping"];

/// A copy of the feature state to write to a file: taken under the scorer's lock, written
/// outside it. Its room is made (and every page of it touched) before the lock is taken, so
/// that the copy under the lock is a plain memory copy, without waiting for the kernel to hand
/// out pages (measured: 2.1 s for ten million entities by cloning the tables, against the
/// figures in bench/RESULTS.md this way).
#[derive(Debug, Default)]
pub struct StateCopy {
    stats: StateStats,
    journal_from: u64,
    kinds: [Vec<(u64, EntityState)>; KINDS],
    recent: Vec<u64>,
}

impl StateCopy {
    /// Room for `per_kind` entities of each kind (as [`FeatureStore::entities_per_kind`]
    /// gives), and a tenth more for those that come before the copy is taken.
    pub fn with_room(per_kind: &[usize]) -> StateCopy {
        let mut copy = StateCopy::default();
        for (room, n) in copy.kinds.iter_mut().zip(per_kind) {
            room.resize(n + n / 10, (0, EntityState::new(0)));
            room.clear();
        }
        copy
    }

    /// Records that the journal files numbered from `number` on continue this state (the
    /// records of earlier files are in it).
    pub fn set_journal_from(&mut self, number: u64) {
        self.journal_from = number;
    }

    /// The first journal file that continues this copy.
    pub fn journal_from(&self) -> u64 {
        self.journal_from
    }

    /// Entities in the copy.
    pub fn len(&self) -> usize {
        self.kinds.iter().map(Vec::len).sum()
    }

    /// Whether the copy holds no entity.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the copy to `out` (see the module's format).
    pub fn write(&self, out: impl Write) -> io::Result<()> {
        write_state(
            out,
            self.stats,
            self.journal_from,
            self.kinds
                .iter()
                .map(|kind| (kind.len(), kind.iter().copied())),
            self.recent.iter().copied(),
        )
    }
}

/// Writes a state file's bytes: `kinds` gives each kind's count and entities in file order,
/// `recent` the payments remembered, oldest first. Shared by a [`StateCopy`] and a
/// [`FeatureStore`] written whole, so that both make the same file.
fn write_state<E: IntoIterator<Item = (u64, EntityState)>>(
    out: impl Write,
    stats: StateStats,
    journal_from: u64,
    kinds: impl Iterator<Item = (usize, E)>,
    recent: impl ExactSizeIterator<Item = u64>,
) -> io::Result<()> {
    let mut out = Checksum::new(io::BufWriter::new(out));
    out.put(MAGIC)?;
    out.put(&VERSION.to_le_bytes())?;
    out.put(&journal_from.to_le_bytes())?;
    out.put(&stats.expired.to_le_bytes())?;
    out.put(&stats.evicted.to_le_bytes())?;
    for (len, entities) in kinds {
        out.put(&(len as u64).to_le_bytes())?;
        for (key, state) in entities {
            out.put(&encode(key, &state))?;
        }
    }
    out.put(&(recent.len() as u64).to_le_bytes())?;
    for key in recent {
        out.put(&key.to_le_bytes())?;
    }
    out.end()
}

impl FeatureStore {
    /// Whether `head`, a file's first bytes, begins as a feature state file does.
    pub fn is_snapshot(head: &[u8]) -> bool {
        head.starts_with(MAGIC)
    }

    /// Entities held per kind, by the kind's name (for `ensuresec fraud inspect`).
    pub fn entities_by_kind(&self) -> Vec<(&'static str, usize)> {
        KIND_NAMES
            .into_iter()
            .zip(self.entities_per_kind())
            .collect()
    }

    /// Entities held per kind, to make a [`StateCopy`]'s room.
    pub fn entities_per_kind(&self) -> Vec<usize> {
        self.tables.iter().map(|t| t.len()).collect()
    }

    /// Copies every entity's state into `copy` (replacing what it held).
    pub fn copy_into(&self, copy: &mut StateCopy) {
        copy.stats = self.stats;
        copy.journal_from = self.journal_from;
        for (room, table) in copy.kinds.iter_mut().zip(&self.tables) {
            room.clear();
            room.extend(table.iter().map(|(k, s)| (*k, *s)));
        }
        copy.recent.clear();
        copy.recent.extend(self.recent.keys());
    }

    /// Writes every entity's state to `out` (see the module's format).
    /// Straight from the tables, without a copy: for a state no one else holds (one read back
    /// and continued by its journal, `crate::journal::Keeper::save_either`); a live
    /// state is copied under its lock and the copy written ([`StateCopy`]).
    pub fn write_snapshot(&self, out: impl Write) -> io::Result<()> {
        write_state(
            out,
            self.stats,
            self.journal_from,
            self.tables
                .iter()
                .map(|t| (t.len(), t.iter().map(|(k, s)| (*k, *s)))),
            self.recent.keys(),
        )
    }

    /// Names `number` as the first journal file that continues this state, for a state made
    /// from a file and the journal files before `number`.
    pub(crate) fn set_journal_from(&mut self, number: u64) {
        self.journal_from = number;
    }

    /// Reads the state file at `path`, to go on under `limits`, as
    /// [`FeatureStore::read_snapshot_file`] does; a new state when there is no file yet (the
    /// first start).
    pub fn load(path: &Path, limits: StateLimits) -> Result<FeatureStore, FileError> {
        crate::journal::read_or_new(
            path,
            |name, file| FeatureStore::read_snapshot_file(name, file, limits),
            || FeatureStore::new(limits),
        )
    }

    /// Reads a state written by [`FeatureStore::write_snapshot`], to go on under `limits`;
    /// `file` names it in errors.
    pub fn read_snapshot(
        file: &str,
        input: impl Read,
        limits: StateLimits,
    ) -> Result<FeatureStore, FileError> {
        read(input, limits, None).map_err(|m| FileError::new(file, m))
    }

    /// Reads an opened state file, as [`FeatureStore::read_snapshot`] does; besides, a count
    /// the file's length cannot hold is refused before room is made for it, so a damaged count
    /// cannot make a start reserve memory for entities that are not there.
    pub fn read_snapshot_file(
        file: &str,
        input: std::fs::File,
        limits: StateLimits,
    ) -> Result<FeatureStore, FileError> {
        let len = input
            .metadata()
            .map_err(|e| FileError::new(file, e.to_string()))?
            .len();
        read(input, limits, Some(len)).map_err(|m| FileError::new(file, m))
    }
}

/// Reads a state; `len`, when known, is the file's length in bytes.
fn read(input: impl Read, limits: StateLimits, len: Option<u64>) -> Result<FeatureStore, String> {
    let mut input = Checksum::new(io::BufReader::new(input));
    let magic: [u8; 22] = input.take(&|| "the header".into())?;
    if &magic != MAGIC {
        return Err("not a fraud state file (wrong header)".into());
    }
    let version = u32::from_le_bytes(input.take(&|| "the header".into())?);
    if !(1..=VERSION).contains(&version) {
        return Err(format!(
            "format version {version}; this build reads versions 1 to {VERSION}"
        ));
    }
    let mut header =
        || -> Result<u64, String> { Ok(u64::from_le_bytes(input.take(&|| "the header".into())?)) };
    let journal_from = if version >= 2 { header()? } else { 0 };
    // The payments scored again are counted since the start, as scoring's other counters.
    let stats = StateStats {
        expired: header()?,
        evicted: header()?,
        repeated: 0,
    };
    let reserved = limits.reserved_entities.min(limits.max_entities);
    let mut tables: Vec<Table> = Vec::with_capacity(KINDS);
    let mut newest = i64::MIN;
    for kind in KIND_NAMES {
        let count = u64::from_le_bytes(input.take(&|| format!("the {kind} count"))?);
        if count > limits.max_entities as u64 {
            return Err(format!(
                "{count} {kind} entities, more than max_entities ({})",
                limits.max_entities
            ));
        }
        if let Some(len) = len
            && count.saturating_mul(RECORD as u64) > len
        {
            return Err(format!(
                "{count} {kind} entities, more than its {len} bytes can hold"
            ));
        }
        let count = count as usize;
        // A quarter more than read, so that the first payments after a start do not make the
        // table double (scoring would wait while it is rehashed).
        let room = reserved.max((count + count / 4).min(limits.max_entities));
        let mut table = Table::new(limits.max_entities, room);
        for i in 0..count {
            let what = || format!("{kind} record {}", i + 1);
            let record: [u8; RECORD] = input.take(&what)?;
            let (key, state) = decode(&record).map_err(|m| format!("{}: {m}", what()))?;
            newest = newest.max(state.last_seen);
            if table.insert(key, state).is_some() {
                return Err(format!("{}: its key appears twice", what()));
            }
        }
        tables.push(table);
    }
    let recent = if version >= 3 {
        read_recent(&mut input, limits.recent_payments, len)?
    } else {
        RecentPayments::new(limits.recent_payments)
    };
    input.check_end()?;
    let mut store = FeatureStore::new(StateLimits {
        reserved_entities: 0,
        ..limits
    });
    store.tables = tables
        .try_into()
        .map_err(|_| "wrong number of kinds".to_string())?;
    store.stats = stats;
    store.journal_from = journal_from;
    store.recent = recent;
    store.newest = newest;
    Ok(store)
}

/// Reads the keys of the payments counted last, keeping the newest `capacity` of them (the
/// configured number may have shrunk since the file was written).
fn read_recent(
    input: &mut Checksum<impl Read>,
    capacity: usize,
    len: Option<u64>,
) -> Result<RecentPayments, String> {
    let what = || "the count of recent payments".to_string();
    let count = u64::from_le_bytes(input.take(&what)?);
    if let Some(len) = len
        && count.saturating_mul(8) > len
    {
        return Err(format!(
            "{count} recent payments, more than its {len} bytes can hold"
        ));
    }
    let mut recent = RecentPayments::new(capacity);
    for i in 0..count {
        let what = || format!("recent payment {}", i + 1);
        let key = u64::from_le_bytes(input.take(&what)?);
        if !recent::is_key(key) {
            return Err(format!("{}: {key:#x} is not a payment's key", what()));
        }
        if recent.contains(key) {
            return Err(format!("{}: its key appears twice", what()));
        }
        recent.insert(key);
    }
    Ok(recent)
}

fn encode(key: u64, s: &EntityState) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        r[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&key.to_le_bytes());
    put(&s.first_seen.to_le_bytes());
    put(&s.last_seen.to_le_bytes());
    for c in s.counts {
        put(&c.to_le_bytes());
    }
    put(&s.amount_24h.to_le_bytes());
    put(&s.declines_7d.to_le_bytes());
    put(&s.linked.to_le_bytes());
    put(&s.address.to_le_bytes());
    put(&s.address_changed.to_le_bytes());
    r
}

fn decode(r: &[u8; RECORD]) -> Result<(u64, EntityState), String> {
    let u64_at = |at: usize| u64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
    let i64_at = |at: usize| i64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
    let f32_at = |at: usize| f32::from_le_bytes(r[at..at + 4].try_into().expect("4 bytes"));
    let s = EntityState {
        first_seen: i64_at(8),
        last_seen: i64_at(16),
        counts: [f32_at(24), f32_at(28), f32_at(32)],
        amount_24h: f32_at(36),
        declines_7d: f32_at(40),
        linked: u64_at(44),
        address: u32::from_le_bytes(r[52..56].try_into().expect("4 bytes")),
        address_changed: i64_at(56),
    };
    let decayed = [
        s.counts[0],
        s.counts[1],
        s.counts[2],
        s.amount_24h,
        s.declines_7d,
    ];
    if decayed.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err("a count or amount that is negative or not a number".into());
    }
    if s.last_seen < s.first_seen {
        return Err("last seen before first seen".into());
    }
    Ok((u64_at(0), s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::PaymentRequest;
    use proptest::prelude::*;

    fn payment(i: u32, card: u32) -> PaymentRequest {
        let json = serde_json::json!({
            "payment_id": format!("p{i}"),
            "time": format!("2026-03-01T{:02}:{:02}:00Z", (i / 60) % 24, i % 60),
            "amount": {"minor": 1_000 + i64::from(i), "currency": "EUR"},
            "merchant": "shop",
            "card": {"fingerprint": format!("card{card}"), "bin": "424242", "country": "DE"},
            "billing": {"country": "DE"},
            "shipping": {"country": "DE", "hash": format!("s{}", card % 3)},
            "ip": format!("198.18.0.{}", i % 7),
            "device": format!("dev{}", card % 4),
            "email_hash": format!("e{card}"),
            "account": {"id": format!("a{card}"), "age_days": 3},
        });
        PaymentRequest::from_json(json.to_string().as_bytes()).expect("valid")
    }

    fn store(payments: &[(u32, u32)]) -> FeatureStore {
        let mut s = FeatureStore::new(StateLimits::default());
        for (i, card) in payments {
            s.observe(&payment(*i, *card));
        }
        s
    }

    fn bytes(s: &FeatureStore) -> Vec<u8> {
        let mut out = Vec::new();
        s.write_snapshot(&mut out).expect("write");
        out
    }

    fn read_back(b: &[u8]) -> Result<FeatureStore, String> {
        FeatureStore::read_snapshot("state.bin", b, StateLimits::default())
            .map_err(|e| e.to_string())
    }

    proptest! {
        /// A state read back computes the same features for the next payment as the state
        /// it was written from.
        #[test]
        fn a_state_read_back_goes_on_as_the_original(
            seen in proptest::collection::vec((0u32..600, 0u32..20), 1..40),
            next_card in 0u32..20,
        ) {
            let mut original = store(&seen);
            let mut restored = read_back(&bytes(&original)).expect("valid");
            prop_assert_eq!(restored.len(), original.len());
            let next = payment(700, next_card);
            let (a, b) = (original.observe(&next), restored.observe(&next));
            for (x, y) in a.0.iter().zip(&b.0) {
                prop_assert!(x == y || (x.is_nan() && y.is_nan()), "{} against {}", x, y);
            }
        }
    }

    #[test]
    fn damage_is_refused_by_name() {
        let good = bytes(&store(&[(1, 1), (2, 2), (3, 1)]));
        crate::checksum::assert_framing_refused(&good, 60, "state.bin", |b| read_back(b).map(drop));
        let e = read_back(&good[..130]).expect_err("cut in a record");
        assert!(e.contains("ends inside card record 2"), "{e}");
        assert!(
            read_back(b"id,amount,currency,merchant\n1,2,EUR,m\n")
                .expect_err("csv")
                .contains("wrong header")
        );
    }

    #[test]
    fn more_entities_than_the_ceiling_are_refused() {
        let good = bytes(&store(&[(1, 1), (2, 2), (3, 3)]));
        let limits = StateLimits {
            max_entities: 2,
            ..StateLimits::default()
        };
        let e = FeatureStore::read_snapshot("s", good.as_slice(), limits)
            .expect_err("three cards")
            .to_string();
        assert!(
            e.contains("3 card entities, more than max_entities (2)"),
            "{e}"
        );
    }

    #[test]
    fn a_count_the_file_cannot_hold_is_refused_before_room_is_made() {
        let mut b = bytes(&store(&[(1, 1)]));
        // The card count (after the 50-byte header) says fifty million.
        b[50..58].copy_from_slice(&50_000_000u64.to_le_bytes());
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("state.bin");
        std::fs::write(&path, &b).expect("write");
        let limits = StateLimits {
            max_entities: 100_000_000,
            ..StateLimits::default()
        };
        let file = std::fs::File::open(&path).expect("open");
        let e = FeatureStore::read_snapshot_file("state.bin", file, limits)
            .expect_err("fifty million records in a few hundred bytes")
            .to_string();
        assert!(
            e.contains("50000000 card entities, more than its") && e.contains("bytes can hold"),
            "{e}"
        );
    }

    /// `v3`, a file of this version, as `version` (1 or 2) wrote the same state: without the
    /// recent payments, and for version 1 without the journal's number.
    fn older(v3: &[u8], recent: usize, version: u32) -> Vec<u8> {
        let mut old = v3[..22].to_vec();
        old.extend_from_slice(&version.to_le_bytes());
        old.extend_from_slice(&v3[if version == 1 { 34 } else { 26 }..v3.len() - 16 - 8 * recent]);
        crate::checksum::seal(&mut old);
        old
    }

    #[test]
    fn the_journal_file_that_continues_a_state_is_kept_and_older_versions_still_read() {
        let mut live = store(&[(1, 1), (2, 2)]);
        live.journal_from = 7;
        let v3 = bytes(&live);
        assert_eq!(read_back(&v3).expect("reads").journal_from(), 7);
        let v2 = read_back(&older(&v3, 2, 2)).expect("a version 2 file reads");
        assert_eq!((v2.journal_from(), v2.len()), (7, live.len()));
        assert_eq!(v2.recent.keys().len(), 0, "version 2 kept no payments");
        let v1 = read_back(&older(&v3, 2, 1)).expect("a version 1 file reads");
        assert_eq!((v1.journal_from(), v1.len()), (0, live.len()));
        let mut v4 = v3.clone();
        v4[22..26].copy_from_slice(&4u32.to_le_bytes());
        let e = read_back(&v4).expect_err("a later version");
        assert!(e.contains("format version 4"), "{e}");
    }

    #[test]
    fn a_state_read_back_remembers_the_payments_counted_last() {
        let mut live = store(&[(1, 1), (2, 2), (3, 1)]);
        live.observe(&payment(2, 2));
        assert_eq!(live.stats().repeated, 1);
        let mut restored = read_back(&bytes(&live)).expect("reads");
        assert_eq!(restored.stats().repeated, 0, "counted since the start");
        let before = bytes(&restored);
        restored.observe(&payment(3, 1));
        assert_eq!(restored.stats().repeated, 1, "scored before the restart");
        assert_eq!(bytes(&restored), before, "and not counted again");
        // A smaller window keeps the newest: payment 1 is forgotten, 3 is not.
        let limits = StateLimits {
            recent_payments: 2,
            ..StateLimits::default()
        };
        let mut small =
            FeatureStore::read_snapshot("s", bytes(&live).as_slice(), limits).expect("reads");
        let entities = small.len();
        small.observe(&payment(3, 1));
        assert_eq!(small.stats().repeated, 1);
        small.observe(&payment(1, 7));
        assert_eq!(small.stats().repeated, 1, "payment 1 counted again");
        assert!(small.len() > entities, "card 7 is new");
    }

    #[test]
    fn a_damaged_recent_payment_is_refused_by_its_place() {
        let good = bytes(&store(&[(1, 1), (2, 2)]));
        let (last, sum) = (good.len() - 16, good.len() - 8);
        let with = |key: u64| {
            let mut b = good[..sum].to_vec();
            b[last..].copy_from_slice(&key.to_le_bytes());
            crate::checksum::seal(&mut b);
            read_back(&b).map(drop)
        };
        assert_eq!(
            with(u64::from_le_bytes(good[last..sum].try_into().expect("8"))),
            Ok(())
        );
        let e = with(1 << 50).expect_err("wider than a key");
        assert!(
            e.contains("recent payment 2") && e.contains("not a payment's key"),
            "{e}"
        );
        let first = u64::from_le_bytes(good[last - 8..last].try_into().expect("8"));
        let e = with(first).expect_err("twice");
        assert!(e.contains("recent payment 2: its key appears twice"), "{e}");
    }

    #[test]
    fn impossible_values_are_refused() {
        let mut s = EntityState::new(100);
        s.counts[1] = f32::NAN;
        let e = decode(&encode(7, &s)).expect_err("NaN count");
        assert!(e.contains("not a number"), "{e}");
        let mut s = EntityState::new(100);
        s.last_seen = 50;
        assert!(
            decode(&encode(7, &s))
                .expect_err("time")
                .contains("before first seen")
        );
        let s = EntityState::new(100);
        assert_eq!(decode(&encode(7, &s)).expect("valid"), (7, s));
    }
}
