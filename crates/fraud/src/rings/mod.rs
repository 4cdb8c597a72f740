//! Fraud rings: cards, devices, e-mail addresses, shipping addresses, accounts and IP addresses
//! that payments have tied together. Every payment joins its entities into one group; labels
//! (chargebacks and analysts' verdicts) count frauds per group; a group with several entities,
//! enough frauds and a high fraud rate is reported once, with its members as evidence, and
//! again each time its frauds double.
//!
//! Union-find with union by size and path halving, plus a circular member list per group (two
//! pointer swaps join two lists) so that a report lists a group's members without scanning
//! every node (`generation.rs`). Written here rather than with a graph crate: the graph is only
//! ever merged, never split or searched, which is exactly what union-find does in constant
//! amortised time and a few bytes per node, and the report needs the member lists no graph
//! crate keeps. Union-find cannot forget one entity, so the graph ages by generations: when
//! the newer one is full the older is dropped whole. The graph outlives a restart through its
//! file (`snapshot.rs`) and, between two writes of it, its journal (`journal.rs`); `service.rs`
//! shares it between the pipeline's detector and the server, with both.

use schemars::JsonSchema;
use std::collections::HashMap;

use ensuresec_model::hash::hash_bytes;
use serde::Serialize;

use crate::journal::Pending;
use generation::Generation;

mod generation;
mod journal;
mod service;
mod snapshot;
#[cfg(test)]
mod testing;

pub use service::RingService;
pub use snapshot::load;

/// The kinds of entity a payment ties together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// A card, by fingerprint.
    Card,
    /// A device fingerprint.
    Device,
    /// A hashed e-mail address.
    Email,
    /// A hashed shipping address.
    Shipping,
    /// A shop account.
    Account,
    /// A client IP address.
    Ip,
}

impl Link {
    /// The kind whose byte in the ring file and journal (`Link as u8`) is `byte`, if any.
    pub(crate) fn from_byte(byte: u8) -> Option<Link> {
        [
            Link::Card,
            Link::Device,
            Link::Email,
            Link::Shipping,
            Link::Account,
            Link::Ip,
        ]
        .get(usize::from(byte))
        .copied()
    }
}

/// When a group is reported, and how much is kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RingLimits {
    /// Fewest entities in a reported group.
    pub min_members: usize,
    /// Fewest fraudulent payments in a reported group.
    pub min_frauds: u32,
    /// Lowest share of fraudulent payments among the group's payments.
    pub min_fraud_rate: f64,
    /// Most entities kept, in both generations together: when the newer holds half of it,
    /// the older is forgotten (counted in [`RingStats::rotations`]).
    pub max_nodes: usize,
    /// Most payments remembered for their labels, in both generations together (half each).
    pub max_payments: usize,
    /// Most members listed in a report's evidence (the counts are always complete).
    pub max_evidence: usize,
    /// Longest a link is kept, in seconds of event time (`None`: only the ceilings age the
    /// graph). A generation older than half of it becomes the older one, so a link lives
    /// between half and all of it.
    pub max_age_seconds: Option<i64>,
}

impl Default for RingLimits {
    fn default() -> Self {
        RingLimits {
            min_members: 4,
            min_frauds: 3,
            min_fraud_rate: 0.5,
            max_nodes: 2_000_000,
            max_payments: 2_000_000,
            max_evidence: 100,
            max_age_seconds: Some(90 * 86_400),
        }
    }
}

/// Counters, for metrics. They are read back from the graph's file, so they saturate instead
/// of overflowing: a damaged file cannot make counting panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RingStats {
    /// Entities held.
    pub nodes: usize,
    /// Payments remembered.
    pub payments: usize,
    /// Times the older generation was forgotten, to make room or because it was too old.
    pub rotations: u64,
    /// Payments not linked because they bring more entities than a generation holds.
    pub dropped: u64,
    /// Labels for payments never seen (or not remembered).
    pub unknown_labels: u64,
}

/// What one generation of the graph holds, for an operator inspecting a ring file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GenerationSummary {
    /// Entities.
    pub entities: usize,
    /// Payments remembered.
    pub payments: usize,
    /// Of them, labelled fraud.
    pub frauds: usize,
    /// Groups of entities tied together (an entity alone is a group).
    pub groups: usize,
    /// Entities in the largest group.
    pub largest_group: usize,
    /// Entities linked to the entity a payment joined them through (a report's links): each
    /// group of n entities has n − 1 once it is linked whole, fewer when it was joined before
    /// the graph kept links (ring files of version 3 and older).
    pub linked: usize,
    /// Groups reported as rings at least once.
    pub reported: usize,
}

/// What a graph holds: its counters and its two generations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RingSummary {
    /// The counters.
    pub stats: RingStats,
    /// The older generation.
    pub older: GenerationSummary,
    /// The newer generation, where payments are linked.
    pub newer: GenerationSummary,
    /// The first journal file that continues the graph (read from its file; 0 for a new one).
    pub journal_from: u64,
}

/// One member of a reported group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Its kind.
    pub kind: Link,
    /// Its identifier as the payments gave it.
    pub value: String,
}

/// A group that crossed the thresholds: the finding and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ring {
    /// Entities in the group.
    pub size: usize,
    /// Entities per kind.
    pub by_kind: HashMap<Link, usize>,
    /// Payments that went through the group.
    pub payments: u32,
    /// Of them, labelled fraudulent.
    pub frauds: u32,
    /// `frauds / payments`.
    pub fraud_rate: f64,
    /// Members (at most [`RingLimits::max_evidence`]), cards first.
    pub members: Vec<Member>,
    /// How the members are tied: `[i, j]` says that a payment used `members[i]` and
    /// `members[j]` together (a card and another of its entities). These links span the
    /// group: between the members listed they form trees: each member is the first of at
    /// most one pair, and a member that is first of none heads its tree. A link between
    /// members already tied by others is not kept, so when the whole group is listed its
    /// links are one tree (unless the group was joined before the graph kept links: ring
    /// files of version 3 and older hold none).
    pub links: Vec<[usize; 2]>,
}

/// The graph of shared entities, in two generations: payments are linked in the newer; when it
/// is full (half of each ceiling), the older is dropped whole and the newer takes its place, so
/// the graph keeps linking new payments and forgets the oldest half. Labels find their payment
/// in either generation.
#[derive(Debug, Clone)]
pub struct RingGraph {
    limits: RingLimits,
    /// Where new payments are linked.
    current: Generation,
    /// The generation before, kept for the labels of its payments until the next rotation.
    previous: Generation,
    /// The latest event time seen ([`RingGraph::age_to`]), seconds.
    now: Option<i64>,
    stats: RingStats,
    /// What was taken since the journal was last written, when the graph is journaled.
    journal: Option<Pending>,
    /// The first journal file that continues this graph (read from its file).
    journal_from: u64,
}

impl RingGraph {
    /// An empty graph.
    pub fn new(limits: RingLimits) -> RingGraph {
        RingGraph {
            limits,
            current: Generation::default(),
            previous: Generation::default(),
            now: None,
            stats: RingStats::default(),
            journal: None,
            journal_from: 0,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> RingStats {
        RingStats {
            nodes: self.current.nodes() + self.previous.nodes(),
            payments: self.current.payments.len() + self.previous.payments.len(),
            ..self.stats
        }
    }

    /// What the graph holds, in numbers (for `ensuresec fraud inspect`).
    pub fn summary(&self) -> RingSummary {
        RingSummary {
            stats: self.stats(),
            older: self.previous.summary(),
            newer: self.current.summary(),
            journal_from: self.journal_from,
        }
    }

    /// Moves the graph's clock to event time `time` (seconds; an earlier time than one seen
    /// before is ignored). When the newer generation began more than half of
    /// [`RingLimits::max_age_seconds`] before it, the older generation is forgotten and the
    /// newer one takes its place. Done with every payment and label, before it is taken.
    fn age_to(&mut self, time: i64) {
        let now = self.now.map_or(time, |n| n.max(time));
        self.now = Some(now);
        match (self.current.started, self.limits.max_age_seconds) {
            (Some(started), Some(age)) if now.saturating_sub(started) >= age / 2 => {
                self.rotate();
            }
            _ => {}
        }
    }

    /// Forgets the older generation; the newer one takes its place and a new one begins now.
    fn rotate(&mut self) {
        self.previous = std::mem::take(&mut self.current);
        self.current.started = self.now;
        self.stats.rotations = self.stats.rotations.saturating_add(1);
    }

    /// Entities and payments one generation may hold: half of each ceiling.
    fn generation_limits(&self) -> (usize, usize) {
        (self.limits.max_nodes / 2, self.limits.max_payments / 2)
    }

    /// Whether the newer generation has room for a payment bringing `new_nodes` entities.
    fn has_room(&self, new_nodes: usize) -> bool {
        let (nodes, payments) = self.generation_limits();
        self.current.nodes() + new_nodes <= nodes && self.current.payments.len() < payments
    }

    /// Links the entities of payment `payment_id` (the card first) at event time `time`
    /// (seconds; the graph's clock moves to it first) and returns the group if joining them
    /// made a reportable ring. A payment seen before is not counted twice; if it made its
    /// group's last report, the ring is returned again (see [`RingGraph::label`]).
    pub fn add_payment(
        &mut self,
        time: i64,
        payment_id: &str,
        entities: &[(Link, &str)],
    ) -> Option<Ring> {
        let pay = hash_bytes(payment_id.as_bytes());
        if let Some(journal) = &mut self.journal {
            journal::payment(journal, time, pay, entities);
        }
        self.link(time, pay, entities)
    }

    /// [`RingGraph::add_payment`] by the payment's key: what it and a replay share.
    fn link(&mut self, time: i64, pay: u64, entities: &[(Link, &str)]) -> Option<Ring> {
        self.age_to(time);
        for generation in [&self.current, &self.previous] {
            if let Some(&(node, _)) = generation.payments.get(&pay) {
                return generation.again(generation.root_of(node), &self.limits, pay);
            }
        }
        if entities.is_empty() {
            return None;
        }
        if !self.has_room(self.current.new_nodes(entities)) {
            let (nodes, payments) = self.generation_limits();
            // A payment that would not fit in an empty generation either is not linked, and
            // no generation is forgotten for it.
            if entities.len() > nodes || payments == 0 {
                self.stats.dropped = self.stats.dropped.saturating_add(1);
                return None;
            }
            self.rotate();
        }
        self.current.started = self.current.started.or(self.now);
        let root = self.current.link(pay, entities);
        self.current.check(root, &self.limits, pay)
    }

    /// Records a label for `payment_id` at event time `time` (a chargeback or an analyst's
    /// verdict: `fraud`); a later label replaces an earlier one. Returns the payment's group if
    /// it is now a reportable ring, or if this same label made its last report: an event
    /// detected again after a restart (the pipeline resumes from what the store holds) reports
    /// its ring again, since the crash may have come before its alert was stored. The same
    /// label sent twice by its source reports the ring twice, which the correlator joins into
    /// one incident: a duplicate, where the other way would lose a report.
    pub fn label(&mut self, time: i64, payment_id: &str, fraud: bool) -> Option<Ring> {
        let pay = hash_bytes(payment_id.as_bytes());
        if let Some(journal) = &mut self.journal {
            journal::label(journal, time, pay, fraud);
        }
        self.label_key(time, pay, fraud)
    }

    /// [`RingGraph::label`] by the payment's key: what it and a replay share.
    fn label_key(&mut self, time: i64, pay: u64, fraud: bool) -> Option<Ring> {
        self.age_to(time);
        let generation = if self.current.payments.contains_key(&pay) {
            &mut self.current
        } else if self.previous.payments.contains_key(&pay) {
            &mut self.previous
        } else {
            self.stats.unknown_labels = self.stats.unknown_labels.saturating_add(1);
            return None;
        };
        let (root, changed) = generation.label(pay, fraud);
        let ring = generation.check(root, &self.limits, pay);
        if changed {
            ring
        } else {
            ring.or_else(|| generation.again(root, &self.limits, pay))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Step, apply, limits, step};
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        /// Every ring reported, listed whole, comes with links that make its members one tree,
        /// and each link is a card and an entity that one payment used together.
        #[test]
        fn a_rings_links_are_one_tree_of_pairs_payments_used_together(
            steps in proptest::collection::vec(step(), 1..120),
        ) {
            let mut g = RingGraph::new(limits());
            let mut together = HashSet::new();
            for s in &steps {
                if let Step::Pay { card, device, address, .. } = s {
                    for other in [format!("d{device}"), format!("s{address}")] {
                        together.insert((format!("c{card}"), other));
                    }
                }
                let Some(ring) = apply(&mut g, s) else { continue };
                let n = ring.members.len();
                prop_assert_eq!(n, ring.size, "limits() lists every member");
                prop_assert_eq!(ring.links.len(), n - 1, "{:?}", ring);
                let mut up = vec![None; n];
                for &[from, to] in &ring.links {
                    prop_assert!(up[from].replace(to).is_none(), "{} linked twice", from);
                    let (a, b) = (&ring.members[from], &ring.members[to]);
                    let (card, other) = if a.kind == Link::Card { (a, b) } else { (b, a) };
                    prop_assert!(
                        card.kind == Link::Card
                            && together.contains(&(card.value.clone(), other.value.clone())),
                        "{:?} and {:?} were never used together", a, b
                    );
                }
                for start in 0..n {
                    let (mut at, mut steps) = (start, 0);
                    while let Some(next) = up[at] {
                        at = next;
                        steps += 1;
                        prop_assert!(steps < n, "the links from {} run in a cycle", start);
                    }
                }
            }
        }
    }

    fn graph() -> RingGraph {
        RingGraph::new(RingLimits {
            min_members: 4,
            min_frauds: 2,
            min_fraud_rate: 0.5,
            ..RingLimits::default()
        })
    }

    #[test]
    fn shared_device_and_address_tie_cards_into_one_ring() {
        let mut g = graph();
        // Three stolen cards, one device, one drop address.
        for (pay, card) in [("p1", "c1"), ("p2", "c2"), ("p3", "c3")] {
            assert!(
                g.add_payment(
                    0,
                    pay,
                    &[
                        (Link::Card, card),
                        (Link::Device, "dev-x"),
                        (Link::Shipping, "drop")
                    ]
                )
                .is_none()
            );
        }
        // An unrelated customer.
        g.add_payment(0, "p4", &[(Link::Card, "c9"), (Link::Device, "dev-9")]);
        assert!(g.label(0, "p1", true).is_none(), "one fraud is not a ring");
        let ring = g.label(0, "p2", true).expect("two of three frauds");
        assert_eq!(ring.size, 5);
        assert_eq!(ring.by_kind[&Link::Card], 3);
        assert_eq!((ring.payments, ring.frauds), (3, 2));
        let listed: Vec<&str> = ring.members.iter().map(|m| m.value.as_str()).collect();
        assert_eq!(listed, ["c1", "c2", "c3", "dev-x", "drop"], "cards first");
        // c1 brought the device and the address; c2 and c3 joined through the device. The
        // links of c2 and c3 to the address, which joined nothing new, are not kept.
        assert_eq!(ring.links, [[1, 3], [2, 3], [3, 0], [4, 0]]);
        // Reported once; the next fraud does not double the count.
        assert!(g.label(0, "p3", true).is_none());
        // The label that made the report, detected again after a restart, makes it again;
        // the payment that made it too; other labels and payments again do not.
        let again = g.label(0, "p2", true).expect("the report's own label");
        assert_eq!((again.size, again.frauds), (5, 3), "the ring as it is now");
        assert!(g.label(0, "p1", true).is_none());
        let dev_x = [(Link::Card, "c1"), (Link::Device, "dev-x")];
        assert!(g.add_payment(0, "p1", &dev_x).is_none());
        assert!(g.label(0, "p4", false).is_none(), "the unrelated customer");
    }

    #[test]
    fn a_ring_completed_by_a_payment_is_reported_again_by_that_payment_only() {
        let mut g = graph();
        g.add_payment(0, "a1", &[(Link::Card, "a"), (Link::Email, "ea")]);
        g.add_payment(0, "b1", &[(Link::Card, "b"), (Link::Email, "eb")]);
        g.label(0, "a1", true);
        g.label(0, "b1", true);
        let joining = [(Link::Card, "a"), (Link::Email, "eb")];
        assert!(g.add_payment(0, "ab", &joining).is_some());
        assert!(g.add_payment(0, "ab", &joining).is_some(), "again");
        assert!(g.label(0, "b1", true).is_none(), "b1 made no report");
        // A later report, made by another event, takes over.
        g.add_payment(0, "c1", &[(Link::Card, "c"), (Link::Email, "eb")]);
        g.add_payment(0, "d1", &[(Link::Card, "d"), (Link::Email, "eb")]);
        g.label(0, "c1", true);
        assert!(g.label(0, "d1", true).is_some(), "four frauds: twice two");
        assert!(
            g.add_payment(0, "ab", &joining).is_none(),
            "no longer the last"
        );
        assert!(g.label(0, "d1", true).is_some());
    }

    #[test]
    fn the_summary_counts_groups_payments_and_reports() {
        let mut g = graph();
        for (pay, card) in [("p1", "c1"), ("p2", "c2"), ("p3", "c3")] {
            g.add_payment(
                0,
                pay,
                &[
                    (Link::Card, card),
                    (Link::Device, "dev-x"),
                    (Link::Shipping, "drop"),
                ],
            );
        }
        g.add_payment(0, "p4", &[(Link::Card, "c9"), (Link::Device, "dev-9")]);
        g.label(0, "p1", true);
        g.label(0, "p2", true);
        let s = g.summary();
        assert_eq!(
            s.newer,
            GenerationSummary {
                entities: 7,
                payments: 4,
                frauds: 2,
                groups: 2,
                largest_group: 5,
                linked: 5,
                reported: 1,
            }
        );
        assert_eq!(s.older.entities, 0);
        assert_eq!(s.stats, g.stats());
    }

    #[test]
    fn separate_groups_merge_when_a_payment_joins_them() {
        let mut g = graph();
        g.add_payment(0, "a1", &[(Link::Card, "a"), (Link::Email, "ea")]);
        g.add_payment(0, "b1", &[(Link::Card, "b"), (Link::Email, "eb")]);
        assert!(g.label(0, "a1", true).is_none());
        assert!(g.label(0, "b1", true).is_none(), "each group is too small");
        let ring = g
            .add_payment(0, "ab", &[(Link::Card, "a"), (Link::Email, "eb")])
            .expect("merged group crosses the thresholds");
        assert_eq!((ring.size, ring.payments, ring.frauds), (4, 3, 2));
    }

    #[test]
    fn legitimate_verdict_undoes_a_fraud_label() {
        let mut g = graph();
        for p in ["p1", "p2", "p3", "p4"] {
            g.add_payment(0, p, &[(Link::Card, p), (Link::Ip, "198.51.100.7")]);
        }
        g.label(0, "p1", true);
        g.label(0, "p1", false);
        assert!(
            g.label(0, "p2", true).is_none(),
            "one fraud after the reversal"
        );
        assert!(g.label(0, "p3", true).is_some());
    }

    #[test]
    fn low_fraud_rate_is_not_a_ring() {
        let mut g = graph();
        for i in 0..10 {
            g.add_payment(
                0,
                &format!("p{i}"),
                &[(Link::Card, &format!("c{i}")), (Link::Ip, "203.0.113.1")],
            );
        }
        g.label(0, "p0", true);
        assert!(g.label(0, "p1", true).is_none(), "2 of 10 is under 50 %");
    }

    #[test]
    fn links_older_than_the_maximum_age_are_forgotten() {
        let day = 86_400;
        let mut g = RingGraph::new(RingLimits {
            max_age_seconds: Some(10 * day),
            ..RingLimits::default()
        });
        let pay = |g: &mut RingGraph, at: i64, id: &str, card: &str| {
            g.add_payment(at, id, &[(Link::Card, card), (Link::Device, "shared")]);
        };
        pay(&mut g, 0, "p0", "c0");
        pay(&mut g, 4 * day, "p4", "c4");
        assert_eq!(g.stats().rotations, 0, "one generation spans five days");
        pay(&mut g, 6 * day, "p6", "c6");
        assert_eq!(
            g.stats().rotations,
            1,
            "the first generation is six days old"
        );
        g.label(0, "p0", true);
        assert_eq!(g.stats().unknown_labels, 0, "p0 is in the older generation");
        g.age_to(3 * day);
        assert_eq!(
            g.stats().rotations,
            1,
            "an earlier time does not move the clock back"
        );
        pay(&mut g, 12 * day, "p12", "c12");
        assert_eq!(g.stats().rotations, 2);
        g.label(0, "p4", true);
        assert_eq!(
            g.stats().unknown_labels,
            1,
            "p4's generation began twelve days ago: forgotten"
        );
        g.label(0, "p6", true);
        assert_eq!(
            g.stats().unknown_labels,
            1,
            "p6, six days ago, is still known"
        );
    }

    #[test]
    fn a_full_graph_forgets_its_older_half_and_keeps_linking() {
        // Three entities per generation.
        let mut g = RingGraph::new(RingLimits {
            max_nodes: 6,
            ..RingLimits::default()
        });
        g.add_payment(0, "p1", &[(Link::Card, "c1"), (Link::Device, "d")]);
        g.add_payment(0, "p2", &[(Link::Card, "c2"), (Link::Device, "e")]);
        assert_eq!(g.stats().rotations, 1, "p2 did not fit beside p1");
        g.label(0, "p1", true);
        assert_eq!(
            g.stats().unknown_labels,
            0,
            "p1 is still known, in the older half"
        );
        g.add_payment(0, "p3", &[(Link::Card, "c3"), (Link::Device, "f")]);
        g.label(0, "p1", true);
        let s = g.stats();
        assert_eq!(
            (
                s.nodes,
                s.payments,
                s.rotations,
                s.dropped,
                s.unknown_labels
            ),
            (4, 2, 2, 0, 1),
            "p1's half is forgotten"
        );
        // More entities than a generation holds: not linked, and nothing forgotten for it.
        g.add_payment(
            0,
            "p4",
            &[
                (Link::Card, "c4"),
                (Link::Device, "g"),
                (Link::Email, "x"),
                (Link::Ip, "192.0.2.4"),
            ],
        );
        let s = g.stats();
        assert_eq!((s.nodes, s.payments, s.rotations, s.dropped), (4, 2, 2, 1));
    }
}
