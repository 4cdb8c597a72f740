//! The decision book: every decision in memory, with a change log that bouncers pull from.
//! The durable copy is in the respond database; the book is rebuilt from it at start. A pull
//! is a binary search and a scan of what changed since the bouncer's last pull, so thousands of
//! bouncers can poll every few seconds. Each decision's CrowdSec JSON is made once, when it
//! enters the book; answers are written as text.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::decision::{Decision, DecisionId, DecisionScope};
use crate::wire::Wire;

/// Most changes kept; a bouncer further behind gets a full resynchronisation.
const MAX_LOG: usize = 2_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    New,
    Deleted,
}

#[derive(Default)]
struct Inner {
    decisions: BTreeMap<DecisionId, Decision>,
    /// Each decision's answer text and the sequence of its latest change, by id (same keys
    /// as `decisions`).
    wire: HashMap<DecisionId, (Wire, u64)>,
    /// (sequence, decision, what happened), sequence increasing.
    log: Vec<(u64, DecisionId, Change)>,
    seq: u64,
    cursors: HashMap<String, u64>,
}

/// Which decisions a bouncer wants (CrowdSec's `scopes`, `origins`, `scenarios_containing`,
/// `scenarios_not_containing` parameters).
#[derive(Debug, Clone, Default)]
pub struct StreamFilter {
    /// Scopes; empty means `ip` and `range`, CrowdSec's default.
    pub scopes: Vec<DecisionScope>,
    /// Origins; empty means all.
    pub origins: Vec<String>,
    /// The scenario must contain one of these.
    pub scenarios_containing: Vec<String>,
    /// The scenario must contain none of these.
    pub scenarios_not_containing: Vec<String>,
}

impl StreamFilter {
    fn accepts(&self, d: &Decision) -> bool {
        let scope_ok = if self.scopes.is_empty() {
            matches!(d.scope, DecisionScope::Ip | DecisionScope::Range)
        } else {
            self.scopes.contains(&d.scope)
        };
        scope_ok
            && (self.origins.is_empty() || self.origins.contains(&d.origin))
            && (self.scenarios_containing.is_empty()
                || self
                    .scenarios_containing
                    .iter()
                    .any(|s| d.scenario.contains(s.as_str())))
            && !self
                .scenarios_not_containing
                .iter()
                .any(|s| d.scenario.contains(s.as_str()))
    }
}

/// A JSON array being written after a prefix; `null` if nothing is pushed.
struct List {
    text: String,
    empty: bool,
}

/// Room for one decision's answer text, in bytes (most are shorter).
const BYTES_PER_DECISION: usize = 224;

impl List {
    fn new(prefix: &str) -> List {
        List {
            text: prefix.to_string(),
            empty: true,
        }
    }

    fn reserve(&mut self, decisions: usize) {
        self.text
            .reserve(decisions.saturating_mul(BYTES_PER_DECISION));
    }

    fn push(&mut self, w: &Wire, d: &Decision, now: DateTime<Utc>) {
        self.text.push(if self.empty { '[' } else { ',' });
        self.empty = false;
        w.write(d, now, &mut self.text);
    }

    fn finish(mut self) -> String {
        self.text.push_str(if self.empty { "null" } else { "]" });
        self.text
    }
}

/// The in-memory decision book. The second field counts changes, so that a reader in the same
/// process (the in-process gateway) can tell without a lock whether its copy is stale.
#[derive(Default)]
pub struct Book(RwLock<Inner>, AtomicU64);

impl Book {
    /// A book holding `decisions` (active and recently deleted), as loaded from the database.
    pub fn new(decisions: Vec<Decision>) -> Book {
        let book = Book::default();
        for d in decisions {
            book.insert(d);
        }
        book
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// How many changes the book has seen: it moves whenever a decision is added or deleted.
    pub fn version(&self) -> u64 {
        self.1.load(Ordering::Acquire)
    }

    /// Adds (or replaces) a decision and logs the change.
    pub fn insert(&self, d: Decision) {
        let mut inner = self.write();
        self.1.fetch_add(1, Ordering::AcqRel);
        inner.seq += 1;
        let seq = inner.seq;
        let change = if d.deleted.is_some() {
            Change::Deleted
        } else {
            Change::New
        };
        inner.log.push((seq, d.id, change));
        inner.wire.insert(d.id, (Wire::of(&d), seq));
        inner.decisions.insert(d.id, d);
        if inner.log.len() > MAX_LOG {
            let cut = inner.log.len() / 2;
            inner.log.drain(..cut);
            // Deleted decisions nobody can be told about any more are forgotten.
            let keep: std::collections::HashSet<DecisionId> =
                inner.log.iter().map(|e| e.1).collect();
            let Inner {
                decisions, wire, ..
            } = &mut *inner;
            decisions.retain(|id, d| d.deleted.is_none() || keep.contains(id));
            wire.retain(|id, _| decisions.contains_key(id));
        }
    }

    /// Marks a decision deleted at `at`; returns it, or `None` if unknown or already deleted.
    pub fn delete(&self, id: DecisionId, at: DateTime<Utc>) -> Option<Decision> {
        let mut inner = self.write();
        let d = inner.decisions.get_mut(&id)?;
        if d.deleted.is_some() {
            return None;
        }
        d.deleted = Some(at);
        let d = d.clone();
        self.1.fetch_add(1, Ordering::AcqRel);
        inner.seq += 1;
        let seq = inner.seq;
        inner.log.push((seq, id, Change::Deleted));
        if let Some(entry) = inner.wire.get_mut(&id) {
            entry.1 = seq;
        }
        Some(d)
    }

    /// Notes the audit log index of a decision's record (known only after the append, which
    /// bouncers do not wait for).
    pub fn set_ledger_index(&self, id: DecisionId, index: u64) {
        if let Some(d) = self.write().decisions.get_mut(&id) {
            d.ledger_index = Some(index);
        }
    }

    /// One decision.
    pub fn get(&self, id: DecisionId) -> Option<Decision> {
        self.read().decisions.get(&id).cloned()
    }

    /// Decisions in force at `now` that `keep` accepts, newest first, at most `limit`.
    pub fn active(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        keep: impl Fn(&Decision) -> bool,
    ) -> Vec<Decision> {
        self.read()
            .decisions
            .values()
            .rev()
            .filter(|d| d.active(now) && keep(d))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Decisions whose time ran out by `now` but that are not yet marked deleted.
    pub fn lapsed(&self, now: DateTime<Utc>) -> Vec<DecisionId> {
        self.read()
            .decisions
            .values()
            .filter(|d| d.deleted.is_none() && d.until <= now)
            .map(|d| d.id)
            .collect()
    }

    /// A bouncer's pull, as the JSON text of CrowdSec's answer (`{"new": [..] | null,
    /// "deleted": [..] | null}`): with `startup`, every active decision; otherwise what changed
    /// since this bouncer's previous pull (a bouncer the book does not know is answered as at
    /// startup).
    pub fn stream(
        &self,
        bouncer: &str,
        startup: bool,
        filter: &StreamFilter,
        now: DateTime<Utc>,
    ) -> String {
        let (mut new, mut deleted) = (List::new(r#"{"new":"#), List::new(r#","deleted":"#));
        let head = {
            let inner = self.read();
            let cursor = inner.cursors.get(bouncer).copied();
            let oldest = inner.log.first().map_or(0, |e| e.0);
            match cursor {
                Some(c) if !startup && c + 1 >= oldest => {
                    let from = inner.log.partition_point(|e| e.0 <= c);
                    new.reserve(inner.log.len() - from);
                    // Newest first; a decision changed twice is told once, at its latest change.
                    for &(seq, id, _) in inner.log[from..].iter().rev() {
                        let (Some((w, latest)), Some(d)) =
                            (inner.wire.get(&id), inner.decisions.get(&id))
                        else {
                            continue;
                        };
                        if *latest != seq || !filter.accepts(d) {
                            continue;
                        }
                        let list = if d.active(now) {
                            &mut new
                        } else {
                            &mut deleted
                        };
                        list.push(w, d, now);
                    }
                }
                _ => {
                    new.reserve(inner.decisions.len());
                    for d in inner.decisions.values() {
                        if filter.accepts(d)
                            && d.active(now)
                            && let Some((w, _)) = inner.wire.get(&d.id)
                        {
                            new.push(w, d, now);
                        }
                    }
                }
            }
            inner.seq
        };
        self.write().cursors.insert(bouncer.to_string(), head);
        let mut answer = new.finish();
        answer.push_str(&deleted.finish());
        answer.push('}');
        answer
    }

    /// Number of decisions in force.
    pub fn count_active(&self, now: DateTime<Utc>) -> usize {
        self.read()
            .decisions
            .values()
            .filter(|d| d.active(now))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{CsDecision, DecisionKind};
    use chrono::{Duration, TimeZone};

    /// What a bouncer gets from `GET /v1/decisions/stream`, read back.
    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    struct StreamAnswer {
        new: Option<Vec<CsDecision>>,
        deleted: Option<Vec<CsDecision>>,
    }

    fn pull(
        book: &Book,
        bouncer: &str,
        startup: bool,
        f: &StreamFilter,
        now: DateTime<Utc>,
    ) -> StreamAnswer {
        serde_json::from_str(&book.stream(bouncer, startup, f, now)).unwrap()
    }

    fn decision(id: u64, ip: &str, now: DateTime<Utc>) -> Decision {
        Decision {
            id,
            kind: DecisionKind::Ban,
            scope: DecisionScope::Ip,
            value: ip.into(),
            origin: "test".into(),
            scenario: "credential-stuffing-ip".into(),
            incident_id: None,
            created: now,
            until: now + Duration::hours(1),
            deleted: None,
            ledger_index: None,
        }
    }

    #[test]
    fn bouncers_get_changes_since_their_last_pull() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
            .single()
            .unwrap();
        let book = Book::default();
        book.insert(decision(1, "192.0.2.1", now));
        let f = StreamFilter::default();
        let first = pull(&book, "a", true, &f, now);
        assert_eq!(first.new.as_ref().map(Vec::len), Some(1));
        assert_eq!(first.deleted, None);
        assert_eq!(pull(&book, "a", false, &f, now), StreamAnswer::default());
        book.insert(decision(2, "192.0.2.2", now));
        book.delete(1, now);
        let next = pull(&book, "a", false, &f, now);
        assert_eq!(next.new.unwrap()[0].value, "192.0.2.2");
        assert_eq!(next.deleted.unwrap()[0].value, "192.0.2.1");
        // Another bouncer is independent and starts with everything active.
        let b = pull(&book, "b", false, &f, now);
        assert_eq!(b.new.unwrap().len(), 1);
    }

    #[test]
    fn a_decision_made_and_revoked_between_pulls_is_told_once_as_deleted() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
            .single()
            .unwrap();
        let book = Book::default();
        let f = StreamFilter::default();
        assert_eq!(pull(&book, "a", true, &f, now), StreamAnswer::default());
        book.insert(decision(1, "192.0.2.1", now));
        book.insert(decision(2, "192.0.2.2", now));
        book.delete(1, now);
        let next = pull(&book, "a", false, &f, now);
        let values = |l: Option<Vec<CsDecision>>| -> Vec<String> {
            l.unwrap_or_default().into_iter().map(|d| d.value).collect()
        };
        assert_eq!(values(next.new), vec!["192.0.2.2"]);
        assert_eq!(values(next.deleted), vec!["192.0.2.1"]);
    }

    #[test]
    fn custom_scopes_are_sent_only_when_asked_for() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
            .single()
            .unwrap();
        let book = Book::default();
        let mut d = decision(1, "c-1042", now);
        d.scope = DecisionScope::Account;
        book.insert(d);
        assert_eq!(
            pull(&book, "a", true, &StreamFilter::default(), now).new,
            None
        );
        let f = StreamFilter {
            scopes: vec![DecisionScope::Account],
            ..StreamFilter::default()
        };
        assert_eq!(pull(&book, "a", true, &f, now).new.unwrap().len(), 1);
    }
}
