//! The asset model of a shop: what it owns and depends on (cyber, physical and business assets
//! from the small ontology of `docs/ontology.md`), how those depend on each other (typed edges
//! with delay and impact factors), which incidents touch which assets, and what a compromised or
//! unavailable asset takes down with it (the cascade).
//!
//! Architecture invariant: this crate is pure — no IO, no clock, no async. Callers read the file
//! and pass its text in; the cascade is a function of the model and a starting asset.

mod cascade;
mod load;
mod mapping;
mod model;
mod ontology;

pub use cascade::{Affected, Cascade, CascadeOptions, quantise};
pub use load::{AssetModelError, MAX_ASSETS, MAX_FILE_BYTES};
pub use mapping::{IncidentView, Selector};
pub use model::{Asset, AssetIndex, AssetModel, Dependency};
pub use ontology::{AssetType, Criticality, DependencyKind, Layer};

/// The reference shop's model (the online pharmacy of the simulator), used by `serve --demo`.
pub const SHOP_MODEL: &str = include_str!("../models/shop.yaml");

/// The file name the shipped model reports in errors.
pub const SHOP_MODEL_NAME: &str = "shop.yaml (built in)";
