//! Single-use, expiring nonces bound to an order: what makes a presentation usable for one
//! checkout only. A KB-JWT over a nonce the verifier never issued, or one already used, or one
//! past its expiry, is refused.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::b64;
use crate::error::{IdentityError, Result};

/// A challenge handed to a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The nonce the KB-JWT must carry (128 random bits, base64url).
    pub nonce: String,
    /// The order it is bound to; also the KB-JWT's expected audience suffix.
    pub order_id: String,
    /// Seconds since the epoch after which the nonce is refused.
    pub expires_at: i64,
}

#[derive(Debug)]
enum State {
    Open(Challenge),
    Used { expires_at: i64 },
}

/// The outstanding and recently used nonces.
#[derive(Debug)]
pub struct ChallengeStore {
    ttl_secs: i64,
    max_outstanding: usize,
    entries: Mutex<HashMap<String, State>>,
}

impl ChallengeStore {
    /// A store whose nonces live `ttl_secs`, with at most `max_outstanding` kept at once
    /// (open or used-but-not-expired), so a flood of challenge requests cannot grow memory.
    #[must_use]
    pub fn new(ttl_secs: i64, max_outstanding: usize) -> Self {
        Self {
            ttl_secs,
            max_outstanding,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Issues a nonce for `order_id` at time `now`.
    ///
    /// # Errors
    /// [`IdentityError::TooManyChallenges`] when the store is full of unexpired entries.
    pub fn issue(&self, order_id: &str, now: i64) -> Result<Challenge> {
        let mut entries = self
            .entries
            .lock()
            .expect("no code panics while holding this lock");
        if entries.len() >= self.max_outstanding {
            entries.retain(|_, s| match s {
                State::Open(c) => c.expires_at > now,
                State::Used { expires_at } => *expires_at > now,
            });
            if entries.len() >= self.max_outstanding {
                return Err(IdentityError::TooManyChallenges(self.max_outstanding));
            }
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
        let challenge = Challenge {
            nonce: b64::encode(bytes),
            order_id: order_id.to_owned(),
            expires_at: now + self.ttl_secs,
        };
        entries.insert(challenge.nonce.clone(), State::Open(challenge.clone()));
        Ok(challenge)
    }

    /// Takes the challenge for `nonce`: it can be taken once, before it expires.
    ///
    /// # Errors
    /// [`IdentityError::ReplayedNonce`] when already taken, [`IdentityError::UnknownNonce`]
    /// when never issued or expired.
    pub fn take(&self, nonce: &str, now: i64) -> Result<Challenge> {
        let mut entries = self
            .entries
            .lock()
            .expect("no code panics while holding this lock");
        match entries.remove(nonce) {
            Some(State::Open(c)) if c.expires_at > now => {
                entries.insert(
                    nonce.to_owned(),
                    State::Used {
                        expires_at: c.expires_at,
                    },
                );
                Ok(c)
            }
            Some(used @ State::Used { .. }) => {
                entries.insert(nonce.to_owned(), used);
                Err(IdentityError::ReplayedNonce)
            }
            // Never issued, or expired (and now forgotten).
            _ => Err(IdentityError::UnknownNonce),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_single_use_and_expires() {
        let store = ChallengeStore::new(60, 2);
        let c = store.issue("order-1", 1000).expect("room");
        assert_eq!(
            store.take(&c.nonce, 1010).expect("first use").order_id,
            "order-1"
        );
        assert_eq!(
            store.take(&c.nonce, 1011),
            Err(IdentityError::ReplayedNonce)
        );
        let late = store.issue("order-2", 1000).expect("room");
        assert_eq!(
            store.issue("order-3", 1001),
            Err(IdentityError::TooManyChallenges(2)),
            "a used nonce is kept until it expires"
        );
        assert_eq!(
            store.take(&late.nonce, 1060),
            Err(IdentityError::UnknownNonce)
        );
        assert_eq!(
            store.take("never-issued", 1000),
            Err(IdentityError::UnknownNonce)
        );
        assert!(
            store.issue("order-3", 2000).is_ok(),
            "expired entries make room"
        );
    }
}
