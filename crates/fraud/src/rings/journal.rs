//! What the ring graph's journal holds: one record per payment linked and per label, with the
//! event time the graph's clock moved to, the payment's key and, for a payment, the entities
//! it ties together (their values too: a report lists them). A replay takes them again
//! through the same code as the detector, so the graph it rebuilds, its generations, rotations
//! and reports included, is the graph that was lost.

use super::{Link, RingGraph};
use crate::journal::{Frame, Journaled, Pending};

const PAYMENT: u8 = 1;
const LABEL: u8 = 2;

/// Keeps the record of payment `pay` at `time` tying `entities` together.
pub(super) fn payment(pending: &mut Pending, time: i64, pay: u64, entities: &[(Link, &str)]) {
    let values: usize = entities.iter().map(|(_, v)| v.len() + 5).sum();
    let mut r = Vec::with_capacity(21 + values);
    r.push(PAYMENT);
    r.extend_from_slice(&time.to_le_bytes());
    r.extend_from_slice(&pay.to_le_bytes());
    r.extend_from_slice(&(entities.len() as u32).to_le_bytes());
    for (kind, value) in entities {
        r.push(*kind as u8);
        r.extend_from_slice(&(value.len() as u32).to_le_bytes());
        r.extend_from_slice(value.as_bytes());
    }
    pending.push(&r);
}

/// Keeps the record of a label of payment `pay` at `time`.
pub(super) fn label(pending: &mut Pending, time: i64, pay: u64, fraud: bool) {
    let mut r = [0u8; 18];
    r[0] = LABEL;
    r[1..9].copy_from_slice(&time.to_le_bytes());
    r[9..17].copy_from_slice(&pay.to_le_bytes());
    r[17] = u8::from(fraud);
    pending.push(&r);
}

/// A record read back.
#[derive(Debug, PartialEq)]
enum Record {
    Payment {
        time: i64,
        pay: u64,
        entities: Vec<(Link, String)>,
    },
    Label {
        time: i64,
        pay: u64,
        fraud: bool,
    },
}

/// Reads a record's fields in order, naming the one that is missing.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err(format!("ends inside {what}"));
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        Ok(self.bytes(N, what)?.try_into().expect("N bytes"))
    }
}

/// Decodes a record; a value the graph never writes is an error saying which.
fn decode(record: &[u8]) -> Result<Record, String> {
    let mut f = Fields { rest: record };
    let [tag] = f.array::<1>("its type")?;
    let time = i64::from_le_bytes(f.array("its time")?);
    if chrono::DateTime::from_timestamp(time, 0).is_none() {
        return Err(format!("time {time} is out of range"));
    }
    let pay = u64::from_le_bytes(f.array("its payment")?);
    let decoded = match tag {
        PAYMENT => {
            let count = u32::from_le_bytes(f.array("its entity count")?);
            // Each entity takes at least five bytes: no count can promise more than are left.
            if count as usize > f.rest.len() / 5 {
                return Err(format!("{count} entities in {} bytes", f.rest.len()));
            }
            let mut entities = Vec::with_capacity(count as usize);
            for i in 1..=count {
                let what = format!("entity {i}");
                let [kind] = f.array::<1>(&what)?;
                let kind =
                    Link::from_byte(kind).ok_or_else(|| format!("{what}: unknown kind {kind}"))?;
                let len = u32::from_le_bytes(f.array(&what)?) as usize;
                let value = std::str::from_utf8(f.bytes(len, &what)?)
                    .map_err(|_| format!("{what}: its value is not UTF-8"))?;
                entities.push((kind, value.to_string()));
            }
            Record::Payment {
                time,
                pay,
                entities,
            }
        }
        LABEL => {
            let [fraud] = f.array::<1>("its label")?;
            if fraud > 1 {
                return Err(format!("unknown label {fraud}"));
            }
            Record::Label {
                time,
                pay,
                fraud: fraud == 1,
            }
        }
        tag => return Err(format!("unknown record type {tag}")),
    };
    if !f.rest.is_empty() {
        return Err(format!("{} bytes after its end", f.rest.len()));
    }
    Ok(decoded)
}

impl Journaled for RingGraph {
    const MAGIC: &'static [u8; 24] = b"ensuresec rings journal\n";
    const FRAME: Frame = Frame::Prefixed;

    fn journal_from(&self) -> u64 {
        self.journal_from
    }

    fn journal_pending(&mut self) -> &mut Option<Pending> {
        &mut self.journal
    }

    /// Takes one record again, as the graph took it when it was made (a report it completes
    /// was raised then, and is not raised again).
    fn replay(&mut self, record: &[u8]) -> Result<(), String> {
        match decode(record)? {
            Record::Payment {
                time,
                pay,
                entities,
            } => {
                let borrowed: Vec<(Link, &str)> =
                    entities.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.link(time, pay, &borrowed);
            }
            Record::Label { time, pay, fraud } => {
                self.label_key(time, pay, fraud);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rings::testing::{apply, limits, step};
    use proptest::prelude::*;

    proptest! {
        /// A graph written to its file, then the journal of what followed, taken again over
        /// the file's graph, is the graph that went on: same file bytes, same counters.
        #[test]
        fn a_replay_of_the_journal_rebuilds_the_graph(
            before in proptest::collection::vec(step(), 0..40),
            after in proptest::collection::vec(step(), 1..60),
        ) {
            let mut live = RingGraph::new(limits());
            for s in &before {
                apply(&mut live, s);
            }
            let file = live.snapshot();
            live.start_journal();
            for s in &after {
                apply(&mut live, s);
            }
            let mut journal = Pending::default();
            prop_assert_eq!(live.take_journal(&mut journal), 0);
            prop_assert_eq!(journal.len(), after.len() as u64);
            let mut rebuilt = RingGraph::read_snapshot("rings.bin", file.as_slice(), limits())
                .expect("valid");
            for record in journal.records() {
                rebuilt.replay(record).expect("a record the graph wrote");
            }
            prop_assert_eq!(canonical(&rebuilt), canonical(&live));
        }
    }

    /// What `g` holds, in an order that does not depend on how its tables grew: its counters
    /// and clock, and per generation its start, every entity with its group's root and its
    /// link, the groups' counts and the payments by key with their card and label.
    fn canonical(g: &RingGraph) -> String {
        let mut out = format!("{:?} {:?}\n", g.stats(), g.now);
        for generation in [&g.previous, &g.current] {
            let roots: Vec<u32> = (0..generation.nodes() as u32)
                .map(|i| generation.root_of(i))
                .collect();
            let groups: Vec<_> = roots
                .iter()
                .map(|r| generation.groups[*r as usize])
                .collect();
            let mut payments: Vec<_> = generation.payments.iter().collect();
            payments.sort_by_key(|(key, _)| **key);
            out += &format!(
                "{:?} {roots:?} {:?} {:?} {groups:?} {payments:?}\n",
                generation.started, generation.linked_to, generation.members
            );
        }
        out
    }

    #[test]
    fn records_decode_to_what_was_taken() {
        let mut pending = Pending::default();
        payment(
            &mut pending,
            1_770_000_000,
            42,
            &[(Link::Card, "c1"), (Link::Ip, "2001:db8::1")],
        );
        label(&mut pending, 1_770_000_001, 42, true);
        let back: Vec<Record> = pending
            .records()
            .map(|r| decode(r).expect("valid"))
            .collect();
        assert_eq!(
            back,
            [
                Record::Payment {
                    time: 1_770_000_000,
                    pay: 42,
                    entities: vec![(Link::Card, "c1".into()), (Link::Ip, "2001:db8::1".into())],
                },
                Record::Label {
                    time: 1_770_000_001,
                    pay: 42,
                    fraud: true
                },
            ]
        );
    }

    #[test]
    fn impossible_records_are_refused_by_what_is_wrong() {
        let mut pending = Pending::default();
        payment(&mut pending, 1_770_000_000, 42, &[(Link::Card, "c1")]);
        label(&mut pending, 1_770_000_000, 42, false);
        let records: Vec<Vec<u8>> = pending.records().map(<[u8]>::to_vec).collect();
        let (good_payment, good_label) = (&records[0], &records[1]);
        type Damage = fn(&mut Vec<u8>);
        let cases: [(&[u8], Damage, &str); 9] = [
            (good_payment, |r| r[0] = 9, "unknown record type 9"),
            (
                good_payment,
                |r| r[1..9].copy_from_slice(&i64::MAX.to_le_bytes()),
                "time",
            ),
            (good_payment, |r| r.truncate(5), "ends inside its time"),
            (good_payment, |r| r[21] = 6, "entity 1: unknown kind 6"),
            (
                good_payment,
                |r| r[26] = 0xff,
                "entity 1: its value is not UTF-8",
            ),
            (good_payment, |r| r[17] = 200, "200 entities in 7 bytes"),
            (good_payment, |r| r.push(0), "1 bytes after its end"),
            (good_label, |r| r[17] = 2, "unknown label 2"),
            (good_label, |r| r.truncate(17), "ends inside its label"),
        ];
        for (good, damage, says) in cases {
            let mut r = good.to_vec();
            damage(&mut r);
            let e = decode(&r).expect_err(says);
            assert!(e.contains(says), "{e} should say {says}");
        }
    }
}
