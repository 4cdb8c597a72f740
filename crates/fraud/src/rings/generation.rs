//! One generation of the ring graph: union-find with union by size and path halving over the
//! entities its payments tied together, a circular member list per group, a spanning tree of
//! the links that joined each group, and the payments with their labels. [`super::RingGraph`]
//! keeps two and decides when the older is dropped.

use std::collections::HashMap;

use ensuresec_model::hash::{BuildPreHashed, hash_bytes};

use super::{GenerationSummary, Link, Member, Ring, RingLimits};

/// A payment's label as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    /// No chargeback or verdict yet.
    Unknown,
    /// A chargeback, or an analyst's verdict of fraud.
    Fraud,
    /// An analyst's verdict of no fraud.
    Legitimate,
}

/// A group's counts (meaningful at its root only).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Group {
    /// Entities.
    pub(super) size: u32,
    /// Payments that went through it.
    pub(super) payments: u32,
    /// Of them, labelled fraud.
    pub(super) frauds: u32,
    /// Frauds when last reported; 0 if never.
    pub(super) reported: u32,
}

/// The graph of the entities some payments tied together.
#[derive(Debug, Clone, Default)]
pub(super) struct Generation {
    pub(super) index: HashMap<u64, u32, BuildPreHashed>,
    pub(super) parent: Vec<u32>,
    /// Next member in the group's circular list.
    pub(super) next: Vec<u32>,
    pub(super) members: Vec<Member>,
    /// Meaningful at roots only.
    pub(super) groups: Vec<Group>,
    /// The entity this one was tied to by a payment that used them together ([`NO_LINK`] for
    /// none): a forest whose trees span the groups, so that a report can draw the links that
    /// joined a ring and not only its members. A link is kept only where it joined two groups
    /// (a link between members already together adds nothing to how they are tied), so each
    /// entity has at most one and they cost four bytes per entity.
    pub(super) linked_to: Vec<u32>,
    /// Payment → (its card's node, its label).
    pub(super) payments: HashMap<u64, (u32, Label), BuildPreHashed>,
    /// Event time (seconds) of its first payment, when the graph's clock was known then.
    pub(super) started: Option<i64>,
    /// Per reported group (by root), the key of the payment whose payment or label made its
    /// last report: that event, detected again after a crash whose alert did not reach the
    /// store, reports the ring again ([`Generation::again`]). Kept in the graph's file and
    /// taken again from the journal; few groups are reported, so a map beside the groups.
    pub(super) reported_by: HashMap<u32, u64>,
}

/// [`Generation::linked_to`] of an entity tied to none.
pub(super) const NO_LINK: u32 = u32::MAX;

/// The key of an entity in [`Generation::index`].
pub(super) fn key(kind: Link, value: &str) -> u64 {
    let mut bytes = Vec::with_capacity(value.len() + 1);
    bytes.push(kind as u8);
    bytes.extend_from_slice(value.as_bytes());
    hash_bytes(&bytes)
}

impl Generation {
    /// Entities held.
    pub(super) fn nodes(&self) -> usize {
        self.parent.len()
    }

    /// Of `entities`, how many this generation does not hold yet.
    pub(super) fn new_nodes(&self, entities: &[(Link, &str)]) -> usize {
        entities
            .iter()
            .filter(|(k, v)| !self.index.contains_key(&key(*k, v)))
            .count()
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// The root of `x`'s group, without shortening the path (for a graph only read).
    pub(super) fn root_of(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
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
            ..Group::default()
        });
        self.linked_to.push(NO_LINK);
        i
    }

    /// Joins the groups of entities `a` and `b`, which a payment used together, and returns
    /// the joined group's root.
    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (big, small, from, to) =
            if self.groups[ra as usize].size >= self.groups[rb as usize].size {
                (ra, rb, b, a)
            } else {
                (rb, ra, a, b)
            };
        self.tie(from, to);
        self.parent[small as usize] = big;
        self.next.swap(big as usize, small as usize);
        let s = self.groups[small as usize];
        // The joined group's last report is the later of the two, and so is who made it.
        let small_by = self.reported_by.remove(&small);
        if s.reported > self.groups[big as usize].reported {
            match small_by {
                Some(by) => self.reported_by.insert(big, by),
                None => self.reported_by.remove(&big),
            };
        }
        let g = &mut self.groups[big as usize];
        g.size += s.size;
        g.payments += s.payments;
        g.frauds += s.frauds;
        g.reported = g.reported.max(s.reported);
        big
    }

    /// Records the link between `from`, in the smaller of two groups being joined, and `to`:
    /// `from`'s tree is turned to hang from `from` (the links on its way up are reversed),
    /// which then hangs from `to`. The way up is within the smaller group, and an entity is
    /// in the smaller group of a join at most log₂ n times, so the links of n entities cost
    /// O(n log n) steps in all (the union-find itself is near constant per join).
    fn tie(&mut self, from: u32, to: u32) {
        let (mut at, mut below) = (from, to);
        while at != NO_LINK {
            let up = std::mem::replace(&mut self.linked_to[at as usize], below);
            below = at;
            at = up;
        }
    }

    /// Joins the entities of the payment with key `pay` (the card first, at least one) and
    /// returns their group's root.
    pub(super) fn link(&mut self, pay: u64, entities: &[(Link, &str)]) -> u32 {
        let first = self.node(entities[0].0, entities[0].1);
        let mut root = self.find(first);
        for (kind, value) in &entities[1..] {
            let n = self.node(*kind, value);
            root = self.union(first, n);
        }
        self.groups[root as usize].payments += 1;
        self.payments.insert(pay, (first, Label::Unknown));
        root
    }

    /// Labels the payment with key `pay`, which this generation holds, and returns its
    /// group's root and whether the label changed.
    pub(super) fn label(&mut self, pay: u64, fraud: bool) -> (u32, bool) {
        let new = if fraud {
            Label::Fraud
        } else {
            Label::Legitimate
        };
        let (node, old) = self.payments[&pay];
        self.payments.insert(pay, (node, new));
        let root = self.find(node);
        let g = &mut self.groups[root as usize];
        match (old == Label::Fraud, new == Label::Fraud) {
            (false, true) => g.frauds += 1,
            (true, false) => g.frauds -= 1,
            _ => {}
        }
        (root, old != new)
    }

    /// Its groups, payments and reports in numbers.
    pub(super) fn summary(&self) -> GenerationSummary {
        let roots = (0..self.parent.len()).filter(|&i| self.parent[i] as usize == i);
        let (mut groups, mut largest_group, mut reported) = (0, 0, 0);
        for root in roots {
            let g = &self.groups[root];
            groups += 1;
            largest_group = largest_group.max(g.size as usize);
            reported += usize::from(g.reported > 0);
        }
        GenerationSummary {
            entities: self.nodes(),
            payments: self.payments.len(),
            frauds: self
                .payments
                .values()
                .filter(|(_, label)| *label == Label::Fraud)
                .count(),
            groups,
            largest_group,
            linked: self.linked_to.iter().filter(|&&l| l != NO_LINK).count(),
            reported,
        }
    }

    /// The ring at `root` if it crosses the thresholds of `l` and was not reported at this
    /// size yet; payment `pay`'s payment or label is what made it so.
    pub(super) fn check(&mut self, root: u32, l: &RingLimits, pay: u64) -> Option<Ring> {
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
        self.reported_by.insert(root, pay);
        Some(self.ring(root, l))
    }

    /// The ring at `root` again, when payment `pay`'s payment or label made its last report:
    /// the same event detected again after a restart, whose alert may not have been stored.
    pub(super) fn again(&self, root: u32, l: &RingLimits, pay: u64) -> Option<Ring> {
        let reported = self.groups[root as usize].reported > 0;
        (reported && self.reported_by.get(&root) == Some(&pay)).then(|| self.ring(root, l))
    }

    /// The group at `root` as a report lists it.
    fn ring(&self, root: u32, l: &RingLimits) -> Ring {
        let g = self.groups[root as usize];
        let rate = f64::from(g.frauds) / f64::from(g.payments.max(1));
        let mut listed = Vec::new();
        let mut by_kind = HashMap::new();
        let mut i = root;
        loop {
            let m = &self.members[i as usize];
            *by_kind.entry(m.kind).or_insert(0) += 1;
            listed.push(i);
            i = self.next[i as usize];
            if i == root {
                break;
            }
        }
        listed.sort_by(|&a, &b| {
            let (a, b) = (&self.members[a as usize], &self.members[b as usize]);
            (a.kind != Link::Card, &a.value).cmp(&(b.kind != Link::Card, &b.value))
        });
        listed.truncate(l.max_evidence);
        let position: HashMap<u32, usize> =
            listed.iter().enumerate().map(|(p, &n)| (n, p)).collect();
        let links = listed
            .iter()
            .enumerate()
            .filter_map(|(p, &n)| Some([p, *position.get(&self.linked_to[n as usize])?]))
            .collect();
        let members = listed
            .iter()
            .map(|&n| self.members[n as usize].clone())
            .collect();
        Ring {
            size: g.size as usize,
            by_kind,
            payments: g.payments,
            frauds: g.frauds,
            fraud_rate: rate,
            members,
            links,
        }
    }
}
