//! Fraud rings: cards, devices, e-mail addresses, shipping addresses, accounts and IP addresses
//! that payments have tied together. Every payment joins its entities into one group; labels
//! (chargebacks and analysts' verdicts) count frauds per group; a group with several entities,
//! enough frauds and a high fraud rate is reported once, with its members as evidence, and
//! again each time its frauds double.
//!
//! Union-find with union by size and path halving, plus a circular member list per group (two
//! pointer swaps join two lists) so that a report lists a group's members without scanning
//! every node. Written here rather than with a graph crate: the graph is only ever merged,
//! never split or searched, which is exactly what union-find does in constant amortised time
//! and a few bytes per node, and the report needs the member lists no graph crate keeps. The
//! graph outlives a restart through its file (`snapshot.rs`).

use std::collections::HashMap;

use serde::Serialize;

use crate::hash::{BuildPreHashed, hash_bytes};

mod snapshot;

pub use snapshot::{load, save};

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

/// When a group is reported, and how much is kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RingLimits {
    /// Fewest entities in a reported group.
    pub min_members: usize,
    /// Fewest fraudulent payments in a reported group.
    pub min_frauds: u32,
    /// Lowest share of fraudulent payments among the group's payments.
    pub min_fraud_rate: f64,
    /// Most entities kept; beyond it payments that would add entities are not linked
    /// (counted in [`RingStats::dropped`]).
    pub max_nodes: usize,
    /// Most payments remembered for their labels; beyond it new payments are not linked.
    pub max_payments: usize,
    /// Most members listed in a report's evidence (the counts are always complete).
    pub max_evidence: usize,
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
        }
    }
}

/// Counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RingStats {
    /// Entities held.
    pub nodes: usize,
    /// Payments remembered.
    pub payments: usize,
    /// Payments not linked because a ceiling was reached.
    pub dropped: u64,
    /// Labels for payments never seen (or not remembered).
    pub unknown_labels: u64,
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
}

/// A payment's label as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Unknown,
    Fraud,
    Legitimate,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    size: u32,
    payments: u32,
    frauds: u32,
    /// Frauds when last reported; 0 if never.
    reported: u32,
}

/// The graph of shared entities.
#[derive(Debug, Clone)]
pub struct RingGraph {
    limits: RingLimits,
    index: HashMap<u64, u32, BuildPreHashed>,
    parent: Vec<u32>,
    /// Next member in the group's circular list.
    next: Vec<u32>,
    members: Vec<Member>,
    /// Meaningful at roots only.
    groups: Vec<Group>,
    /// Payment → (its card's node, its label).
    payments: HashMap<u64, (u32, Label), BuildPreHashed>,
    stats: RingStats,
}

fn key(kind: Link, value: &str) -> u64 {
    let mut bytes = Vec::with_capacity(value.len() + 1);
    bytes.push(kind as u8);
    bytes.extend_from_slice(value.as_bytes());
    hash_bytes(&bytes)
}

impl RingGraph {
    /// An empty graph.
    pub fn new(limits: RingLimits) -> RingGraph {
        RingGraph {
            limits,
            index: HashMap::default(),
            parent: Vec::new(),
            next: Vec::new(),
            members: Vec::new(),
            groups: Vec::new(),
            payments: HashMap::default(),
            stats: RingStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> RingStats {
        RingStats {
            nodes: self.parent.len(),
            payments: self.payments.len(),
            ..self.stats
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn node(&mut self, kind: Link, value: &str) -> u32 {
        let k = key(kind, value);
        if let Some(&i) = self.index.get(&k) {
            return i;
        }
        let i = self.parent.len() as u32;
        self.index.insert(k, i);
        self.parent.push(i);
        self.next.push(i);
        self.members.push(Member {
            kind,
            value: value.to_string(),
        });
        self.groups.push(Group {
            size: 1,
            payments: 0,
            frauds: 0,
            reported: 0,
        });
        i
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (big, small) = if self.groups[ra as usize].size >= self.groups[rb as usize].size {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.next.swap(big as usize, small as usize);
        let s = self.groups[small as usize];
        let g = &mut self.groups[big as usize];
        g.size += s.size;
        g.payments += s.payments;
        g.frauds += s.frauds;
        g.reported = g.reported.max(s.reported);
        big
    }

    /// Links the entities of payment `payment_id` (the card first) and returns the group if
    /// joining them made a reportable ring. A payment seen before is not counted twice.
    pub fn add_payment(&mut self, payment_id: &str, entities: &[(Link, &str)]) -> Option<Ring> {
        let pay = hash_bytes(payment_id.as_bytes());
        if self.payments.contains_key(&pay) || entities.is_empty() {
            return None;
        }
        let new_nodes = entities
            .iter()
            .filter(|(k, v)| !self.index.contains_key(&key(*k, v)))
            .count();
        if self.parent.len() + new_nodes > self.limits.max_nodes
            || self.payments.len() >= self.limits.max_payments
        {
            self.stats.dropped += 1;
            return None;
        }
        let first = self.node(entities[0].0, entities[0].1);
        let mut root = self.find(first);
        for (kind, value) in &entities[1..] {
            let n = self.node(*kind, value);
            root = self.union(root, n);
        }
        self.groups[root as usize].payments += 1;
        self.payments.insert(pay, (first, Label::Unknown));
        self.check(root)
    }

    /// Records a label for `payment_id` (a chargeback or an analyst's verdict: `fraud`); a
    /// later label replaces an earlier one. Returns the payment's group if it is now a
    /// reportable ring.
    pub fn label(&mut self, payment_id: &str, fraud: bool) -> Option<Ring> {
        let pay = hash_bytes(payment_id.as_bytes());
        let Some(&(node, old)) = self.payments.get(&pay) else {
            self.stats.unknown_labels += 1;
            return None;
        };
        let new = if fraud {
            Label::Fraud
        } else {
            Label::Legitimate
        };
        self.payments.insert(pay, (node, new));
        let root = self.find(node);
        let g = &mut self.groups[root as usize];
        match (old == Label::Fraud, new == Label::Fraud) {
            (false, true) => g.frauds += 1,
            (true, false) => g.frauds -= 1,
            _ => {}
        }
        self.check(root)
    }

    /// The ring at `root` if it crosses the thresholds and was not reported at this size yet.
    fn check(&mut self, root: u32) -> Option<Ring> {
        let l = self.limits;
        let g = self.groups[root as usize];
        let rate = f64::from(g.frauds) / f64::from(g.payments.max(1));
        let due = g.size as usize >= l.min_members
            && g.frauds >= l.min_frauds
            && rate >= l.min_fraud_rate
            && (g.reported == 0 || g.frauds >= 2 * g.reported);
        if !due {
            return None;
        }
        self.groups[root as usize].reported = g.frauds;
        let mut members = Vec::new();
        let mut by_kind = HashMap::new();
        let mut i = root;
        loop {
            let m = &self.members[i as usize];
            *by_kind.entry(m.kind).or_insert(0) += 1;
            members.push(m.clone());
            i = self.next[i as usize];
            if i == root {
                break;
            }
        }
        members.sort_by(|a, b| {
            (a.kind != Link::Card, &a.value).cmp(&(b.kind != Link::Card, &b.value))
        });
        members.truncate(l.max_evidence);
        Some(Ring {
            size: g.size as usize,
            by_kind,
            payments: g.payments,
            frauds: g.frauds,
            fraud_rate: rate,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        g.add_payment("p4", &[(Link::Card, "c9"), (Link::Device, "dev-9")]);
        assert!(g.label("p1", true).is_none(), "one fraud is not a ring");
        let ring = g.label("p2", true).expect("two of three frauds");
        assert_eq!(ring.size, 5);
        assert_eq!(ring.by_kind[&Link::Card], 3);
        assert_eq!((ring.payments, ring.frauds), (3, 2));
        assert_eq!(ring.members[0].kind, Link::Card);
        assert!(!ring.members.iter().any(|m| m.value == "c9"));
        // Reported once; the next fraud does not double the count.
        assert!(g.label("p3", true).is_none());
    }

    #[test]
    fn separate_groups_merge_when_a_payment_joins_them() {
        let mut g = graph();
        g.add_payment("a1", &[(Link::Card, "a"), (Link::Email, "ea")]);
        g.add_payment("b1", &[(Link::Card, "b"), (Link::Email, "eb")]);
        assert!(g.label("a1", true).is_none());
        assert!(g.label("b1", true).is_none(), "each group is too small");
        let ring = g
            .add_payment("ab", &[(Link::Card, "a"), (Link::Email, "eb")])
            .expect("merged group crosses the thresholds");
        assert_eq!((ring.size, ring.payments, ring.frauds), (4, 3, 2));
    }

    #[test]
    fn legitimate_verdict_undoes_a_fraud_label() {
        let mut g = graph();
        for p in ["p1", "p2", "p3", "p4"] {
            g.add_payment(p, &[(Link::Card, p), (Link::Ip, "198.51.100.7")]);
        }
        g.label("p1", true);
        g.label("p1", false);
        assert!(
            g.label("p2", true).is_none(),
            "one fraud after the reversal"
        );
        assert!(g.label("p3", true).is_some());
    }

    #[test]
    fn low_fraud_rate_is_not_a_ring() {
        let mut g = graph();
        for i in 0..10 {
            g.add_payment(
                &format!("p{i}"),
                &[(Link::Card, &format!("c{i}")), (Link::Ip, "203.0.113.1")],
            );
        }
        g.label("p0", true);
        assert!(g.label("p1", true).is_none(), "2 of 10 is under 50 %");
    }

    #[test]
    fn ceilings_are_kept_and_counted() {
        let mut g = RingGraph::new(RingLimits {
            max_nodes: 3,
            ..RingLimits::default()
        });
        g.add_payment("p1", &[(Link::Card, "c1"), (Link::Device, "d")]);
        g.add_payment("p2", &[(Link::Card, "c2"), (Link::Device, "e")]);
        g.add_payment("p3", &[(Link::Card, "c1"), (Link::Device, "d")]);
        g.label("nope", true);
        let s = g.stats();
        assert_eq!((s.nodes, s.payments, s.dropped), (2, 2, 1));
        assert_eq!(s.unknown_labels, 1);
    }
}
