//! A deterministic simulator of an online pharmacy's day: browsing, search, logins, baskets,
//! checkouts, card payments and deliveries with cold-chain sensor readings, following a diurnal
//! load curve, with named attack campaigns injected and labelled (`labels.truth`); and
//! [`day`], a pharmacy's day of deliveries with the delivery attacks injected and labelled in a
//! ground truth of its own.
//!
//! The same seed, start time, scenario and profile always give the same events. Events come out
//! in non-decreasing event time. Nothing here reads the clock or does IO.

mod actors;
mod attacks;
pub mod day;
mod delivery;
mod engine;
mod payloads;
mod profile;
mod shopper;

pub use engine::Simulator;
pub use profile::{DEFAULT_PROFILE, Profile};

/// Why a simulation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The profile is malformed.
    #[error("{file}: {message}")]
    Profile {
        /// The file.
        file: String,
        /// What is wrong (with line and column for syntax errors).
        message: String,
    },
    /// Unknown scenario name.
    #[error(
        "unknown scenario `{0}`; known: shop, sqli, xss, credential-stuffing, card-testing, mixed, delivery"
    )]
    UnknownScenario(String),
    /// The rate is not a positive number.
    #[error("rate must be a positive number of events per second, got {0}")]
    BadRate(f64),
}

/// The attacks a scenario can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttackKind {
    /// SQL injection probing.
    Sqli,
    /// Cross-site scripting probing.
    Xss,
    /// Credential stuffing against the login.
    CredentialStuffing,
    /// Card testing against the payment page.
    CardTesting,
}

impl AttackKind {
    /// The label written to `labels.truth`.
    pub fn truth(self) -> &'static str {
        match self {
            AttackKind::Sqli => "sqli",
            AttackKind::Xss => "xss",
            AttackKind::CredentialStuffing => "credential_stuffing",
            AttackKind::CardTesting => "card_testing",
        }
    }
}

/// What to simulate: normal shop traffic plus zero or more attack kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Its name.
    pub name: &'static str,
    /// Attacks injected.
    pub attacks: Vec<AttackKind>,
}

impl Scenario {
    /// Every scenario, by name.
    pub const NAMES: [&'static str; 6] = [
        "shop",
        "sqli",
        "xss",
        "credential-stuffing",
        "card-testing",
        "mixed",
    ];

    /// Looks a scenario up by name.
    pub fn named(name: &str) -> Result<Scenario, SimError> {
        use AttackKind::*;
        let (name, attacks) = match name {
            "shop" => ("shop", vec![]),
            "sqli" => ("sqli", vec![Sqli]),
            "xss" => ("xss", vec![Xss]),
            "credential-stuffing" => ("credential-stuffing", vec![CredentialStuffing]),
            "card-testing" => ("card-testing", vec![CardTesting]),
            "mixed" => ("mixed", vec![Sqli, Xss, CredentialStuffing, CardTesting]),
            other => return Err(SimError::UnknownScenario(other.to_string())),
        };
        Ok(Scenario { name, attacks })
    }
}

/// Settings of one simulation run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Random seed.
    pub seed: u64,
    /// Simulated time of the first event.
    pub start: chrono::DateTime<chrono::Utc>,
    /// Mean events per simulated second of normal traffic over a day (attacks come on top).
    pub rate: f64,
    /// What to inject.
    pub scenario: Scenario,
    /// The shop.
    pub profile: Profile,
    /// Attack campaigns per simulated hour, instead of the profile's (the demo wants more).
    pub campaigns_per_hour: Option<f64>,
}
