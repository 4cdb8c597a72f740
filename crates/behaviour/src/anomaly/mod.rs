//! Unknown threats: an online, unsupervised model of per-entity behaviour that flags what does
//! not look like the shop's normal traffic and says which features made it stand out.
//!
//! Each entity's events are summed over tumbling windows of event time into a behaviour vector
//! ([`features::FEATURES`]). When a window closes the vector is scored by streaming Half-Space
//! Trees ([`hst`]) against the recent past, then learned, so the model follows drift. Scores above
//! the threshold raise an `anomalous-behaviour` alert whose evidence lists the features that drove
//! it, with the entity's value and the typical value.

pub mod detector;
pub mod features;
pub mod hst;

pub use detector::{AnomalyConfig, AnomalyDetector};
