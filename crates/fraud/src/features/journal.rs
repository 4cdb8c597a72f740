//! What the feature state's journal holds: one fixed-size record per payment or decline
//! counted, enough to count it again on a replay (its time, amount and hashed entity keys, and
//! its key among the recent payments, in the six bytes after the tag and the keys present:
//! zero in records written before it was kept).
//! Records are kept in memory as they are counted, under the scorer's lock, and taken out in
//! batches by the journal file writer (`crate::journal`), which frames them on disk; a replay
//! counts them again through the same code as scoring, so the state it rebuilds is the state
//! that was lost.

use super::store::{DeclineKeys, FeatureStore, PaymentKeys};
use crate::journal::{Frame, Journaled, Pending};
use crate::request::MAX_AMOUNT_MINOR;

/// Bytes of one record: a tag, the keys present, the payment's key, time, amount and six
/// entity keys.
pub const RECORD_BYTES: usize = 72;

const PAYMENT: u8 = 1;
const DECLINE: u8 = 2;

/// Keeps the record of a payment counted.
pub(super) fn payment(pending: &mut Pending, p: &PaymentKeys) {
    let keys = [p.device, p.ip, p.email, p.account, p.shipping];
    pending.push(&encode(PAYMENT, p.id, p.time, p.amount, p.card, keys));
}

/// Keeps the record of a decline counted.
pub(super) fn decline(pending: &mut Pending, d: &DeclineKeys) {
    pending.push(&encode(
        DECLINE,
        d.id,
        d.time,
        0.0,
        d.card,
        [None, d.ip, None, None, None],
    ));
}

fn encode(tag: u8, id: u64, time: i64, amount: f64, card: u64, keys: [Option<u64>; 5]) -> [u8; 72] {
    let mut r = [0u8; RECORD_BYTES];
    r[0] = tag;
    r[2..8].copy_from_slice(&id.to_le_bytes()[..6]);
    r[8..16].copy_from_slice(&time.to_le_bytes());
    r[16..24].copy_from_slice(&amount.to_le_bytes());
    r[24..32].copy_from_slice(&card.to_le_bytes());
    for (i, key) in keys.into_iter().enumerate() {
        if let Some(k) = key {
            r[1] |= 1 << i;
            let at = 32 + 8 * i;
            r[at..at + 8].copy_from_slice(&k.to_le_bytes());
        }
    }
    r
}

/// What a record's tag stands for, in errors.
fn kind(tag: u8) -> &'static str {
    if tag == DECLINE { "decline" } else { "payment" }
}

/// A record read back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Record {
    Payment(PaymentKeys),
    Decline(DeclineKeys),
}

/// Decodes a record; a value no count produces is an error saying which.
fn decode(r: &[u8; RECORD_BYTES]) -> Result<Record, String> {
    let u64_at = |at: usize| u64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
    let time = u64_at(8) as i64;
    if chrono::DateTime::from_timestamp(time, 0).is_none() {
        return Err(format!("time {time} is out of range"));
    }
    let mut id = [0u8; 8];
    id[..6].copy_from_slice(&r[2..8]);
    let id = u64::from_le_bytes(id);
    // A payment's key is even and a decline's odd (`recent::key`); 0: written before keys.
    if id != 0 && id & 1 != u64::from(r[0] == DECLINE) {
        return Err(format!(
            "payment key {id:#x} is not one a {} has",
            kind(r[0])
        ));
    }
    let key = |i: usize| (r[1] & (1 << i) != 0).then(|| u64_at(32 + 8 * i));
    let unused_keys_zero = (0..5).all(|i| r[1] & (1 << i) != 0 || u64_at(32 + 8 * i) == 0);
    if r[1] >= 1 << 5 || !unused_keys_zero {
        return Err("a key marked absent is present".into());
    }
    let amount = f64::from_le_bytes(r[16..24].try_into().expect("8 bytes"));
    match r[0] {
        PAYMENT => {
            if !(amount.is_finite() && (0.0..=MAX_AMOUNT_MINOR as f64).contains(&amount)) {
                return Err(format!("amount {amount} is out of range"));
            }
            Ok(Record::Payment(PaymentKeys {
                id,
                time,
                amount,
                card: u64_at(24),
                device: key(0),
                ip: key(1),
                email: key(2),
                account: key(3),
                shipping: key(4),
            }))
        }
        DECLINE => {
            if amount != 0.0 || r[1] & !(1 << 1) != 0 {
                return Err("a decline with an amount or keys other than its IP address".into());
            }
            Ok(Record::Decline(DeclineKeys {
                id,
                time,
                card: u64_at(24),
                ip: key(1),
            }))
        }
        tag => Err(format!("unknown record type {tag}")),
    }
}

impl Journaled for FeatureStore {
    const MAGIC: &'static [u8; 24] = b"ensuresec fraud journal\n";
    const FRAME: Frame = Frame::Fixed(RECORD_BYTES);

    fn journal_from(&self) -> u64 {
        self.journal_from
    }

    fn journal_pending(&mut self) -> &mut Option<Pending> {
        &mut self.journal
    }

    /// Counts one record again, as it was counted when it was recorded.
    fn replay(&mut self, record: &[u8]) -> Result<(), String> {
        let record: &[u8; RECORD_BYTES] = record
            .try_into()
            .map_err(|_| format!("{} bytes, not {RECORD_BYTES}", record.len()))?;
        match decode(record)? {
            Record::Payment(p) => {
                self.count(&p);
            }
            Record::Decline(d) => self.count_decline(&d),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::StateLimits;
    use crate::request::PaymentRequest;
    use crate::request::tests::sample_json;
    use ensuresec_model::event::{PaymentAuthorization, PaymentOutcome};
    use proptest::prelude::*;

    /// Payment `id` (its number) at `second`.
    fn payment(
        id: usize,
        second: i64,
        card: u32,
        device: Option<u32>,
        account: bool,
    ) -> PaymentRequest {
        let mut v = sample_json();
        v["payment_id"] = format!("p{id}").into();
        let t = chrono::DateTime::from_timestamp(1_770_000_000 + second, 0).expect("time");
        v["time"] = t.to_rfc3339().into();
        v["card"]["fingerprint"] = format!("card{card}").into();
        match device {
            Some(d) => v["device"] = format!("dev{d}").into(),
            None => {
                v.as_object_mut().expect("object").remove("device");
            }
        }
        if !account {
            v.as_object_mut().expect("object").remove("account");
        }
        PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid")
    }

    /// The decline of payment `id`, on `card`.
    fn decline(id: usize, card: u32) -> PaymentAuthorization {
        serde_json::from_value(serde_json::json!({
            "payment_id": format!("p{id}"), "merchant": sample_json()["merchant"],
            "card_fingerprint": format!("card{card}"),
            "amount": {"minor": 100, "currency": "EUR"}, "outcome": "declined",
            "ip": "192.0.2.7"
        }))
        .expect("an authorisation")
    }

    /// Replays `journal` over `base` and returns the result.
    fn replayed(base: &FeatureStore, journal: &Pending) -> FeatureStore {
        let mut store = base.clone();
        store.journal = None;
        for record in journal.records() {
            store.replay(record).expect("a record the store wrote");
        }
        store
    }

    fn state_bytes(store: &FeatureStore) -> Vec<u8> {
        let mut bytes = Vec::new();
        store.write_snapshot(&mut bytes).expect("in memory");
        bytes
    }

    proptest! {
        #[test]
        fn a_replay_of_the_journal_rebuilds_the_state_counted(
            before in proptest::collection::vec((0i64..3_000, 0u32..8, proptest::option::of(0u32..4), any::<bool>()), 0..20),
            after in proptest::collection::vec((0i64..3_000, 0u32..8, proptest::option::of(0u32..4), any::<bool>(), any::<bool>()), 1..40),
            again in proptest::collection::vec(0usize..60, 0..10),
        ) {
            let limits = StateLimits { max_entities: 6, ..StateLimits::default() };
            let mut live = FeatureStore::new(limits);
            for (i, (t, card, device, account)) in before.into_iter().enumerate() {
                live.observe(&payment(i, t, card, device, account));
            }
            // The snapshot, then the journal of what comes after it.
            let snapshot = live.clone();
            live.start_journal();
            let mut sent = Vec::new();
            for (i, (t, card, device, account, declined)) in after.into_iter().enumerate() {
                let p = payment(100 + i, t, card, device, account);
                live.observe(&p);
                sent.push(p);
                if declined {
                    live.record_outcome(&decline(100 + i, card), 1_770_000_000 + t);
                }
            }
            // Some scored again: not counted again, so nothing is recorded of them.
            for i in again {
                live.observe(&sent[i % sent.len()]);
            }
            let mut journal = Pending::default();
            prop_assert_eq!(live.take_journal(&mut journal), 0);
            prop_assert!(journal.records().all(|r| r.len() == RECORD_BYTES));
            let rebuilt = replayed(&snapshot, &journal);
            prop_assert_eq!(state_bytes(&rebuilt), state_bytes(&live));
        }
    }

    #[test]
    fn only_declines_are_recorded_and_approvals_leave_nothing() {
        let mut store = FeatureStore::new(StateLimits::default());
        store.start_journal();
        store.observe(&payment(0, 0, 1, Some(1), true));
        let mut approved = decline(0, 1);
        approved.outcome = PaymentOutcome::Approved;
        store.record_outcome(&approved, 1_770_000_001);
        store.record_outcome(&decline(0, 1), 1_770_000_002);
        // Reported again: counted once.
        store.record_outcome(&decline(0, 1), 1_770_000_003);
        let mut journal = Pending::default();
        store.take_journal(&mut journal);
        let tags: Vec<u8> = journal.records().map(|r| r[0]).collect();
        assert_eq!(tags, [PAYMENT, DECLINE]);
        // Taken once: the next take has nothing.
        let mut again = Pending::default();
        store.take_journal(&mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn a_store_without_a_journal_keeps_no_record() {
        let mut store = FeatureStore::new(StateLimits::default());
        store.observe(&payment(0, 0, 1, Some(1), true));
        let mut journal = Pending::default();
        assert_eq!(store.take_journal(&mut journal), 0);
        assert!(journal.is_empty());
    }

    #[test]
    fn a_record_of_another_length_is_refused_by_its_length() {
        let mut store = FeatureStore::new(StateLimits::default());
        let e = store.replay(&[PAYMENT; 80]).expect_err("refused");
        assert_eq!(e, "80 bytes, not 72");
    }

    #[test]
    fn impossible_records_are_refused_by_what_is_wrong() {
        let good = encode(
            PAYMENT,
            0x2468,
            1_770_000_000,
            12.5,
            7,
            [Some(1), None, None, None, None],
        );
        assert!(decode(&good).is_ok());
        type Damage = fn(&mut [u8; RECORD_BYTES]);
        let cases: [(Damage, &str); 6] = [
            (|r| r[0] = 9, "unknown record type 9"),
            (|r| r[2] = 1, "payment key 0x2401 is not one a payment has"),
            (|r| r[40] = 1, "a key marked absent"),
            (
                |r| r[8..16].copy_from_slice(&i64::MAX.to_le_bytes()),
                "time",
            ),
            (
                |r| r[16..24].copy_from_slice(&f64::NAN.to_le_bytes()),
                "amount",
            ),
            (
                |r| r[16..24].copy_from_slice(&(-1.0f64).to_le_bytes()),
                "amount",
            ),
        ];
        for (damage, says) in cases {
            let mut r = good;
            damage(&mut r);
            let e = decode(&r).expect_err("refused");
            assert!(e.contains(says), "{e} should say {says}");
        }
        let mut decline = encode(DECLINE, 0x2469, 1_770_000_000, 0.0, 7, [None; 5]);
        assert!(decode(&decline).is_ok());
        let mut even = decline;
        even[2] = 0x68;
        assert!(
            decode(&even)
                .expect_err("refused")
                .contains("not one a decline has")
        );
        decline[1] = 1; // a device on a decline
        assert!(decode(&decline).expect_err("refused").contains("a decline"));
    }
}
