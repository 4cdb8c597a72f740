//! The physical half of e-commerce: carrier scans and sensor readings from parcels, lockers and
//! warehouses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Entities, name};
use crate::entity::{EntityKind, EntityRef};

/// A position in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

/// The carrier scans of a parcel's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanKind {
    /// Picked up from the shop or warehouse.
    Pickup,
    /// Arrived at a hub.
    HubIn,
    /// Left a hub.
    HubOut,
    /// On the van for delivery.
    OutForDelivery,
    /// Handed over or put in a locker.
    Delivered,
    /// Nobody there, or refused.
    FailedAttempt,
    /// Sent back to the shop.
    Returned,
}

/// A carrier's scan of a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryScan {
    /// The parcel's tracking id.
    pub parcel_id: String,
    /// Which scan.
    pub scan: ScanKind,
    /// The courier's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<String>,
    /// The hub or depot, for hub scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// Where the scan happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Parcel weight at this scan, in grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
    /// The order it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// SHA-256 (hex) of the proof-of-delivery photo, for delivered scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_sha256: Option<String>,
}

impl Entities for DeliveryScan {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Parcel => Some(EntityRef::Name(&self.parcel_id)),
            EntityKind::Account => name(&self.courier),
            EntityKind::Asset => name(&self.hub),
            _ => None,
        }
    }
}

/// A reading from a parcel tracker, a locker or a warehouse sensor; absent fields were not measured.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SensorReading {
    /// The sensor's id.
    pub sensor: String,
    /// The parcel it travels with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parcel_id: Option<String>,
    /// The locker, vehicle or room it is fixed to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Temperature in degrees Celsius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// Relative humidity in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub humidity_pct: Option<f64>,
    /// Peak acceleration since the last reading, in g.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shock_g: Option<f64>,
    /// Light level in lux (a parcel opened in daylight reads high).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_lux: Option<f64>,
    /// Whether a lid or locker door is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid_open: Option<bool>,
    /// Position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Weight in grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
    /// Battery charge in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_pct: Option<f64>,
}

impl Entities for SensorReading {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Device => Some(EntityRef::Name(&self.sensor)),
            EntityKind::Parcel => name(&self.parcel_id),
            EntityKind::Asset => name(&self.asset),
            _ => None,
        }
    }
}

/// Most points in a planned route.
pub const MAX_ROUTE_POINTS: usize = 2_000;

/// The plan for a parcel, sent when it is handed to the carrier: where it goes, along which
/// route, by whom and when, and how it must be kept. Rules judge scans and readings against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPlan {
    /// The parcel's tracking id.
    pub parcel_id: String,
    /// The order it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The customer account it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The handling class of its contents, as named in the delivery rules (e.g. `cold-2-8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_class: Option<String>,
    /// Where it is to be delivered.
    pub destination: GeoPoint,
    /// The planned route as a polyline, depot first (at most 2,000 points).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<GeoPoint>,
    /// The courier who will deliver it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<String>,
    /// Start of the courier's shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_start: Option<chrono::DateTime<chrono::Utc>>,
    /// End of the courier's shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_end: Option<chrono::DateTime<chrono::Utc>>,
    /// Weight when packed, in grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
}

impl Entities for DeliveryPlan {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Parcel => Some(EntityRef::Name(&self.parcel_id)),
            EntityKind::Account => name(&self.account),
            _ => None,
        }
    }
}

/// What a customer says went wrong with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// The parcel never arrived.
    NotReceived,
    /// It arrived damaged.
    Damaged,
    /// It arrived opened or with contents missing.
    Tampered,
}

/// A customer's claim about a delivery (a refund or reshipment request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryClaim {
    /// The parcel claimed about.
    pub parcel_id: String,
    /// The claiming account.
    pub account: String,
    /// What is claimed.
    pub claim: ClaimKind,
    /// The delivery address, as a stable id or hash (serial claims across accounts share it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The device the claim was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Entities for DeliveryClaim {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Parcel => Some(EntityRef::Name(&self.parcel_id)),
            EntityKind::Account => Some(EntityRef::Name(&self.account)),
            EntityKind::Device => name(&self.device),
            _ => None,
        }
    }
}

/// Which way a badge was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadgeDirection {
    /// Entering the zone.
    In,
    /// Leaving it.
    Out,
}

/// A badge used at a door of a warehouse zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BadgeAccess {
    /// The badge holder (a staff account).
    pub badge: String,
    /// The zone the door leads into.
    pub zone: String,
    /// In or out.
    pub direction: BadgeDirection,
    /// Whether the door opened.
    #[serde(default = "granted")]
    pub granted: bool,
    /// The door or reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
}

fn granted() -> bool {
    true
}

impl Entities for BadgeAccess {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Account => Some(EntityRef::Name(&self.badge)),
            EntityKind::Asset => Some(EntityRef::Name(&self.zone)),
            _ => None,
        }
    }
}
