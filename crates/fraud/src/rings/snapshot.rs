//! The ring graph on disk, so that a restart does not forget which cards, devices, addresses,
//! accounts and IP addresses payments have tied together: without it a ring half built before
//! a deploy starts again from nothing, and the chargebacks that arrive weeks later find no
//! payment to label.
//!
//! The format is our own, little-endian, framed by `crate::checksum` (a 64-bit FNV-1a checksum
//! of everything before it ends the file): a header with the number of the first journal file
//! that continues the graph (`crate::journal`), the counters and the graph's latest event
//! time, then the two generations, older first, each as its start time, its entity count
//! and per entity the root of its group, the frauds its group had when it was last reported
//! (roots only), the entity it is linked to (`u32::MAX` for none), its kind and its value
//! (length, bytes), then its payment count and per payment
//! its key, its card's entity and its label; then, from version 5, per generation (older
//! first) the count of its reported groups whose report's event is known and per group its
//! root and the key of the payment whose payment or label made the report. Group sizes, payments and frauds are not stored but
//! counted again from the entities and payments, so that they cannot disagree with them; the
//! member lists are rebuilt (in another order, which no report shows: members are sorted). A
//! file is read completely before it is used, and a wrong header or version, a count above half
//! a configured ceiling, an unknown kind or label, a root or entity that does not exist, a
//! link to another group or links in a cycle, an entity or payment twice, a generation that starts after the graph's latest time, a wrong
//! checksum or a byte too few or too many is an error naming what and where. Written here for
//! the reason `features/snapshot.rs` gives.

use std::io::{self, Read};
use std::path::Path;

use super::generation::{Generation, Group, Label, NO_LINK, key};
use super::{Link, Member, RingGraph, RingLimits};
use crate::checksum::{Checksum, seal};
use crate::error::FileError;

/// First bytes of every ring file.
const MAGIC: &[u8; 22] = b"ensuresec fraud rings\n";
/// The format's version: a file of another version is refused, but for versions 2 (written
/// before the journal, read as continued by no journal file before the first), 3 (written
/// before the links, read as a graph whose entities are linked to none) and 4 (written before
/// the reports' events, read as knowing none).
const VERSION: u32 = 5;
/// An unknown time in the file (the graph's clock, a generation's start).
const NO_TIME: i64 = i64::MIN;
/// The labels by their byte in the file.
const LABELS: [Label; 3] = [Label::Unknown, Label::Fraud, Label::Legitimate];
/// The generations in file order, as errors name them.
const GENERATIONS: [&str; 2] = ["older", "newer"];

impl RingGraph {
    /// The graph as the bytes of a ring file.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut bytes = self.snapshot_body();
        seal(&mut bytes);
        bytes
    }

    /// The file's bytes but its checksum: the part that needs the graph, so that whoever holds
    /// the graph's lock (`Kept::save` of [`super::RingService`]) holds it only for this, and names the
    /// journal file that continues it (`set_journal_from`), seals and writes the file after.
    pub fn snapshot_body(&self) -> Vec<u8> {
        let [older, newer] = [&self.previous, &self.current];
        let size = |g: &Generation| {
            g.members.iter().map(|m| m.value.len()).sum::<usize>()
                + 17 * g.members.len()
                + 13 * g.payments.len()
                + 12 * g.reported_by.len()
                + 24
        };
        let mut bytes = Vec::with_capacity(64 + size(older) + size(newer));
        write(self, &mut bytes);
        bytes
    }

    /// Whether `head`, a file's first bytes, begins as a ring file does.
    pub fn is_snapshot(head: &[u8]) -> bool {
        head.starts_with(MAGIC)
    }

    /// Reads a ring file written from [`RingGraph::snapshot`], to go on under `limits`; `file`
    /// names it in errors.
    pub fn read_snapshot(
        file: &str,
        input: impl Read,
        limits: RingLimits,
    ) -> Result<RingGraph, FileError> {
        read(input, limits).map_err(|m| FileError::new(file, m))
    }
}

/// Where a file's body says which journal file continues it: after the magic and the version.
const JOURNAL_FROM_AT: usize = MAGIC.len() + 4;

/// Names journal file `number` as the first that continues the graph whose file's body (from
/// [`RingGraph::snapshot_body`]) is `body`.
pub(super) fn set_journal_from(body: &mut [u8], number: u64) {
    body[JOURNAL_FROM_AT..JOURNAL_FROM_AT + 8].copy_from_slice(&number.to_le_bytes());
}

/// Seals `body` and writes it to `path` whole (see `ensuresec_durable`), owner-only.
pub(super) fn write_file(path: &Path, mut body: Vec<u8>) -> Result<(), FileError> {
    seal(&mut body);
    ensuresec_durable::replace(path, 0o600, &body).map_err(|e| FileError::writing(path, e))
}

/// The graph kept at `path`, or an empty one when the file does not exist yet (the first
/// start); a file that cannot be read or is refused is an error naming it.
pub fn load(path: &Path, limits: RingLimits) -> Result<RingGraph, FileError> {
    crate::journal::read_or_new(
        path,
        |name, file| RingGraph::read_snapshot(name, file, limits),
        || RingGraph::new(limits),
    )
}

fn write(g: &RingGraph, out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&g.journal_from.to_le_bytes());
    out.extend_from_slice(&g.stats.rotations.to_le_bytes());
    out.extend_from_slice(&g.stats.dropped.to_le_bytes());
    out.extend_from_slice(&g.stats.unknown_labels.to_le_bytes());
    out.extend_from_slice(&g.now.unwrap_or(NO_TIME).to_le_bytes());
    for generation in [&g.previous, &g.current] {
        write_generation(generation, out);
    }
    for generation in [&g.previous, &g.current] {
        // In order of their roots, so that equal graphs make equal files.
        let mut reporters: Vec<(u32, u64)> = generation
            .reported_by
            .iter()
            .map(|(root, pay)| (*root, *pay))
            .collect();
        reporters.sort_unstable();
        out.extend_from_slice(&(reporters.len() as u64).to_le_bytes());
        for (root, pay) in reporters {
            out.extend_from_slice(&root.to_le_bytes());
            out.extend_from_slice(&pay.to_le_bytes());
        }
    }
}

fn write_generation(g: &Generation, out: &mut Vec<u8>) {
    out.extend_from_slice(&g.started.unwrap_or(NO_TIME).to_le_bytes());
    out.extend_from_slice(&(g.members.len() as u64).to_le_bytes());
    for (i, member) in g.members.iter().enumerate() {
        let root = g.root_of(i as u32);
        let reported = if root as usize == i {
            g.groups[i].reported
        } else {
            0
        };
        out.extend_from_slice(&root.to_le_bytes());
        out.extend_from_slice(&reported.to_le_bytes());
        out.extend_from_slice(&g.linked_to[i].to_le_bytes());
        out.push(member.kind as u8);
        out.extend_from_slice(&(member.value.len() as u32).to_le_bytes());
        out.extend_from_slice(member.value.as_bytes());
    }
    out.extend_from_slice(&(g.payments.len() as u64).to_le_bytes());
    for (key, (node, label)) in &g.payments {
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&node.to_le_bytes());
        let byte = LABELS
            .iter()
            .position(|l| l == label)
            .expect("a known label");
        out.push(byte as u8);
    }
}

fn read(input: impl Read, limits: RingLimits) -> Result<RingGraph, String> {
    let mut input = Checksum::new(io::BufReader::new(input));
    let header = || "the header".to_string();
    let magic: [u8; 22] = input.take(&header)?;
    if &magic != MAGIC {
        return Err("not a fraud ring file (wrong header)".into());
    }
    let version = u32::from_le_bytes(input.take(&header)?);
    let journal_from = match version {
        2 => 0,
        3..=VERSION => u64::from_le_bytes(input.take(&header)?),
        _ => {
            return Err(format!(
                "format version {version}; this build reads versions 2 to {VERSION}"
            ));
        }
    };
    let links = version >= 4;
    let mut g = RingGraph::new(limits);
    g.journal_from = journal_from;
    g.stats.rotations = u64::from_le_bytes(input.take(&header)?);
    g.stats.dropped = u64::from_le_bytes(input.take(&header)?);
    g.stats.unknown_labels = u64::from_le_bytes(input.take(&header)?);
    g.now = time(i64::from_le_bytes(input.take(&header)?));
    g.previous = read_generation(&mut input, GENERATIONS[0], limits, links, None)?;
    g.current = read_generation(&mut input, GENERATIONS[1], limits, links, Some(&g.previous))?;
    if version >= 5 {
        read_reporters(&mut input, GENERATIONS[0], &mut g.previous)?;
        read_reporters(&mut input, GENERATIONS[1], &mut g.current)?;
    }
    for (name, generation) in GENERATIONS.iter().zip([&g.previous, &g.current]) {
        let after = match (generation.started, g.now) {
            (Some(started), Some(now)) => started > now,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if after {
            return Err(format!(
                "the {name} generation starts after the graph's latest time"
            ));
        }
    }
    input.check_end()?;
    Ok(g)
}

/// Reads one generation (`name` in errors), each under half of `limits`' ceilings, whose
/// entities carry their links when `links` (version 4 on); `older`, when given, holds payments
/// this one must not hold too.
fn read_generation(
    input: &mut Checksum<impl Read>,
    name: &str,
    limits: RingLimits,
    links: bool,
    older: Option<&Generation>,
) -> Result<Generation, String> {
    let (max_nodes, max_payments) = (limits.max_nodes / 2, limits.max_payments / 2);
    let started = time(i64::from_le_bytes(
        input.take(&|| format!("the {name} generation's start"))?,
    ));
    let count = u64::from_le_bytes(input.take(&|| format!("the {name} entity count"))?);
    if count > max_nodes as u64 {
        return Err(format!(
            "{count} {name} entities, more than a generation holds (half of max_nodes: {max_nodes})"
        ));
    }
    let n = count as usize;
    let mut g = Generation {
        started,
        ..Generation::default()
    };
    g.members.reserve(n);
    let mut roots = Vec::with_capacity(n);
    let mut reported = Vec::with_capacity(n);
    g.linked_to.reserve(n);
    for i in 0..n {
        let what = || format!("{name} entity {}", i + 1);
        let root = u32::from_le_bytes(input.take(&what)?);
        let frauds_reported = u32::from_le_bytes(input.take(&what)?);
        let linked_to = if links {
            u32::from_le_bytes(input.take(&what)?)
        } else {
            NO_LINK
        };
        let [kind] = input.take::<1>(&what)?;
        let kind =
            Link::from_byte(kind).ok_or_else(|| format!("{}: unknown kind {kind}", what()))?;
        let len = u32::from_le_bytes(input.take(&what)?) as usize;
        let value = String::from_utf8(input.take_vec(len, &what)?)
            .map_err(|_| format!("{}: its value is not UTF-8", what()))?;
        if root as usize >= n {
            return Err(format!(
                "{}: its group's root, entity {}, does not exist",
                what(),
                u64::from(root) + 1
            ));
        }
        if g.index.insert(key(kind, &value), i as u32).is_some() {
            return Err(format!("{}: it appears twice", what()));
        }
        if linked_to != NO_LINK && linked_to as usize >= n {
            return Err(format!(
                "{}: linked to entity {}, which does not exist",
                what(),
                u64::from(linked_to) + 1
            ));
        }
        roots.push(root);
        reported.push(frauds_reported);
        g.linked_to.push(linked_to);
        g.members.push(Member { kind, value });
    }
    for (i, &root) in roots.iter().enumerate() {
        if roots[root as usize] != root {
            return Err(format!(
                "{name} entity {}: its group's root is itself in another group",
                i + 1
            ));
        }
        if root as usize != i && reported[i] != 0 {
            return Err(format!(
                "{name} entity {}: a report count, but it is not its group's root",
                i + 1
            ));
        }
    }
    check_links(&g.linked_to, &roots, name)?;
    rebuild_groups(&mut g, roots, &reported);
    let payments = u64::from_le_bytes(input.take(&|| format!("the {name} payment count"))?);
    if payments > max_payments as u64 {
        return Err(format!(
            "{payments} {name} payments, more than a generation holds (half of max_payments: {max_payments})"
        ));
    }
    g.payments.reserve(payments as usize);
    for j in 0..payments {
        let what = || format!("{name} payment {}", j + 1);
        let pay = u64::from_le_bytes(input.take(&what)?);
        let node = u32::from_le_bytes(input.take(&what)?);
        let [label] = input.take::<1>(&what)?;
        let label = *LABELS
            .get(usize::from(label))
            .ok_or_else(|| format!("{}: unknown label {label}", what()))?;
        let Some(&root) = g.parent.get(node as usize) else {
            return Err(format!(
                "{}: its card, entity {}, does not exist",
                what(),
                u64::from(node) + 1
            ));
        };
        if older.is_some_and(|o| o.payments.contains_key(&pay))
            || g.payments.insert(pay, (node, label)).is_some()
        {
            return Err(format!("{}: it appears twice", what()));
        }
        let group = &mut g.groups[root as usize];
        group.payments += 1;
        group.frauds += u32::from(label == Label::Fraud);
    }
    Ok(g)
}

/// Reads which payment made the last report of generation `g`'s groups (`name` in errors):
/// each at the root of a reported group, once, by a payment the generation holds.
fn read_reporters(
    input: &mut Checksum<impl Read>,
    name: &str,
    g: &mut Generation,
) -> Result<(), String> {
    let count = u64::from_le_bytes(input.take(&|| format!("the {name} report count"))?);
    if count > g.nodes() as u64 {
        return Err(format!(
            "{count} {name} reports, more than its {} entities",
            g.nodes()
        ));
    }
    for r in 0..count {
        let what = || format!("{name} report {}", r + 1);
        let root = u32::from_le_bytes(input.take(&what)?);
        let pay = u64::from_le_bytes(input.take(&what)?);
        let reported_root =
            g.parent.get(root as usize) == Some(&root) && g.groups[root as usize].reported > 0;
        if !reported_root {
            return Err(format!(
                "{}: entity {} is not the root of a reported group",
                what(),
                u64::from(root) + 1
            ));
        }
        if !g.payments.contains_key(&pay) {
            return Err(format!("{}: made by a payment it does not hold", what()));
        }
        if g.reported_by.insert(root, pay).is_some() {
            return Err(format!("{}: its group is reported twice", what()));
        }
    }
    Ok(())
}

/// Refuses links that tie two groups (`roots` gives each entity's group) or that run in a
/// cycle, which the links the graph makes never do and which would leave a later join walking
/// round the cycle for ever. Each entity is walked from once: a walk stops at an entity
/// already cleared, so the check takes one step per entity and link.
fn check_links(linked_to: &[u32], roots: &[u32], name: &str) -> Result<(), String> {
    /// Where a walk stands at an entity.
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        Not,
        /// On the way up being walked now.
        OnThisWalk,
        /// Its way up ends at an entity linked to none.
        Cleared,
    }
    let mut seen = vec![Seen::Not; linked_to.len()];
    for start in 0..linked_to.len() {
        let mut at = start;
        while seen[at] == Seen::Not {
            seen[at] = Seen::OnThisWalk;
            let up = linked_to[at];
            if up == NO_LINK {
                break;
            }
            if roots[up as usize] != roots[at] {
                return Err(format!(
                    "{name} entity {}: linked to entity {}, of another group",
                    at + 1,
                    u64::from(up) + 1
                ));
            }
            at = up as usize;
        }
        if seen[at] == Seen::OnThisWalk && linked_to[at] != NO_LINK {
            return Err(format!(
                "{name} entity {}: its links run in a cycle",
                at + 1
            ));
        }
        let mut at = start;
        while seen[at] != Seen::Cleared {
            seen[at] = Seen::Cleared;
            match linked_to[at] {
                NO_LINK => break,
                up => at = up as usize,
            }
        }
    }
    Ok(())
}

/// A time as the file stores it: [`NO_TIME`] for none.
fn time(stored: i64) -> Option<i64> {
    (stored != NO_TIME).then_some(stored)
}

/// Points every entity straight at its root (a valid union-find state: paths of length one),
/// counts the groups' sizes and rebuilds their circular member lists.
fn rebuild_groups(g: &mut Generation, roots: Vec<u32>, reported: &[u32]) {
    let n = roots.len();
    g.parent = roots;
    g.next = (0..n as u32).collect();
    g.groups = vec![Group::default(); n];
    for (i, &frauds_reported) in reported.iter().enumerate() {
        let root = g.parent[i] as usize;
        g.groups[root].size += 1;
        if root == i {
            g.groups[i].reported = frauds_reported;
        } else {
            g.next[i] = g.next[root];
            g.next[root] = i as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rings::testing::{Step, apply, label, limits, pay, step};
    use proptest::prelude::*;

    fn built(steps: &[Step]) -> RingGraph {
        let mut g = RingGraph::new(limits());
        for s in steps {
            apply(&mut g, s);
        }
        g
    }

    fn read_back(bytes: &[u8]) -> Result<RingGraph, String> {
        RingGraph::read_snapshot("rings.bin", bytes, limits()).map_err(|e| e.to_string())
    }

    /// `body` with the checksum that makes it a well-framed file, so that a test reaches the
    /// checks behind the checksum.
    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut bytes = body.to_vec();
        seal(&mut bytes);
        bytes
    }

    /// The header of a hand-made file (no time known), then the start of a generation.
    fn header_and_start() -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        // Version 4, which has all but the reports' events: hand-made files leave them out.
        b.extend(4u32.to_le_bytes());
        b.extend([0u8; 32]);
        b.extend(NO_TIME.to_le_bytes());
        b.extend(NO_TIME.to_le_bytes());
        b
    }

    /// The header of a hand-made file, an empty older generation and the newer one's start
    /// and entity count.
    fn header(entities: u64) -> Vec<u8> {
        let mut b = header_and_start();
        b.extend([0u8; 16]);
        b.extend(NO_TIME.to_le_bytes());
        b.extend(entities.to_le_bytes());
        b
    }

    fn entity(b: &mut Vec<u8>, root: u32, reported: u32, kind: u8, value: &str) {
        entity_linked(b, root, reported, NO_LINK, kind, value);
    }

    fn entity_linked(b: &mut Vec<u8>, root: u32, reported: u32, link: u32, kind: u8, value: &str) {
        b.extend(root.to_le_bytes());
        b.extend(reported.to_le_bytes());
        b.extend(link.to_le_bytes());
        b.push(kind);
        b.extend((value.len() as u32).to_le_bytes());
        b.extend(value.as_bytes());
    }

    fn payment(b: &mut Vec<u8>, key: u64, node: u32, label: u8) {
        b.extend(key.to_le_bytes());
        b.extend(node.to_le_bytes());
        b.push(label);
    }

    /// Where the two entities of [`hand_made`] start: after the header (magic, version,
    /// journal file, counters, time), the empty older generation (start, counts) and the newer
    /// one's start and count, then root, report count, link, kind, length and value ("card-1":
    /// 6 bytes).
    const E1: usize = 22 + 4 + 32 + 8 + 24 + 8 + 8;
    const E2: usize = E1 + 4 + 4 + 4 + 1 + 4 + 6;

    /// A hand-made file of two entities in one group (root first) and one payment, changed
    /// by `change` before it is sealed.
    fn hand_made(change: impl FnOnce(&mut Vec<u8>)) -> Result<RingGraph, String> {
        let mut b = header(2);
        entity(&mut b, 0, 0, 0, "card-1");
        entity_linked(&mut b, 0, 0, 0, 1, "device-1");
        b.extend(1u64.to_le_bytes());
        payment(&mut b, 77, 0, 1);
        change(&mut b);
        read_back(&sealed(&b))
    }

    proptest! {
        /// A graph read back reports the same rings as the graph it was written from, for
        /// every payment and label that follows, and ends with the same counters.
        #[test]
        fn a_graph_read_back_goes_on_as_the_original(
            before in proptest::collection::vec(step(), 0..60),
            after in proptest::collection::vec(step(), 1..60),
        ) {
            let mut original = built(&before);
            let mut restored = read_back(&original.snapshot()).expect("valid");
            prop_assert_eq!(restored.stats(), original.stats());
            for s in &after {
                prop_assert_eq!(apply(&mut restored, s), apply(&mut original, s), "after {:?}", s);
            }
            prop_assert_eq!(restored.stats(), original.stats());
        }
    }

    #[test]
    fn a_reported_ring_is_not_reported_again_after_a_restart() {
        let mut g = RingGraph::new(limits());
        for (id, card) in [("p1", "c1"), ("p2", "c2"), ("p3", "c3")] {
            g.add_payment(0, id, &[(Link::Card, card), (Link::Device, "shared")]);
        }
        g.label(0, "p1", true);
        assert!(g.label(0, "p2", true).is_some(), "two of three: a ring");
        let mut restored = read_back(&g.snapshot()).expect("valid");
        assert!(
            restored.label(0, "p3", true).is_none(),
            "reported at 2, 3 is not double"
        );
        restored.add_payment(0, "p4", &[(Link::Card, "c4"), (Link::Device, "shared")]);
        let ring = restored
            .label(0, "p4", true)
            .expect("4 frauds: reported again");
        assert_eq!((ring.size, ring.payments, ring.frauds), (5, 4, 4));
    }

    /// Three cards on one device, two of their payments charged back: a ring, reported by
    /// the chargeback of `p2`.
    fn reported() -> RingGraph {
        let mut g = RingGraph::new(limits());
        for (id, card) in [("p1", "c1"), ("p2", "c2"), ("p3", "c3")] {
            g.add_payment(0, id, &[(Link::Card, card), (Link::Device, "shared")]);
        }
        g.label(0, "p1", true);
        assert!(g.label(0, "p2", true).is_some(), "two of three: a ring");
        g
    }

    #[test]
    fn a_graph_read_back_knows_which_event_made_each_report() {
        let mut restored = read_back(&reported().snapshot()).expect("valid");
        assert!(restored.label(0, "p1", true).is_none());
        let again = restored
            .label(0, "p2", true)
            .expect("the report's own chargeback");
        assert_eq!((again.size, again.frauds), (4, 2));
        // A version 4 file (the same graph without its reports' events) still reads, and
        // knows none.
        let v5 = reported().snapshot();
        let mut v4 = v5[..v5.len() - 8 - 8 - 20].to_vec();
        v4[22..26].copy_from_slice(&4u32.to_le_bytes());
        let mut old = read_back(&sealed(&v4)).expect("a version 4 file reads");
        assert!(old.label(0, "p2", true).is_none());
        assert_eq!(old.stats(), reported().stats());
    }

    #[test]
    fn a_damaged_report_is_refused_by_name() {
        let good = reported().snapshot();
        let body = &good[..good.len() - 8];
        // The newer generation's one report: its root (4 bytes) and payment (8), at the end.
        let at = body.len() - 12;
        let with = |change: &dyn Fn(&mut Vec<u8>)| {
            let mut b = body.to_vec();
            change(&mut b);
            read_back(&sealed(&b)).map(drop).expect_err("refused")
        };
        let e = with(&|b| b[at..at + 4].copy_from_slice(&1u32.to_le_bytes()));
        assert!(
            e.contains("newer report 1: entity 2 is not the root of a reported group"),
            "{e}"
        );
        let e = with(&|b| b[at + 4..at + 12].copy_from_slice(&9u64.to_le_bytes()));
        assert!(
            e.contains("newer report 1: made by a payment it does not hold"),
            "{e}"
        );
        let e = with(&|b| {
            let last = b[at..].to_vec();
            b.extend(last);
            b[at - 8..at].copy_from_slice(&2u64.to_le_bytes());
        });
        assert!(
            e.contains("newer report 2: its group is reported twice"),
            "{e}"
        );
        let e = with(&|b| b[at - 8..at].copy_from_slice(&99u64.to_le_bytes()));
        assert!(
            e.contains("99 newer reports, more than its 4 entities"),
            "{e}"
        );
    }

    #[test]
    fn counters_at_their_ceiling_in_a_file_saturate() {
        let mut body = reported().snapshot_body();
        // The rotations, after the magic, the version and the journal file's number.
        body[34..42].copy_from_slice(&u64::MAX.to_le_bytes());
        let mut g = read_back(&sealed(&body)).expect("a counter is any number");
        // A month later: the newer generation is too old and is rotated.
        g.add_payment(31 * 86_400, "p9", &[(Link::Card, "c9")]);
        assert_eq!(g.stats().rotations, u64::MAX);
    }

    #[test]
    fn a_hand_made_file_is_read() {
        let g = hand_made(|_| {}).expect("valid");
        assert_eq!((g.stats().nodes, g.stats().payments), (2, 1));
        let group = g.current.groups[0];
        assert_eq!((group.size, group.payments, group.frauds), (2, 1, 1));
    }

    #[test]
    fn damage_is_refused_by_name() {
        let good = built(&[pay(1, 1, 1, 1), pay(2, 2, 1, 2), label(1, true)]).snapshot();
        // In the first card's value: "c1" becomes "c0".
        crate::checksum::assert_framing_refused(&good, E1 + 18, "rings.bin", |b| {
            read_back(b).map(drop)
        });
        let e = read_back(&good[..E1 + 6]).expect_err("cut in an entity");
        assert!(e.contains("ends inside newer entity 1"), "{e}");
        let e = read_back(b"ensuresec fraud state\n\x01\0\0\0").expect_err("feature file");
        assert!(e.contains("wrong header"), "{e}");
    }

    #[test]
    fn impossible_structures_are_refused_by_name() {
        type Change = Box<dyn FnOnce(&mut Vec<u8>)>;
        let cases: [(&str, Change); 11] = [
            ("entity 2: unknown kind 6", Box::new(|b| b[E2 + 12] = 6)),
            (
                "entity 2: linked to entity 3, which does not exist",
                Box::new(|b| b[E2 + 8] = 2),
            ),
            (
                "entity 1: its links run in a cycle",
                Box::new(|b| b[E1 + 8..E1 + 12].copy_from_slice(&1u32.to_le_bytes())),
            ),
            (
                "entity 2: its links run in a cycle",
                Box::new(|b| b[E2 + 8] = 1),
            ),
            (
                "entity 1: its group's root, entity 5, does not exist",
                Box::new(|b| b[E1] = 4),
            ),
            (
                "entity 1: its group's root is itself in another group",
                Box::new(|b| b[E1] = 1),
            ),
            (
                "entity 2: a report count, but it is not its group's root",
                Box::new(|b| b[E2 + 4] = 1),
            ),
            (
                "payment 1: its card, entity 3, does not exist",
                Box::new(|b| {
                    let at = b.len() - 5;
                    b[at] = 2;
                }),
            ),
            (
                "payment 1: unknown label 3",
                Box::new(|b| {
                    let at = b.len() - 1;
                    b[at] = 3;
                }),
            ),
            (
                "payment 2: it appears twice",
                Box::new(|b| {
                    let at = b.len() - 21;
                    b[at] = 2;
                    payment(b, 77, 1, 0);
                }),
            ),
            (
                "entity 2: its value is not UTF-8",
                Box::new(|b| b[E2 + 17] = 0xff),
            ),
        ];
        for (expected, change) in cases {
            let e = hand_made(change).expect_err(expected);
            assert!(e.contains(expected), "{expected}: {e}");
        }
        // Two groups of one, the second linked to the first.
        let mut apart = header(2);
        entity(&mut apart, 0, 0, 0, "card-1");
        entity_linked(&mut apart, 1, 0, 0, 1, "device-1");
        apart.extend(0u64.to_le_bytes());
        let e = read_back(&sealed(&apart)).expect_err("a link across groups");
        assert!(
            e.contains("newer entity 2: linked to entity 1, of another group"),
            "{e}"
        );
        let mut twice = header(2);
        entity(&mut twice, 0, 0, 0, "card-1");
        entity(&mut twice, 1, 0, 0, "card-1");
        twice.extend(0u64.to_le_bytes());
        let e = read_back(&sealed(&twice)).expect_err("same card twice");
        assert!(e.contains("entity 2: it appears twice"), "{e}");
        // Payment 77 in the older generation and again in the newer one.
        let mut both = header_and_start();
        for i in 0..GENERATIONS.len() {
            if i > 0 {
                both.extend(NO_TIME.to_le_bytes());
            }
            both.extend(1u64.to_le_bytes());
            entity(&mut both, 0, 0, 0, "card-1");
            both.extend(1u64.to_le_bytes());
            payment(&mut both, 77, 0, 0);
        }
        let e = read_back(&sealed(&both)).expect_err("a payment in both generations");
        assert!(e.contains("newer payment 1: it appears twice"), "{e}");
        // A generation that starts when the graph's clock was never set.
        let mut early = header(0);
        early[22 + 4 + 32 + 8..22 + 4 + 32 + 16].copy_from_slice(&5i64.to_le_bytes());
        early.extend(0u64.to_le_bytes());
        let e = read_back(&sealed(&early)).expect_err("a start after the graph's time");
        assert!(
            e.contains("the older generation starts after the graph's latest time"),
            "{e}"
        );
    }

    #[test]
    fn more_than_the_ceilings_is_refused() {
        let g = built(&[pay(1, 1, 1, 1), pay(2, 2, 2, 2)]);
        let small = RingLimits {
            max_nodes: 10,
            ..limits()
        };
        let e = RingGraph::read_snapshot("r", g.snapshot().as_slice(), small)
            .expect_err("six entities")
            .to_string();
        assert!(
            e.contains("6 newer entities, more than a generation holds (half of max_nodes: 5)"),
            "{e}"
        );
        let few = RingLimits {
            max_payments: 3,
            ..limits()
        };
        let e = RingGraph::read_snapshot("r", g.snapshot().as_slice(), few)
            .expect_err("two payments")
            .to_string();
        assert!(
            e.contains("2 newer payments, more than a generation holds (half of max_payments: 1)"),
            "{e}"
        );
    }

    #[test]
    fn the_journal_file_that_continues_a_graph_is_kept() {
        let g = built(&[pay(1, 1, 1, 1), label(1, true)]);
        let mut body = g.snapshot_body();
        set_journal_from(&mut body, 7);
        let back = read_back(&sealed(&body)).expect("valid");
        assert_eq!(back.journal_from, 7);
        let mut future = body.clone();
        future[22..26].copy_from_slice(&6u32.to_le_bytes());
        let e = read_back(&sealed(&future)).expect_err("version 6");
        assert!(
            e.contains("format version 6; this build reads versions 2 to 5"),
            "{e}"
        );
    }

    /// A file as the builds before the links wrote it (`version` 2, before the journal too,
    /// or 3): card `c1` and device `d1` in one group, two cards `c2` and `c3` alone, and payment
    /// 77 of `c1`, labelled fraud.
    fn before_links(version: u32) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend(version.to_le_bytes());
        if version == 3 {
            b.extend(7u64.to_le_bytes());
        }
        b.extend([0u8; 24]);
        b.extend(NO_TIME.to_le_bytes());
        b.extend(NO_TIME.to_le_bytes());
        b.extend([0u8; 16]);
        b.extend(NO_TIME.to_le_bytes());
        b.extend(4u64.to_le_bytes());
        for (root, kind, value) in [(0u32, 0u8, "c1"), (0, 1, "d1"), (2, 0, "c2"), (3, 0, "c3")] {
            b.extend(root.to_le_bytes());
            b.extend(0u32.to_le_bytes());
            b.push(kind);
            b.extend((value.len() as u32).to_le_bytes());
            b.extend(value.as_bytes());
        }
        b.extend(1u64.to_le_bytes());
        payment(&mut b, 77, 0, 1);
        sealed(&b)
    }

    #[test]
    fn files_from_before_the_links_still_read_and_link_from_then_on() {
        for (version, journal_from) in [(2, 0), (3, 7)] {
            let mut g = read_back(&before_links(version)).expect("an older version reads");
            assert_eq!(g.journal_from, journal_from, "version {version}");
            assert_eq!((g.stats().nodes, g.stats().payments), (4, 1));
            assert_eq!(g.summary().newer.linked, 0, "version {version}: no links");
            // c2 and c3 join c1's group through d1: those joins are linked, c1 and d1 (tied
            // before the file kept links) are not.
            for (id, card) in [("p2", "c2"), ("p3", "c3")] {
                g.add_payment(0, id, &[(Link::Card, card), (Link::Device, "d1")]);
                g.label(0, id, true);
            }
            g.add_payment(0, "p4", &[(Link::Card, "c4"), (Link::Device, "d1")]);
            let ring = g
                .label(0, "p4", true)
                .expect("four frauds of four: reported");
            let listed: Vec<&str> = ring.members.iter().map(|m| m.value.as_str()).collect();
            assert_eq!(listed, ["c1", "c2", "c3", "c4", "d1"]);
            assert_eq!(ring.links, [[1, 4], [2, 4], [3, 4]], "version {version}");
            assert_eq!(g.summary().newer.linked, 3, "c2, c3 and c4");
            // Written again, the graph is a file of this version, with its links.
            let again = read_back(&g.snapshot()).expect("valid");
            assert_eq!(again.current.linked_to, g.current.linked_to);
        }
    }

    #[test]
    fn a_missing_file_is_an_empty_graph() {
        let dir = tempfile::tempdir().expect("dir");
        let empty = load(&dir.path().join("rings.bin"), limits()).expect("no file yet: empty");
        assert_eq!(empty.stats().nodes, 0);
    }
}
