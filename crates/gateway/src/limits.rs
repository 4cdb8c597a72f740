//! Request limits: per-route rate limits per client address (GCRA, the `governor` crate), and
//! the bounded, time-limited reading of request bodies.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

/// Most client addresses tracked per limiter before idle ones are forgotten.
pub const MAX_TRACKED: usize = 100_000;

/// A rate limit per client address.
#[derive(Debug)]
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimit {
    /// `per_second` requests per second with bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> RateLimit {
        RateLimit {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        }
    }

    /// Ok, or how long `ip` should wait (the `Retry-After`).
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > MAX_TRACKED {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the limit (413).
    TooLarge,
    /// Not complete in time (408).
    TimedOut,
    /// The client broke off or sent bad framing (400).
    Broken,
}

/// Reads the whole body, at most `max` bytes, within `timeout`.
pub async fn read_body(body: Incoming, max: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Ok(Err(_)) => Err(BodyError::Broken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let one = NonZeroU32::new(1).unwrap();
        let limit = RateLimit::new(one, NonZeroU32::new(2).unwrap());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limit.check(ip).is_ok());
        assert!(limit.check(ip).is_ok());
        let wait = limit.check(ip).unwrap_err();
        assert!(wait <= Duration::from_secs(1));
        assert!(limit.check("192.0.2.2".parse().unwrap()).is_ok());
    }
}
