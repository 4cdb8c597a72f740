//! The shop profile: every parameter of the simulation, loaded from YAML and validated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::Rng;
use serde::Deserialize;

use crate::SimError;

/// The profile shipped with ensuresec: a pharmacy that sells online and delivers.
pub const DEFAULT_PROFILE: &str = include_str!("../profiles/shop.yaml");

/// Everything the simulator needs to know about the shop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The shop itself.
    pub shop: Shop,
    /// How visitors behave.
    pub behaviour: Behaviour,
    /// How parcels travel.
    pub delivery: Delivery,
    /// How attacks look and how often they come.
    pub attacks: Attacks,
}

/// The shop: catalogue, audience, networks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shop {
    /// Host name of the shop.
    pub host: String,
    /// ISO 4217 currency of prices.
    pub currency: String,
    /// Relative traffic per hour of the day (24 values).
    pub diurnal: Vec<f64>,
    /// The catalogue.
    pub products: Vec<Product>,
    /// What people search for.
    pub search_terms: Vec<String>,
    /// Static files a page loads.
    pub static_assets: Vec<String>,
    /// User agents with weights.
    pub user_agents: Vec<WeightedAgent>,
    /// Networks customers come from.
    pub customer_networks: Vec<String>,
    /// Networks attackers use.
    pub hosting_networks: Vec<String>,
    /// Size of the customer base.
    pub customers: u32,
}

/// One product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// URL slug.
    pub slug: String,
    /// Price in minor units.
    pub price_minor: i64,
    /// Category slug.
    pub category: String,
    /// Whether it must stay between 2 and 8 °C in transit.
    pub cold_chain: bool,
}

/// A user agent and how common it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedAgent {
    /// Relative weight.
    pub weight: u32,
    /// The User-Agent string.
    pub ua: String,
}

/// Probabilities and means of visitor behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Mean pages viewed per session.
    pub pages_per_session_mean: f64,
    /// Mean seconds between two steps of a session.
    pub think_time_seconds_mean: f64,
    /// Share of sessions by known customers.
    pub returning_customer: f64,
    /// Share of returning customers who log in.
    pub login_when_returning: f64,
    /// Share of logins that start with a wrong password.
    pub login_typo: f64,
    /// Share of sessions that search.
    pub search: f64,
    /// Share of sessions that put something in the basket.
    pub add_to_basket: f64,
    /// Share of baskets that go to checkout.
    pub checkout_after_basket: f64,
    /// Share of genuine payments declined.
    pub payment_decline: f64,
    /// Share of page views that hit a missing page.
    pub not_found: f64,
}

/// Delivery network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Hubs parcels pass through.
    pub hubs: Vec<Hub>,
    /// The delivery area.
    pub city: City,
    /// Seconds between two sensor readings of a cold-chain parcel.
    pub sensor_interval_seconds: u32,
    /// Transit time range in hours from pickup to delivery.
    pub transit_hours: [u32; 2],
}

/// A hub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hub {
    /// Its name.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// The delivery area: a circle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// Radius in kilometres.
    pub radius_km: f64,
}

/// Attack parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attacks {
    /// Mean campaigns per simulated hour (spread over the scenario's attack kinds).
    pub campaigns_per_hour: f64,
    /// Injection probing with SQL payloads.
    pub sqli: Probe,
    /// Injection probing with script payloads.
    pub xss: Probe,
    /// Credential stuffing.
    pub credential_stuffing: Stuffing,
    /// Card testing.
    pub card_testing: CardTesting,
}

/// A probing campaign: many requests at an interval.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Requests per campaign, min and max.
    pub requests: [u32; 2],
    /// Seconds between requests, min and max.
    pub interval_seconds: [f64; 2],
}

/// A credential-stuffing campaign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stuffing {
    /// Login attempts, min and max.
    pub attempts: [u32; 2],
    /// Seconds between attempts, min and max.
    pub interval_seconds: [f64; 2],
    /// Source addresses used, min and max.
    pub addresses: [u32; 2],
    /// Share of attempts that hit a valid pair.
    pub success_ratio: f64,
}

/// A card-testing campaign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardTesting {
    /// Authorisations, min and max.
    pub attempts: [u32; 2],
    /// Seconds between attempts, min and max.
    pub interval_seconds: [f64; 2],
    /// Share declined.
    pub decline_ratio: f64,
}

/// A network prefix to draw addresses from.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `a.b.c.d/n` or `x:y::/n`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, len) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a prefix like 10.0.0.0/8"))?;
        let base: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an address"))?;
        let prefix: u8 = len
            .parse()
            .map_err(|_| format!("`{len}` is not a prefix length"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("prefix length {prefix} is over {max}"));
        }
        Ok(Network { base, prefix })
    }

    /// A random address inside the prefix.
    pub fn random(&self, rng: &mut impl Rng) -> IpAddr {
        match self.base {
            IpAddr::V4(b) => {
                let host_bits = 32 - u32::from(self.prefix);
                let mask = if host_bits == 32 {
                    u32::MAX
                } else {
                    (1u32 << host_bits) - 1
                };
                let host = rng.random::<u32>() & mask;
                IpAddr::V4(Ipv4Addr::from((u32::from(b) & !mask) | host.max(1)))
            }
            IpAddr::V6(b) => {
                let host_bits = 128 - u32::from(self.prefix);
                let mask = if host_bits == 128 {
                    u128::MAX
                } else {
                    (1u128 << host_bits) - 1
                };
                let host = rng.random::<u128>() & mask;
                IpAddr::V6(Ipv6Addr::from((u128::from(b) & !mask) | host.max(1)))
            }
        }
    }
}

impl Profile {
    /// Parses and checks a profile; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<Profile, SimError> {
        let p: Profile = serde_yaml_ng::from_str(text).map_err(|e| SimError::Profile {
            file: file.into(),
            message: e.to_string(),
        })?;
        let bad = |message: String| SimError::Profile {
            file: file.into(),
            message,
        };
        if p.shop.diurnal.len() != 24 || p.shop.diurnal.iter().any(|w| !positive(*w)) {
            return Err(bad("shop.diurnal: needs 24 positive weights".into()));
        }
        for (key, list) in [
            ("shop.products", p.shop.products.len()),
            ("shop.search_terms", p.shop.search_terms.len()),
            ("shop.user_agents", p.shop.user_agents.len()),
            ("shop.customer_networks", p.shop.customer_networks.len()),
            ("shop.hosting_networks", p.shop.hosting_networks.len()),
            ("delivery.hubs", p.delivery.hubs.len()),
        ] {
            if list == 0 {
                return Err(bad(format!("{key}: must not be empty")));
            }
        }
        for net in p
            .shop
            .customer_networks
            .iter()
            .chain(&p.shop.hosting_networks)
        {
            Network::parse(net).map_err(|m| bad(format!("networks: {m}")))?;
        }
        if p.shop.customers == 0 {
            return Err(bad("shop.customers: must be positive".into()));
        }
        let b = &p.behaviour;
        for (key, v) in [
            ("behaviour.returning_customer", b.returning_customer),
            ("behaviour.login_when_returning", b.login_when_returning),
            ("behaviour.login_typo", b.login_typo),
            ("behaviour.search", b.search),
            ("behaviour.add_to_basket", b.add_to_basket),
            ("behaviour.checkout_after_basket", b.checkout_after_basket),
            ("behaviour.payment_decline", b.payment_decline),
            ("behaviour.not_found", b.not_found),
            (
                "attacks.credential_stuffing.success_ratio",
                p.attacks.credential_stuffing.success_ratio,
            ),
            (
                "attacks.card_testing.decline_ratio",
                p.attacks.card_testing.decline_ratio,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(format!("{key}: must be between 0 and 1")));
            }
        }
        if !positive(b.pages_per_session_mean - 1.0 + f64::EPSILON)
            || !positive(b.think_time_seconds_mean)
        {
            return Err(bad(
                "behaviour: pages_per_session_mean must be ≥ 1 and think time > 0".into(),
            ));
        }
        if p.delivery.transit_hours[0] == 0
            || p.delivery.transit_hours[0] > p.delivery.transit_hours[1]
        {
            return Err(bad("delivery.transit_hours: needs 0 < min ≤ max".into()));
        }
        if p.delivery.sensor_interval_seconds == 0 {
            return Err(bad(
                "delivery.sensor_interval_seconds: must be positive".into()
            ));
        }
        if !positive(p.attacks.campaigns_per_hour) {
            return Err(bad("attacks.campaigns_per_hour: must be positive".into()));
        }
        Ok(p)
    }
}

/// A finite number above zero (NaN is not).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}
