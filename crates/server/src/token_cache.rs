//! API tokens recently found valid, so that a busy client's requests do not each read the token
//! table: that read runs on the store's blocking pool, and the hand-over to another thread and
//! back cost each `POST /v1/payments/score` more than its scoring (bench/RESULTS.md, "HTTP").
//!
//! A token found valid is trusted for `[server] token_trust_ms` (one second by default);
//! `ensuresec token revoke` writes to the database directly, so a revoked token is refused at
//! most that long after, and at once with 0, which reads the table on every request. Only tokens
//! found valid are kept, keyed by the stored hash of their secret (never the secret), and at most
//! [`MAX_TOKENS`]: a caller without a valid token cannot grow the cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ensuresec_store::TokenInfo;

/// Most tokens kept; when full, the cache starts again empty.
const MAX_TOKENS: usize = 1_024;

/// Valid tokens by the hash of their secret, with when they were read.
#[derive(Debug)]
pub(crate) struct TokenCache {
    /// How long a token found valid is trusted without reading the table again; zero keeps none.
    trust: Duration,
    valid: Mutex<HashMap<Vec<u8>, (TokenInfo, Instant)>>,
}

impl TokenCache {
    /// A cache that trusts a token found valid for `trust` (zero: never, every request reads
    /// the table).
    pub(crate) fn new(trust: Duration) -> TokenCache {
        TokenCache {
            trust,
            valid: Mutex::default(),
        }
    }

    /// The token whose secret hashes to `hash`, when it was found valid less than the trust
    /// duration before `now`.
    pub(crate) fn get(&self, hash: &[u8], now: Instant) -> Option<TokenInfo> {
        if self.trust.is_zero() {
            return None;
        }
        let valid = self.valid.lock().unwrap_or_else(|p| p.into_inner());
        valid
            .get(hash)
            .filter(|(_, read)| now.saturating_duration_since(*read) < self.trust)
            .map(|(token, _)| token.clone())
    }

    /// Keeps `token`, read from the table at `read` and valid, under the hash of its secret
    /// (unless the trust duration is zero).
    pub(crate) fn insert(&self, hash: Vec<u8>, token: TokenInfo, read: Instant) {
        if self.trust.is_zero() {
            return;
        }
        let mut valid = self.valid.lock().unwrap_or_else(|p| p.into_inner());
        if valid.len() >= MAX_TOKENS && !valid.contains_key(&hash) {
            valid.clear();
        }
        valid.insert(hash, (token, read));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ensuresec_store::Scope;

    fn token(name: &str) -> TokenInfo {
        TokenInfo {
            name: name.to_string(),
            scopes: vec![Scope::Ingest],
            created: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            revoked: false,
        }
    }

    /// The default trust: one second.
    const FRESH: Duration = Duration::from_secs(1);

    fn key(i: usize) -> Vec<u8> {
        i.to_le_bytes().to_vec()
    }

    #[test]
    fn a_token_is_trusted_only_for_its_freshness() {
        let cache = TokenCache::new(FRESH);
        let t0 = Instant::now();
        assert_eq!(
            cache.get(&key(1), t0),
            None,
            "nothing is kept before it is read"
        );
        cache.insert(key(1), token("shipper"), t0);
        assert_eq!(cache.get(&key(1), t0).unwrap().name, "shipper");
        assert_eq!(cache.get(&key(2), t0), None, "another secret's hash");
        let almost = t0 + FRESH - Duration::from_millis(1);
        assert!(cache.get(&key(1), almost).is_some(), "still fresh");
        assert_eq!(
            cache.get(&key(1), t0 + FRESH),
            None,
            "read again once the trust has passed"
        );
        cache.insert(key(1), token("shipper"), t0 + FRESH);
        assert!(
            cache.get(&key(1), t0 + FRESH).is_some(),
            "fresh again once read again"
        );
    }

    #[test]
    fn the_cache_holds_at_most_its_bound() {
        let cache = TokenCache::new(FRESH);
        let now = Instant::now();
        for i in 0..MAX_TOKENS {
            cache.insert(key(i), token("t"), now);
        }
        // Read again, a kept token does not empty it.
        cache.insert(key(0), token("t"), now);
        assert!(cache.get(&key(1), now).is_some());
        cache.insert(key(MAX_TOKENS), token("t"), now);
        assert!(cache.get(&key(MAX_TOKENS), now).is_some());
        assert_eq!(cache.get(&key(0), now), None, "started again empty");
        assert_eq!(cache.valid.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_trust_of_zero_keeps_no_token() {
        let cache = TokenCache::new(Duration::ZERO);
        let now = Instant::now();
        cache.insert(key(1), token("shipper"), now);
        assert_eq!(
            cache.get(&key(1), now),
            None,
            "every request reads the table"
        );
        assert!(cache.valid.lock().unwrap().is_empty(), "nothing kept");
    }
}
