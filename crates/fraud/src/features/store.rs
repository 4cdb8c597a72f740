//! The per-entity tables and the feature computation for one payment.

use ensuresec_model::event::{PaymentAuthorization, PaymentOutcome};
use ensuresec_model::hash::{hash_bytes, hash_ip};

use super::entity::EntityState;
use super::recent::{self, Counted, RecentPayments};
use super::table::Table;
use super::{F, Features};
use crate::journal::Pending;
use crate::request::{PaymentRequest, ThreeDs};

/// Bounds on the feature state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// Most entities kept per kind (cards, devices, …). At the ceiling, entities not seen for
    /// the longest time are evicted first.
    pub max_entities: usize,
    /// An entity not seen for this long (seconds of event time) is forgotten.
    pub ttl_seconds: i64,
    /// Entities per kind the tables are sized for from the start (at most `max_entities`). A
    /// table that outgrows its size moves its entries to one twice as big a few per insert,
    /// but making the bigger table still holds one score for milliseconds (about 20 at ten
    /// million entities): reserving the expected population keeps even that out of the
    /// latency. Costs about 65 bytes per reserved entity and kind, touched as the tables fill.
    pub reserved_entities: usize,
    /// How many of the latest payments are remembered by merchant and payment id, so that a
    /// payment scored again (a retry, or an event detected again after a restart) is not counted
    /// twice. About 25 bytes each once filled; 0 counts every score.
    pub recent_payments: usize,
}

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            max_entities: 10_000_000,
            ttl_seconds: 90 * 86_400,
            reserved_entities: 1 << 17,
            recent_payments: DEFAULT_RECENT_PAYMENTS,
        }
    }
}

/// Payments remembered by default: more than a crash can leave detected but not stored at the
/// pipeline's default queues and usual batch sizes, and a few minutes of a busy provider's
/// retries; about 6.7 MB once filled.
const DEFAULT_RECENT_PAYMENTS: usize = 1 << 18;

/// Counters of the state, for metrics. Read back from the state file, so they saturate instead
/// of overflowing: a damaged file cannot make counting panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateStats {
    /// Entities forgotten because their time to live passed.
    pub expired: u64,
    /// Entities evicted early because a table was at its ceiling.
    pub evicted: u64,
    /// Payments scored again and declines reported again since the start, not counted again
    /// (not kept in the state file).
    pub repeated: u64,
}

/// The kinds of entity a payment is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Card = 0,
    Device,
    Ip,
    Email,
    Account,
    Shipping,
}

pub(super) const KINDS: usize = 6;

/// Entities whose last-seen times place the eviction cutoff. A shard iterates in the order of
/// its hashed keys, which has nothing to do with age, so its first entries are a fair sample:
/// the tenth percentile of 4,096 is within about half a percentage point of the whole shard's,
/// without copying and ordering its last-seen times while scoring waits.
const EVICTION_SAMPLE: usize = 4096;

/// Feature state for every entity, owned by one thread (no locks): the caller shards by card
/// if it needs more than one core.
#[derive(Debug, Clone)]
pub struct FeatureStore {
    pub(super) tables: [Table; KINDS],
    pub(super) limits: StateLimits,
    pub(super) stats: StateStats,
    /// What was counted last, by payment.
    pub(super) recent: RecentPayments,
    /// What was counted since the journal was last written, when the state is journaled.
    pub(super) journal: Option<Pending>,
    /// The first journal file that continues this state (read from its snapshot).
    pub(super) journal_from: u64,
    /// The newest event time counted (or, after a read, the newest time an entity was seen):
    /// the "now" of [`FeatureStore::sweep_step`].
    pub(super) newest: i64,
    /// The shard [`FeatureStore::sweep_step`] goes through next, over every kind's shards.
    pub(super) sweep_next: usize,
}

/// Hours between two event times, never negative.
fn hours(from: i64, to: i64) -> f64 {
    (to - from).max(0) as f64 / 3600.0
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// 1 when both countries are known and differ, 0 when equal, unknown otherwise.
fn mismatch(a: Option<&str>, b: Option<&str>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => flag(a != b),
        _ => f64::NAN,
    }
}

/// Amount from which a payment by a day-old account counts as high value (major units).
pub const HIGH_VALUE: f64 = 500.0;

impl FeatureStore {
    /// An empty store with `limits`.
    pub fn new(limits: StateLimits) -> FeatureStore {
        let reserved = limits.reserved_entities.min(limits.max_entities);
        FeatureStore {
            tables: std::array::from_fn(|_| Table::new(limits.max_entities, reserved)),
            limits,
            stats: StateStats::default(),
            recent: RecentPayments::new(limits.recent_payments),
            journal: None,
            journal_from: 0,
            newest: i64::MIN,
            sweep_next: 0,
        }
    }

    /// Entities held, over all kinds.
    pub fn len(&self) -> usize {
        self.tables.iter().map(Table::len).sum()
    }

    /// Whether no entity is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate heap bytes of the tables (every slot, used or free, holds a key, a state and
    /// one control byte) and of the payments remembered.
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(u64, EntityState)>() + 1;
        self.tables
            .iter()
            .map(|t| t.capacity() * slot)
            .sum::<usize>()
            + self.recent.heap_bytes()
    }

    /// The number of the first journal file that continues this state: the records of the
    /// files before it are in the state already (0 for a state not read from a file).
    pub fn journal_from(&self) -> u64 {
        self.journal_from
    }

    /// Payments remembered by merchant and id, which are not counted again (for `ensuresec
    /// fraud inspect`).
    pub fn recent_payments(&self) -> usize {
        self.recent.keys().len()
    }

    /// Expiry and eviction counts so far.
    pub fn stats(&self) -> StateStats {
        self.stats
    }

    /// Computes the features of `request` from what was seen before it, then counts it. A
    /// payment counted already (the same merchant and payment id among the recent ones) is not
    /// counted again: its features are read from the state less itself, which gives those of
    /// its first score when nothing else of its entities came in between.
    pub fn observe(&mut self, request: &PaymentRequest) -> Features {
        self.observe_amount(request, request.amount_major())
    }

    /// [`FeatureStore::observe`], counting the payment at `amount`: in the reference
    /// currency of the exchange rates ([`crate::rates`]) when they are loaded.
    pub fn observe_amount(&mut self, request: &PaymentRequest, amount: f64) -> Features {
        let payment = PaymentKeys::of(request, amount);
        let (now, amount) = (payment.time, payment.amount);
        let mut f = Features::unknown();
        f.set(F::Amount, amount);
        f.set(
            F::HourOfDay,
            f64::from((now.rem_euclid(86_400) / 3600) as u32),
        );
        let seen = if self.recent.contains(payment.id) {
            self.stats.repeated += 1;
            self.peek(&payment)
        } else {
            self.count(&payment)
        };
        let card = seen.card;
        f.set(F::CardCount1h, f64::from(card.counts[0]));
        f.set(F::CardCount24h, f64::from(card.counts[1]));
        f.set(F::CardCount7d, f64::from(card.counts[2]));
        f.set(F::CardAmount24h, f64::from(card.amount_24h));
        f.set(F::CardDeclineRatio, card.decline_ratio);
        f.set(F::CardAgeHours, hours(card.first_seen, now));
        f.set(F::CardDevices, card.linked);
        if let Some(d) = seen.device {
            f.set(F::DeviceCount1h, f64::from(d.counts[0]));
            f.set(F::DeviceCards, d.linked);
            f.set(F::DeviceAgeHours, hours(d.first_seen, now));
        }
        if let Some(d) = seen.ip {
            f.set(F::IpCount1h, f64::from(d.counts[0]));
            f.set(F::IpCards, d.linked);
        }
        if let Some(d) = seen.email {
            f.set(F::EmailCount24h, f64::from(d.counts[1]));
            f.set(F::EmailCards, d.linked);
            f.set(F::EmailAgeHours, hours(d.first_seen, now));
        }
        if let (Some((d, changed)), Some(a)) = (seen.account, &request.account) {
            f.set(F::AccountAgeDays, f64::from(a.age_days));
            f.set(F::AccountCount24h, f64::from(d.counts[1]));
            f.set(F::AccountCards, d.linked);
            f.set(
                F::NewAccountHighValue,
                flag(a.age_days < 1 && amount >= HIGH_VALUE),
            );
            f.set(
                F::HoursSinceAddressChange,
                changed.map_or(f64::NAN, |t| hours(t, now)),
            );
        }
        if let Some(d) = seen.shipping {
            f.set(F::ShippingCount24h, f64::from(d.counts[1]));
            f.set(F::ShippingCards, d.linked);
        }

        let ip_country = request.ip_country.as_deref();
        let billing = Some(request.billing.country.as_str());
        let shipping = request.shipping.as_ref().map(|s| s.country.as_str());
        f.set(
            F::BinIpCountryMismatch,
            mismatch(request.card.country.as_deref(), ip_country),
        );
        f.set(
            F::BillingShippingCountryMismatch,
            mismatch(billing, shipping),
        );
        f.set(F::IpBillingCountryMismatch, mismatch(ip_country, billing));
        if let Some(t) = request.three_ds {
            f.set(F::ThreeDsAuthenticated, flag(t == ThreeDs::Authenticated));
            f.set(F::ThreeDsFailed, flag(t == ThreeDs::Failed));
        }
        f
    }

    /// Counts a decline reported by the payment pipeline against the card and the IP address,
    /// so that decline ratios reflect what the issuers said; once per payment among the recent
    /// ones.
    pub fn record_outcome(&mut self, authorization: &PaymentAuthorization, time: i64) {
        if authorization.outcome != PaymentOutcome::Declined {
            return;
        }
        let id = recent::key(
            authorization.merchant.as_deref().unwrap_or_default(),
            &authorization.payment_id,
            Counted::Decline,
        );
        if self.recent.contains(id) {
            self.stats.repeated += 1;
            return;
        }
        let decline = DeclineKeys {
            id,
            time,
            card: hash_bytes(authorization.card_fingerprint.as_bytes()),
            ip: authorization.ip.map(hash_ip),
        };
        self.count_decline(&decline);
    }

    /// Counts one payment in the state of each of its entities; returns them as they were
    /// before it. What scoring and a replay of the journal share.
    pub(super) fn count(&mut self, p: &PaymentKeys) -> SeenAll {
        if let Some(journal) = &mut self.journal {
            super::journal::payment(journal, p);
        }
        if p.id != 0 {
            self.recent.insert(p.id);
        }
        let (now, amount) = (p.time, p.amount);
        self.newest = self.newest.max(now);
        SeenAll::gather(p, |kind, key, link| {
            let seen = self.touch(kind, key, now, amount, link);
            let changed = (kind == Kind::Account)
                .then(|| self.note_address(key, p.shipping, now))
                .flatten();
            (seen, changed)
        })
    }

    /// A payment's entities as they were before it, for a payment counted already: read, not
    /// counted.
    fn peek(&self, p: &PaymentKeys) -> SeenAll {
        SeenAll::gather(p, |kind, key, link| {
            let seen = self.peek_entity(kind, key, p.time, p.amount, link);
            let changed = (kind == Kind::Account)
                .then(|| self.tables[kind as usize].get(&key))
                .flatten()
                .and_then(|s| (s.address_changed != 0).then_some(s.address_changed));
            (seen, changed)
        })
    }

    /// Counts a decline against its card and IP address, when they are known.
    pub(super) fn count_decline(&mut self, d: &DeclineKeys) {
        if let Some(journal) = &mut self.journal {
            super::journal::decline(journal, d);
        }
        if d.id != 0 {
            self.recent.insert(d.id);
        }
        self.newest = self.newest.max(d.time);
        for (kind, key) in [(Kind::Card, Some(d.card)), (Kind::Ip, d.ip)] {
            if let Some(state) = key.and_then(|k| self.tables[kind as usize].get_mut(&k)) {
                state.decay_to(d.time);
                state.declines_7d += 1.0;
            }
        }
    }

    /// Decays `kind`'s entity `key` to `now`, reads it as it was before this payment, then
    /// counts the payment and the link. The distinct count includes this payment's link.
    fn touch(&mut self, kind: Kind, key: u64, now: i64, amount: f64, link: Option<u64>) -> Seen {
        self.make_room(kind, key, now);
        let state = self.tables[kind as usize].get_or_insert_with(key, || EntityState::new(now));
        if now - state.last_seen >= self.limits.ttl_seconds {
            // Not seen for its time to live: it starts afresh, as if a sweep had forgotten it.
            *state = EntityState::new(now);
            self.stats.expired = self.stats.expired.saturating_add(1);
        }
        state.decay_to(now);
        let before = *state;
        state.add_payment(amount);
        if let Some(l) = link {
            state.link(l);
        }
        Seen::of(&before, state, link.is_some())
    }

    /// `kind`'s entity `key` as [`FeatureStore::touch`] saw it for a payment of `amount` at
    /// `now` that was counted already, without changing it: its state less that payment.
    fn peek_entity(&self, kind: Kind, key: u64, now: i64, amount: f64, link: Option<u64>) -> Seen {
        let held = self.tables[kind as usize]
            .get(&key)
            .filter(|s| now - s.last_seen < self.limits.ttl_seconds);
        let (mut before, mut after) = match held {
            Some(s) => (*s, *s),
            // Forgotten since (evicted or expired): as if it were counted now, into nothing.
            None => (EntityState::new(now), EntityState::new(now)),
        };
        before.decay_to(now);
        after.decay_to(now);
        if held.is_some() {
            before.remove_payment(amount);
        } else {
            after.add_payment(amount);
        }
        if let Some(l) = link {
            after.link(l);
        }
        Seen::of(&before, &after, link.is_some())
    }

    /// Records the account's shipping address; returns when it last changed, if ever.
    fn note_address(&mut self, account: u64, shipping: Option<u64>, now: i64) -> Option<i64> {
        let state = self.tables[Kind::Account as usize].get_mut(&account)?;
        if let Some(h) = shipping {
            let h = (h >> 32) as u32 | 1;
            if state.address != 0 && state.address != h {
                state.address_changed = now;
            }
            state.address = h;
        }
        (state.address_changed != 0).then_some(state.address_changed)
    }

    /// Forgets every entity not seen for the time to live before `now` (event time), in one
    /// pass over every table: for a state that no scorer is waiting on (tests, and a state
    /// rebuilt from its file and journal before it is written). `serve` goes through its live
    /// state a shard at a time instead ([`FeatureStore::sweep_step`]).
    pub fn sweep(&mut self, now: i64) {
        for step in 0..self.sweep_steps() {
            self.forget_expired(step, now);
        }
    }

    /// [`FeatureStore::sweep`] at the newest event time counted: what a state written to its
    /// file should no longer hold.
    pub fn sweep_to_newest(&mut self) {
        self.sweep(self.newest);
    }

    /// Forgets the expired entities of one shard of one kind, the next in turn, at the newest
    /// event time counted; returns how many. Without it an entity not seen for `ttl_seconds`
    /// would start afresh when seen again but its hashed keys and counts would stay in memory
    /// and in every state file until its table filled, which for a shop below the ceiling is
    /// never. One shard keeps scoring waiting for a pass over a 256th of a kind's table at most
    /// (bench/RESULTS.md); [`FeatureStore::sweep_steps`] calls go through every table once.
    pub fn sweep_step(&mut self) -> usize {
        let step = self.sweep_next % self.sweep_steps();
        self.sweep_next = (step + 1) % self.sweep_steps();
        self.forget_expired(step, self.newest)
    }

    /// Forgets the entities of shard `step` (counted over every kind's shards, below
    /// [`FeatureStore::sweep_steps`]) not seen for the time to live before `now`, and counts
    /// them as expired; returns how many.
    fn forget_expired(&mut self, mut step: usize, now: i64) -> usize {
        let ttl = self.limits.ttl_seconds;
        for table in &mut self.tables {
            if step < table.shard_count() {
                let shard = table.shard_mut(step);
                let before = shard.len();
                shard.retain(|_, s| now.saturating_sub(s.last_seen) < ttl);
                let forgotten = before - shard.len();
                self.stats.expired = self.stats.expired.saturating_add(forgotten as u64);
                return forgotten;
            }
            step -= table.shard_count();
        }
        0
    }

    /// The newest event time counted (after a read, the newest time an entity was seen), if
    /// any: the time the state's entities are expired against.
    pub fn newest(&self) -> Option<i64> {
        (self.newest != i64::MIN).then_some(self.newest)
    }

    /// Calls of [`FeatureStore::sweep_step`] that go through every table once: the shards of
    /// all kinds (6 to 1,536).
    pub fn sweep_steps(&self) -> usize {
        self.tables.iter().map(Table::shard_count).sum()
    }

    /// Before inserting `key` into its full shard of the table, in one pass over that shard:
    /// forget its expired entities and the others last seen no later than the tenth percentile
    /// of a sample ([`EVICTION_SAMPLE`]), about the least recently seen tenth in all (only the
    /// expired, when they are more). The other shards and tables are left to
    /// [`FeatureStore::sweep`].
    fn make_room(&mut self, kind: Kind, key: u64, now: i64) {
        let Some(table) = self.tables[kind as usize].full_shard_for(key) else {
            return;
        };
        let mut seen: Vec<i64> = table
            .values()
            .take(EVICTION_SAMPLE)
            .map(|s| s.last_seen)
            .collect();
        if seen.is_empty() {
            return; // a ceiling of zero: nothing to forget
        }
        let cut = (seen.len() / 10).max(1);
        let (_, cutoff, _) = seen.select_nth_unstable(cut - 1);
        let cutoff = *cutoff;
        let ttl = self.limits.ttl_seconds;
        let (mut expired, mut evicted) = (0, 0);
        table.retain(|_, s| {
            if now - s.last_seen >= ttl {
                expired += 1;
                false
            } else if s.last_seen <= cutoff {
                evicted += 1;
                false
            } else {
                true
            }
        });
        self.stats.expired = self.stats.expired.saturating_add(expired);
        self.stats.evicted = self.stats.evicted.saturating_add(evicted);
    }
}

/// The hashed keys of a payment's entities, its time and amount: all that counting it needs,
/// and what the journal keeps of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PaymentKeys {
    /// Its key among the recent payments (`recent::key`); 0 in records written before.
    pub id: u64,
    pub time: i64,
    pub amount: f64,
    pub card: u64,
    pub device: Option<u64>,
    pub ip: Option<u64>,
    pub email: Option<u64>,
    pub account: Option<u64>,
    pub shipping: Option<u64>,
}

impl PaymentKeys {
    fn of(request: &PaymentRequest, amount: f64) -> PaymentKeys {
        let hash = |s: &str| hash_bytes(s.as_bytes());
        PaymentKeys {
            id: recent::key(&request.merchant, &request.payment_id, Counted::Payment),
            time: request.time.timestamp(),
            amount,
            card: hash(&request.card.fingerprint),
            device: request.device.as_deref().map(hash),
            ip: request.ip.map(hash_ip),
            email: request.email_hash.as_deref().map(hash),
            account: request.account.as_ref().map(|a| hash(&a.id)),
            shipping: request
                .shipping
                .as_ref()
                .and_then(|s| s.hash.as_deref())
                .map(hash),
        }
    }
}

/// The keys of a decline: its card and, when known, its IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DeclineKeys {
    /// Its key among the recent payments (`recent::key`); 0 in records written before.
    pub id: u64,
    pub time: i64,
    pub card: u64,
    pub ip: Option<u64>,
}

/// A payment's entities as they were before it was counted (the account with when its
/// shipping address last changed).
pub(super) struct SeenAll {
    card: Seen,
    device: Option<Seen>,
    ip: Option<Seen>,
    email: Option<Seen>,
    account: Option<(Seen, Option<i64>)>,
    shipping: Option<Seen>,
}

impl SeenAll {
    /// Each of `p`'s entities as `entity` gives it, by kind, key and the entity it links to
    /// (with, for the account, when its shipping address last changed). The card links to its
    /// device (devices per card); every other entity links to the card.
    fn gather(
        p: &PaymentKeys,
        mut entity: impl FnMut(Kind, u64, Option<u64>) -> (Seen, Option<i64>),
    ) -> SeenAll {
        let card = entity(Kind::Card, p.card, p.device).0;
        let linked = Some(p.card);
        let mut other = |kind, key: Option<u64>| key.map(|k| entity(kind, k, linked));
        SeenAll {
            card,
            device: other(Kind::Device, p.device).map(|s| s.0),
            ip: other(Kind::Ip, p.ip).map(|s| s.0),
            email: other(Kind::Email, p.email).map(|s| s.0),
            account: other(Kind::Account, p.account),
            shipping: other(Kind::Shipping, p.shipping).map(|s| s.0),
        }
    }
}

/// An entity as it was before the payment being scored.
struct Seen {
    counts: [f32; 3],
    amount_24h: f32,
    first_seen: i64,
    /// Distinct linked entities, including this payment's (`NaN` when it had none).
    linked: f64,
    decline_ratio: f64,
}

impl Seen {
    /// From the entity's state `before` the payment and `after` it and its link (`linked`:
    /// whether it had one).
    fn of(before: &EntityState, after: &EntityState, linked: bool) -> Seen {
        Seen {
            counts: before.counts,
            amount_24h: before.amount_24h,
            first_seen: before.first_seen,
            linked: if linked {
                after.linked_count()
            } else {
                f64::NAN
            },
            decline_ratio: before.decline_ratio(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::sample_json;
    use proptest::prelude::*;

    fn request(edit: impl FnOnce(&mut serde_json::Value)) -> PaymentRequest {
        let mut v = sample_json();
        edit(&mut v);
        PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid test request")
    }

    /// A payment at `seconds` by `card` from `device`, its id made of the three.
    fn at(seconds: i64, card: &str, device: &str) -> PaymentRequest {
        request(|v| {
            v["payment_id"] = format!("p{seconds}-{card}-{device}").into();
            let t = chrono::DateTime::from_timestamp(1_770_000_000 + seconds, 0).expect("time");
            v["time"] = t.to_rfc3339().into();
            v["card"]["fingerprint"] = card.into();
            v["device"] = device.into();
        })
    }

    #[test]
    fn velocity_counts_previous_payments() {
        let mut s = FeatureStore::new(StateLimits::default());
        let first = s.observe(&at(0, "c1", "d1"));
        assert_eq!(first.get(F::CardCount1h), 0.0);
        assert_eq!(first.get(F::CardAgeHours), 0.0);
        for i in 1..5 {
            s.observe(&at(i * 60, "c1", "d1"));
        }
        let f = s.observe(&at(300, "c1", "d1"));
        // Five payments within five minutes: decayed by at most exp(-5/60).
        let c = f.get(F::CardCount1h);
        assert!(c > 4.6 && c < 5.0, "{c}");
        assert!((f.get(F::CardAmount24h) - 5.0 * 123.45).abs() < 5.0);
        assert!((f.get(F::CardAgeHours) - 300.0 / 3600.0).abs() < 1e-9);
        assert_eq!(f.get(F::CardDevices), 1.0);
    }

    #[test]
    fn distinct_cards_per_device_and_devices_per_card() {
        let mut s = FeatureStore::new(StateLimits::default());
        for i in 0..6 {
            s.observe(&at(i, &format!("card{i}"), "shared-device"));
        }
        let f = s.observe(&at(10, "card-x", "shared-device"));
        assert!(f.get(F::DeviceCards) >= 6.0, "{}", f.get(F::DeviceCards));
        for i in 0..4 {
            s.observe(&at(20 + i, "one-card", &format!("dev{i}")));
        }
        let f = s.observe(&at(30, "one-card", "dev-last"));
        assert!(f.get(F::CardDevices) >= 4.0, "{}", f.get(F::CardDevices));
    }

    #[test]
    fn country_mismatches_and_unknowns() {
        let mut s = FeatureStore::new(StateLimits::default());
        let f = s.observe(&request(|v| {
            v["ip_country"] = "NG".into();
            v["shipping"]["country"] = "FR".into();
        }));
        assert_eq!(f.get(F::BinIpCountryMismatch), 1.0);
        assert_eq!(f.get(F::IpBillingCountryMismatch), 1.0);
        assert_eq!(f.get(F::BillingShippingCountryMismatch), 1.0);
        let f = s.observe(&request(|v| {
            v.as_object_mut().expect("object").remove("ip_country");
            v.as_object_mut().expect("object").remove("device");
        }));
        assert!(f.get(F::BinIpCountryMismatch).is_nan());
        assert!(f.get(F::DeviceCards).is_nan());
        assert_eq!(f.get(F::BillingShippingCountryMismatch), 0.0);
    }

    #[test]
    fn address_change_and_new_account() {
        let mut s = FeatureStore::new(StateLimits::default());
        let f = s.observe(&at(0, "c", "d"));
        assert!(f.get(F::HoursSinceAddressChange).is_nan());
        let f = s.observe(&request(|v| {
            let t = chrono::DateTime::from_timestamp(1_770_000_000 + 1800, 0).expect("time");
            v["time"] = t.to_rfc3339().into();
            v["shipping"]["hash"] = "new-address".into();
            v["account"]["age_days"] = 0.into();
            v["amount"]["minor"] = 80_000.into();
        }));
        assert_eq!(f.get(F::HoursSinceAddressChange), 0.0);
        assert_eq!(f.get(F::NewAccountHighValue), 1.0);
    }

    #[test]
    fn declines_raise_the_ratio() {
        let mut s = FeatureStore::new(StateLimits::default());
        for i in 0..4 {
            s.observe(&at(i, "c", "d"));
        }
        let mut auth = ensuresec_model::event::PaymentAuthorization {
            payment_id: "p".into(),
            card_fingerprint: "c".into(),
            amount: ensuresec_model::event::Money {
                minor: 100,
                currency: "EUR".into(),
            },
            outcome: PaymentOutcome::Declined,
            order_id: None,
            account: None,
            bin: None,
            merchant: None,
            ip: None,
            device: None,
            email_hash: None,
            decline_code: None,
            three_ds: None,
            billing_country: None,
            card_country: None,
            ip_country: None,
            shipping_country: None,
            shipping_address_hash: None,
            account_age_days: None,
            billing_postal_code: None,
            shipping_postal_code: None,
            billing_location: None,
            shipping_location: None,
        };
        for i in 0..3 {
            auth.payment_id = format!("p{i}");
            s.record_outcome(&auth, 1_770_000_005);
        }
        let f = s.observe(&at(6, "c", "d"));
        let ratio = f.get(F::CardDeclineRatio);
        assert!(ratio > 0.7, "{ratio}");
        // The same decline reported again is not counted again.
        s.record_outcome(&auth, 1_770_000_007);
        let again = s.observe(&at(8, "c", "d")).get(F::CardDeclineRatio);
        assert!(
            again < ratio,
            "{again} after {ratio}: one more payment, no more decline"
        );
        assert_eq!(s.stats().repeated, 1);
    }

    /// Features equal value by value, but for the rounding of a count taken back (unknowns
    /// equal unknowns).
    fn same(a: &Features, b: &Features) -> bool {
        a.0.iter()
            .zip(&b.0)
            .all(|(x, y)| (x - y).abs() <= 1e-5 * x.abs().max(1.0) || (x.is_nan() && y.is_nan()))
    }

    fn snapshot(s: &FeatureStore) -> Vec<u8> {
        let mut out = Vec::new();
        s.write_snapshot(&mut out).expect("in memory");
        out
    }

    #[test]
    fn a_payment_scored_again_is_not_counted_again_and_gets_its_first_features() {
        let mut s = FeatureStore::new(StateLimits::default());
        s.observe(&at(0, "c", "d"));
        s.observe(&at(60, "c", "d2"));
        let retried = at(120, "c", "d");
        let first = s.observe(&retried);
        let state = s.clone();
        let again = s.observe(&retried);
        assert!(same(&first, &again), "{first:?} against {again:?}");
        assert_eq!(s.stats().repeated, 1);
        assert_eq!(snapshot(&state), snapshot(&s), "nothing counted");
        // The next payment of the card sees three before it, not four.
        let next = s.observe(&at(180, "c", "d")).get(F::CardCount1h);
        assert!(next > 2.9 && next < 3.0, "{next}");
        // The same id at another merchant is another payment.
        let elsewhere = request(|v| {
            v["payment_id"] = "p120-c-d".into();
            v["merchant"] = "another-shop".into();
        });
        s.observe(&elsewhere);
        assert_eq!(s.stats().repeated, 1);
    }

    /// A store whose entities live an hour.
    fn hour_to_live() -> FeatureStore {
        FeatureStore::new(StateLimits {
            ttl_seconds: 3600,
            ..StateLimits::default()
        })
    }

    #[test]
    fn a_payment_whose_entities_were_forgotten_is_still_not_counted_again() {
        let mut s = hour_to_live();
        let p = at(0, "c", "d");
        let first = s.observe(&p);
        s.sweep(1_770_000_000 + 7200);
        assert!(s.is_empty());
        let again = s.observe(&p);
        assert!(same(&first, &again), "{first:?} against {again:?}");
        assert!(s.is_empty(), "read, not counted");
    }

    #[test]
    fn without_a_window_every_score_counts() {
        let mut s = FeatureStore::new(StateLimits {
            recent_payments: 0,
            ..StateLimits::default()
        });
        let p = at(0, "c", "d");
        s.observe(&p);
        let again = s.observe(&p).get(F::CardCount1h);
        assert_eq!(again, 1.0);
        assert_eq!(s.stats().repeated, 0);
    }

    #[test]
    fn an_entity_seen_again_after_its_time_to_live_starts_afresh() {
        let mut s = hour_to_live();
        s.observe(&at(0, "card", "device"));
        let soon = s.observe(&at(3599, "card", "device"));
        assert!(
            soon.get(F::CardCount7d) > 0.99,
            "decayed over an hour of a week"
        );
        assert!(soon.get(F::CardAgeHours) > 0.99);
        assert_eq!(s.stats().expired, 0);
        // An hour after it was last seen: no history, as a new card.
        let later = s.observe(&at(3599 + 3600, "card", "device"));
        assert_eq!(later.get(F::CardCount7d), 0.0);
        assert_eq!(later.get(F::CardAgeHours), 0.0);
        assert_eq!(
            s.stats().expired,
            s.len() as u64,
            "every entity of the payment"
        );
        assert!(s.len() >= 2);
    }

    #[test]
    fn expired_entities_are_forgotten() {
        let limits = StateLimits {
            max_entities: 10,
            ttl_seconds: 3600,
            reserved_entities: 0,
            ..StateLimits::default()
        };
        let mut s = FeatureStore::new(limits);
        s.observe(&at(0, "old", "d-old"));
        s.sweep(1_770_000_000 + 7200);
        assert!(s.is_empty());
        assert!(s.stats().expired > 0);
    }

    #[test]
    fn sweep_steps_forget_the_expired_a_shard_at_a_time_at_the_newest_time_counted() {
        // 8,192 per kind: two shards each, twelve steps in all.
        let mut s = FeatureStore::new(StateLimits {
            max_entities: 8_192,
            ttl_seconds: 3600,
            reserved_entities: 0,
            ..StateLimits::default()
        });
        assert_eq!(s.sweep_steps(), 12);
        for i in 0..200 {
            s.observe(&at(i, &format!("old{i}"), &format!("d-old{i}")));
        }
        let old = s.len();
        assert_eq!(s.sweep_step(), 0, "nothing expired yet");
        // An hour after the last old payment every old entity has expired, the new ones not.
        s.observe(&at(199 + 3600, "new", "d-new"));
        let new = s.len() - old;
        let forgotten: usize = (0..s.sweep_steps()).map(|_| s.sweep_step()).sum();
        assert_eq!(forgotten, 400, "200 cards and 200 devices");
        assert_eq!(s.len(), old + new - 400);
        // And the four entities the payments share (IP address, e-mail, account, shipping
        // address), which started afresh when the new payment saw them.
        assert_eq!(s.stats().expired, 404);
        // One pass went through every shard: a second finds nothing left to forget.
        assert_eq!((0..12).map(|_| s.sweep_step()).sum::<usize>(), 0);
        let later = s.observe(&at(200 + 3600, "old5", "d-old5"));
        assert_eq!(later.get(F::CardCount7d), 0.0, "seen again: a new card");
    }

    #[test]
    fn a_state_read_back_sweeps_at_the_newest_time_its_entities_were_seen() {
        let mut s = hour_to_live();
        s.observe(&at(0, "old", "d-old"));
        s.observe(&at(3600, "new", "d-new"));
        let mut file = Vec::new();
        s.write_snapshot(&mut file).expect("write");
        let mut back =
            FeatureStore::read_snapshot("state.bin", &file[..], s.limits).expect("read back");
        let held = back.len();
        back.sweep_to_newest();
        assert_eq!(held - back.len(), 2, "the old card and device");
        let empty = &mut FeatureStore::new(s.limits);
        empty.sweep_to_newest();
        assert_eq!(empty.sweep_step(), 0, "an empty state has no time yet");
    }

    /// A store whose card table is at its ceiling of `cards`: card `i` seen at second `i`.
    fn full_of_cards(cards: usize, ttl_seconds: i64) -> FeatureStore {
        let mut s = FeatureStore::new(StateLimits {
            max_entities: cards,
            ttl_seconds,
            reserved_entities: 0,
            ..StateLimits::default()
        });
        for i in 0..cards {
            s.observe(&at(i as i64, &format!("card{i}"), "d"));
        }
        assert_eq!(s.stats().evicted + s.stats().expired, 0);
        s
    }

    #[test]
    fn a_full_table_evicts_about_the_least_recently_seen_tenth() {
        // Below two shards' worth: one shard, so the table is the shard.
        let cards = 8_000;
        let mut s = full_of_cards(cards, 1_000_000);
        s.observe(&at(cards as i64, "one more", "d"));
        let evicted = s.stats().evicted as usize;
        assert!(
            (cards / 20..cards * 3 / 20).contains(&evicted),
            "{evicted} evicted of {cards}"
        );
        // Everything evicted was seen before everything kept.
        let kept = |i: usize| {
            s.tables[Kind::Card as usize].contains_key(&hash_bytes(format!("card{i}").as_bytes()))
        };
        let first_kept = (0..cards).find(|i| kept(*i)).expect("some kept");
        assert_eq!(first_kept, evicted, "the oldest {evicted} went");
        assert!((first_kept..cards).all(kept));
        assert!(s.tables[Kind::Card as usize].contains_key(&hash_bytes(b"one more")));
    }

    #[test]
    fn a_full_table_with_many_expired_forgets_only_those() {
        let cards = 8_000;
        let mut s = full_of_cards(cards, 4_000);
        // At 8,000 s the cards seen at 4,000 s or before have lived out their 4,000 s.
        s.observe(&at(cards as i64, "one more", "d"));
        assert_eq!(s.stats().expired, 4_001);
        assert_eq!(s.stats().evicted, 0);
        assert_eq!(s.tables[Kind::Card as usize].len(), cards - 4_001 + 1);
        // A ceiling of zero keeps nothing to forget and does not fail.
        let mut s = FeatureStore::new(StateLimits {
            max_entities: 0,
            ..StateLimits::default()
        });
        s.observe(&at(0, "card", "d"));
        assert_eq!(s.stats().evicted + s.stats().expired, 0);
    }

    #[test]
    fn a_full_shard_forgets_its_own_oldest_tenth_and_no_other_shard_changes() {
        // 16 shards of 4,096 cards.
        let max = 65_536;
        let mut s = FeatureStore::new(StateLimits {
            max_entities: max,
            ttl_seconds: 1_000_000_000,
            reserved_entities: 0,
            ..StateLimits::default()
        });
        let card = |i: usize| hash_bytes(format!("card{i}").as_bytes());
        let mut before = Vec::new();
        let mut cards = 0;
        while s.stats().evicted == 0 {
            before = s.tables[Kind::Card as usize].shard_lens();
            s.observe(&at(cards as i64, &format!("card{cards}"), "d"));
            cards += 1;
        }
        let table = &s.tables[Kind::Card as usize];
        let after = table.shard_lens();
        let changed: Vec<usize> = (0..after.len())
            .filter(|&k| before[k] != after[k])
            .collect();
        assert_eq!(changed.len(), 1, "{before:?} → {after:?}");
        let shard = changed[0];
        assert_eq!(before[shard], max / 16, "room is made in a full shard");
        let evicted = s.stats().evicted as usize;
        assert_eq!(after[shard], max / 16 - evicted + 1);
        // The sample is the whole shard: a tenth of it, to the entity.
        assert_eq!(evicted, max / 16 / 10, "{evicted} evicted");
        assert!(cards < max, "the first full shard filled before the table");
        // In that shard, everything evicted was seen before everything kept.
        let in_shard: Vec<usize> = (0..cards)
            .filter(|&i| table.shard_of(card(i)) == shard)
            .collect();
        let first_kept = in_shard
            .iter()
            .position(|&i| table.contains_key(&card(i)))
            .expect("some kept");
        assert_eq!(
            first_kept, evicted,
            "the oldest {evicted} of the shard went"
        );
        assert!(
            in_shard[first_kept..]
                .iter()
                .all(|&i| table.contains_key(&card(i)))
        );
        assert_eq!(table.len(), cards - evicted);
    }

    #[test]
    fn tables_are_sized_for_the_reserved_population_up_to_the_ceiling() {
        let reserved = |reserved_entities, max_entities| {
            let s = FeatureStore::new(StateLimits {
                reserved_entities,
                max_entities,
                ..StateLimits::default()
            });
            s.heap_bytes() / (KINDS * (std::mem::size_of::<(u64, EntityState)>() + 1))
        };
        assert!(reserved(1000, 1_000_000) >= 1000);
        assert!(reserved(1000, 10) < 1000, "never beyond the ceiling");
        assert_eq!(reserved(0, 10), 0);
    }

    proptest! {
        #[test]
        fn tables_never_exceed_the_ceiling(cards in proptest::collection::vec(0u32..500, 1..300)) {
            let limits = StateLimits { max_entities: 50, ttl_seconds: 1_000_000, reserved_entities: 16, ..StateLimits::default() };
            let mut s = FeatureStore::new(limits);
            for (i, c) in cards.iter().enumerate() {
                s.observe(&at(i as i64, &format!("card{c}"), "d"));
                for t in &s.tables {
                    prop_assert!(t.len() <= 50);
                }
            }
        }

        #[test]
        fn features_are_finite_or_unknown_and_counts_non_negative(
            steps in proptest::collection::vec((0i64..10_000, 0u8..5, 0u8..5), 1..60)
        ) {
            let mut s = FeatureStore::new(StateLimits::default());
            let mut now = 0;
            for (dt, c, d) in steps {
                now += dt;
                let f = s.observe(&at(now, &format!("c{c}"), &format!("d{d}")));
                for v in f.0 {
                    prop_assert!(v.is_nan() || (v.is_finite() && v >= 0.0));
                }
            }
        }
    }
}
