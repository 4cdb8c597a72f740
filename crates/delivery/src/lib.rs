//! Delivery and physical security: the second half of e-commerce, on the road and in the
//! warehouse. Detectors over delivery plans, carrier scans, parcel and locker sensor readings,
//! customer claims and badge use, each rule documented in `docs/delivery.md` with its parameters
//! in `rules/delivery.yaml`:
//!
//! - [`ParcelDetector`] (by parcel): cold chain, route, custody, courier delivery, silent
//!   trackers, claims weighed against the evidence;
//! - [`SensorHealthDetector`] (by sensor): stuck or impossible readings, low battery, silent fixed
//!   sensors;
//! - [`SerialClaimDetector`] (by account or device): serial claimers;
//! - [`BadgeDetector`]: badge use after hours in controlled zones;
//! - [`TakeoverRedirectChain`] (over alerts, by account): an account taken over and its parcel
//!   redirected.
//!
//! Pure: no IO, no clock. Time is the events' time; "silent" is judged against the latest event
//! time a detector instance has seen.

pub mod badge;
pub mod chain;
pub mod claims;
pub mod coldchain;
pub mod detector;
pub mod finding;
pub mod geo;
mod parcel;
pub mod rules;
pub mod sensors;

pub use badge::BadgeDetector;
pub use chain::TakeoverRedirectChain;
pub use claims::SerialClaimDetector;
pub use detector::ParcelDetector;
pub use finding::Rule;
pub use rules::{DeliveryRules, RulesError};
pub use sensors::SensorHealthDetector;
