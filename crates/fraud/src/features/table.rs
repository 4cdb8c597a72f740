//! One kind's entities, split by key into shards, each a map with its own share of the
//! ceiling. Whatever must go through a whole map while scoring waits goes through one shard:
//! making room at the ceiling (one pass that forgets the oldest tenth) and making a bigger map
//! when one outgrows its size. At ten million entities in 256 shards, each pass is over about
//! 39,000 entities instead of ten million; the total work is the same, in 256 times smaller
//! pieces (with 64 shards a pass held scoring up to 3 ms, bench/RESULTS.md).
//!
//! Keys are already mixed hashes ([`BuildPreHashed`] passes them through), and a shard is
//! chosen by bits 48 to 55 of the key: the maps take their bucket from the lowest bits and a
//! tag from the highest seven, so a shard keeps all of both (shards chosen by the highest bits
//! would make every key of a shard share part of its tag, and each lookup compare more keys).

use ensuresec_model::hash::BuildPreHashed;

use super::entity::EntityState;

/// One shard: a map that grows a few entries per insert (see [`super::store::StateLimits`]).
pub(super) type Shard = griddle::HashMap<u64, EntityState, BuildPreHashed>;

/// Most shards per kind.
const MAX_SHARDS: usize = 256;
/// Fewest entities a shard's ceiling holds: the eviction cutoff is read from a sample of 4,096
/// of a shard's entities, and small tables gain nothing from splitting.
const MIN_SHARD_ENTITIES: usize = 4_096;
/// The lowest of the key's bits that choose its shard.
const SHARD_BITS_FROM: u32 = 48;

/// One kind's entities.
#[derive(Debug, Clone)]
pub(super) struct Table {
    shards: Vec<Shard>,
    /// Each shard's share of the kind's ceiling (they add up to it).
    ceilings: Vec<usize>,
}

impl Table {
    /// An empty table for at most `max_entities`, sized for `reserved` of them from the start.
    pub(super) fn new(max_entities: usize, reserved: usize) -> Table {
        let n = shards_for(max_entities);
        let ceilings: Vec<usize> = (0..n)
            .map(|i| max_entities / n + usize::from(i < max_entities % n))
            .collect();
        let shards = ceilings
            .iter()
            .map(|&ceiling| {
                Shard::with_capacity_and_hasher(
                    reserved.div_ceil(n).min(ceiling),
                    Default::default(),
                )
            })
            .collect();
        Table { shards, ceilings }
    }

    /// The index of `key`'s shard.
    fn index(&self, key: u64) -> usize {
        (key >> SHARD_BITS_FROM) as usize & (self.shards.len() - 1)
    }

    /// Entities held.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(Shard::len).sum()
    }

    /// Slots allocated, used or free.
    pub(super) fn capacity(&self) -> usize {
        self.shards.iter().map(Shard::capacity).sum()
    }

    /// The entity `key`, if held.
    pub(super) fn get(&self, key: &u64) -> Option<&EntityState> {
        self.shards[self.index(*key)].get(key)
    }

    /// The entity `key`, if held, to change it.
    pub(super) fn get_mut(&mut self, key: &u64) -> Option<&mut EntityState> {
        let i = self.index(*key);
        self.shards[i].get_mut(key)
    }

    /// Whether `key` is held.
    #[cfg(test)]
    pub(super) fn contains_key(&self, key: &u64) -> bool {
        self.shards[self.index(*key)].contains_key(key)
    }

    /// Holds `state` under `key`; answers what it replaced.
    pub(super) fn insert(&mut self, key: u64, state: EntityState) -> Option<EntityState> {
        let i = self.index(key);
        self.shards[i].insert(key, state)
    }

    /// The entity `key`, made with `new` when not held.
    pub(super) fn get_or_insert_with(
        &mut self,
        key: u64,
        new: impl FnOnce() -> EntityState,
    ) -> &mut EntityState {
        let i = self.index(key);
        self.shards[i].entry(key).or_insert_with(new)
    }

    /// The shard that holds or would hold `key`, when it is full and does not hold it: where
    /// room must be made before `key` goes in.
    pub(super) fn full_shard_for(&mut self, key: u64) -> Option<&mut Shard> {
        let i = self.index(key);
        let shard = &mut self.shards[i];
        (shard.len() >= self.ceilings[i] && !shard.contains_key(&key)).then_some(shard)
    }

    /// Every entity, shard after shard.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&u64, &EntityState)> {
        self.shards.iter().flat_map(Shard::iter)
    }

    /// How many shards the table is split into.
    pub(super) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Shard `i` (below [`Table::shard_count`]), to go through it alone.
    pub(super) fn shard_mut(&mut self, i: usize) -> &mut Shard {
        &mut self.shards[i]
    }

    /// Entities held per shard (tests of the split).
    #[cfg(test)]
    pub(super) fn shard_lens(&self) -> Vec<usize> {
        self.shards.iter().map(Shard::len).collect()
    }

    /// The index of `key`'s shard (tests of the split).
    #[cfg(test)]
    pub(super) fn shard_of(&self, key: u64) -> usize {
        self.index(key)
    }
}

/// Shards for a ceiling of `max_entities`: a power of two (so that a shard is a few of the
/// key's bits), up to [`MAX_SHARDS`], with at least [`MIN_SHARD_ENTITIES`] in each.
fn shards_for(max_entities: usize) -> usize {
    let fit = (max_entities / MIN_SHARD_ENTITIES).clamp(1, MAX_SHARDS);
    // The largest power of two not above `fit`.
    1 << fit.ilog2()
}

#[cfg(test)]
mod tests {
    use ensuresec_model::hash::hash_bytes;

    use super::*;

    #[test]
    fn small_tables_are_one_shard_and_large_ones_up_to_256() {
        assert_eq!(shards_for(0), 1);
        assert_eq!(shards_for(4_095), 1);
        assert_eq!(shards_for(8_192), 2);
        assert_eq!(shards_for(100_000), 16);
        assert_eq!(shards_for(1_000_000), 128);
        assert_eq!(shards_for(10_000_000), 256);
        assert_eq!(shards_for(usize::MAX), 256);
    }

    #[test]
    fn the_shards_ceilings_add_up_to_the_kinds() {
        for max in [0, 1, 4_095, 100_001, 10_000_000] {
            let t = Table::new(max, 0);
            assert_eq!(t.ceilings.iter().sum::<usize>(), max, "{max}");
            let (lo, hi) = (t.ceilings.iter().min(), t.ceilings.iter().max());
            assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "{max}");
        }
    }

    #[test]
    fn keys_spread_over_the_shards_and_are_found_again() {
        let mut t = Table::new(100_000, 1_000);
        let keys: Vec<u64> = (0..20_000u32)
            .map(|i| hash_bytes(&i.to_le_bytes()))
            .collect();
        for (i, &k) in keys.iter().enumerate() {
            assert!(t.insert(k, EntityState::new(i as i64)).is_none());
        }
        assert_eq!(t.len(), keys.len());
        assert_eq!(t.iter().count(), keys.len());
        let lens = t.shard_lens();
        assert_eq!(lens.len(), 16);
        // 1,250 a shard on average; a fair split stays well within a fifth of it.
        assert!(
            lens.iter().all(|&n| (1_000..1_500).contains(&n)),
            "{lens:?}"
        );
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).map(|s| s.last_seen), Some(i as i64));
        }
        for i in 0..t.shard_count() {
            t.shard_mut(i).retain(|_, s| s.last_seen % 2 == 0);
        }
        assert_eq!(t.len(), keys.len() / 2);
        assert!(t.contains_key(&keys[0]) && !t.contains_key(&keys[1]));
    }

    #[test]
    fn only_a_full_shard_without_the_key_needs_room() {
        let mut t = Table::new(MIN_SHARD_ENTITIES * 2, 0);
        let mut i = 0u32;
        let full = loop {
            let k = hash_bytes(&i.to_le_bytes());
            i += 1;
            if t.full_shard_for(k).is_some() {
                break k;
            }
            t.get_or_insert_with(k, || EntityState::new(0));
        };
        let shard = t.index(full);
        assert_eq!(t.shard_lens()[shard], t.ceilings[shard]);
        assert!(t.len() <= MIN_SHARD_ENTITIES * 2);
        let held = *t
            .iter()
            .find(|(k, _)| t.index(**k) == shard)
            .map(|(k, _)| k)
            .unwrap_or(&0);
        assert!(t.full_shard_for(held).is_none(), "a held key needs no room");
    }
}
