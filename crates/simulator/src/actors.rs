//! What every simulated actor shares: the context it draws from and how it builds events.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::event::HttpRequest;
use ensuresec_model::{Event, EventData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::profile::{Network, Profile};

/// Read-only context for actors.
pub(crate) struct Ctx {
    pub profile: Profile,
    pub customer_nets: Vec<Network>,
    pub hosting_nets: Vec<Network>,
    ua_total: u32,
}

impl Ctx {
    pub(crate) fn new(profile: Profile) -> Ctx {
        let parse = |nets: &[String]| nets.iter().filter_map(|n| Network::parse(n).ok()).collect();
        Ctx {
            customer_nets: parse(&profile.shop.customer_networks),
            hosting_nets: parse(&profile.shop.hosting_networks),
            ua_total: profile
                .shop
                .user_agents
                .iter()
                .map(|u| u.weight)
                .sum::<u32>()
                .max(1),
            profile,
        }
    }

    pub(crate) fn customer_ip(&self, rng: &mut ChaCha8Rng) -> IpAddr {
        self.customer_nets[rng.random_range(0..self.customer_nets.len())].random(rng)
    }

    pub(crate) fn hosting_ip(&self, rng: &mut ChaCha8Rng) -> IpAddr {
        self.hosting_nets[rng.random_range(0..self.hosting_nets.len())].random(rng)
    }

    pub(crate) fn user_agent(&self, rng: &mut ChaCha8Rng) -> String {
        let mut pick = rng.random_range(0..self.ua_total);
        for ua in &self.profile.shop.user_agents {
            if pick < ua.weight {
                return ua.ua.clone();
            }
            pick -= ua.weight;
        }
        self.profile.shop.user_agents[0].ua.clone()
    }
}

/// A stable, opaque identifier derived from parts (device ids, card fingerprints, hashes).
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..12])
}

/// An exponential sample with the given mean.
pub(crate) fn exp(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -mean * u.ln()
}

/// Milliseconds as a duration.
pub(crate) fn ms(value: f64) -> Duration {
    Duration::milliseconds(value.max(1.0) as i64)
}

/// An event from the shop's web tier.
pub(crate) fn event(
    time: DateTime<Utc>,
    source: &str,
    truth: Option<&str>,
    data: EventData,
) -> Event {
    let mut labels = BTreeMap::new();
    if let Some(t) = truth {
        labels.insert("truth".to_string(), t.to_string());
    }
    Event {
        time,
        ingest_time: None,
        source: source.to_string(),
        labels,
        data,
    }
}

/// A minimal request; callers fill in the rest.
pub(crate) fn request(ctx: &Ctx, ip: IpAddr, method: &str, path: &str, ua: &str) -> HttpRequest {
    HttpRequest {
        client_ip: ip,
        method: method.into(),
        host: Some(ctx.profile.shop.host.clone()),
        path: path.into(),
        query: None,
        http_version: Some("HTTP/1.1".into()),
        status: Some(200),
        user_agent: Some(ua.into()),
        referer: None,
        headers: vec![],
        body: None,
        bytes_sent: None,
        duration_ms: None,
        session: None,
        account: None,
        device: None,
    }
}

/// What an actor did in one step.
pub(crate) struct Step {
    /// Events at the current time.
    pub events: Vec<Event>,
    /// When to run again, if ever.
    pub next: Option<Duration>,
    /// New actors to start after a delay.
    pub spawn: Vec<(Duration, Actor)>,
}

impl Step {
    pub(crate) fn done(events: Vec<Event>) -> Step {
        Step {
            events,
            next: None,
            spawn: vec![],
        }
    }

    pub(crate) fn again(events: Vec<Event>, after: Duration) -> Step {
        Step {
            events,
            next: Some(after),
            spawn: vec![],
        }
    }
}

/// Anything that acts over simulated time.
pub(crate) enum Actor {
    Shopper(crate::shopper::Shopper),
    Attack(crate::attacks::Campaign),
    Parcel(crate::delivery::Parcel),
}

impl Actor {
    pub(crate) fn step(&mut self, now: DateTime<Utc>, rng: &mut ChaCha8Rng, ctx: &Ctx) -> Step {
        match self {
            Actor::Shopper(s) => s.step(now, rng, ctx),
            Actor::Attack(a) => a.step(now, rng, ctx),
            Actor::Parcel(p) => p.step(now, rng, ctx),
        }
    }
}
