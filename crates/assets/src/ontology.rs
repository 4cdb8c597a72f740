//! The small ontology every asset model speaks: asset types grouped into layers, criticality,
//! and the kinds of dependency. Closed enums, so that a typo in `assets.yaml` is an error and the
//! dashboard can colour and group by them. Documented in `docs/ontology.md`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which world an asset lives in; the dashboard groups the graph by it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Software, hosts and networks.
    Cyber,
    /// Buildings, vehicles, lockers, sensors.
    Physical,
    /// Data, processes and partners: what the business runs on.
    Business,
}

impl Layer {
    /// The snake_case name used in JSON and CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Cyber => "cyber",
            Layer::Physical => "physical",
            Layer::Business => "business",
        }
    }
}

/// What an asset is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    /// A user-facing web application (the shop front end, an admin panel).
    WebApplication,
    /// An HTTP API, public or internal.
    Api,
    /// A database or other durable data store.
    Database,
    /// An internal service or worker.
    Service,
    /// A server, virtual machine or container host.
    Host,
    /// A network segment, load balancer, CDN or DNS.
    Network,
    /// A service run by someone else that the shop calls (payment provider, e-mail, SMS).
    ExternalService,
    /// A warehouse, pharmacy or hub building.
    Site,
    /// A delivery vehicle.
    Vehicle,
    /// A parcel locker.
    Locker,
    /// A sensor or IoT device (temperature logger, door sensor).
    Sensor,
    /// A body of data (customer data, prescriptions, orders).
    Data,
    /// A business process ("checkout", "cold-chain delivery").
    BusinessProcess,
    /// An outside organisation the shop works with (a delivery partner).
    Partner,
}

impl AssetType {
    /// Every type, for help texts and the ontology document.
    pub const ALL: [AssetType; 14] = [
        AssetType::WebApplication,
        AssetType::Api,
        AssetType::Database,
        AssetType::Service,
        AssetType::Host,
        AssetType::Network,
        AssetType::ExternalService,
        AssetType::Site,
        AssetType::Vehicle,
        AssetType::Locker,
        AssetType::Sensor,
        AssetType::Data,
        AssetType::BusinessProcess,
        AssetType::Partner,
    ];

    /// The snake_case name used in `assets.yaml` and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::WebApplication => "web_application",
            AssetType::Api => "api",
            AssetType::Database => "database",
            AssetType::Service => "service",
            AssetType::Host => "host",
            AssetType::Network => "network",
            AssetType::ExternalService => "external_service",
            AssetType::Site => "site",
            AssetType::Vehicle => "vehicle",
            AssetType::Locker => "locker",
            AssetType::Sensor => "sensor",
            AssetType::Data => "data",
            AssetType::BusinessProcess => "business_process",
            AssetType::Partner => "partner",
        }
    }

    /// The layer the type belongs to.
    pub fn layer(self) -> Layer {
        match self {
            AssetType::WebApplication
            | AssetType::Api
            | AssetType::Database
            | AssetType::Service
            | AssetType::Host
            | AssetType::Network
            | AssetType::ExternalService => Layer::Cyber,
            AssetType::Site | AssetType::Vehicle | AssetType::Locker | AssetType::Sensor => {
                Layer::Physical
            }
            AssetType::Data | AssetType::BusinessProcess | AssetType::Partner => Layer::Business,
        }
    }
}

/// How much the business cares about an asset, on four steps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    /// Its loss is an inconvenience.
    Low,
    /// Its loss degrades the shop.
    Medium,
    /// Its loss stops a business process.
    High,
    /// Its loss stops the business or breaks the law (patient data, cold chain).
    Critical,
}

impl Criticality {
    /// The snake_case name used in `assets.yaml` and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }
}

/// Why one asset depends on another: the path along which trouble travels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// It reads or writes the other's data (a leak or corruption travels).
    Data,
    /// It calls the other (an outage travels).
    Service,
    /// The other controls or configures it (a takeover travels).
    Control,
    /// It needs the other physically (power, a building, a vehicle, a cold room).
    Physical,
}

impl DependencyKind {
    /// The snake_case name used in `assets.yaml` and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Data => "data",
            DependencyKind::Service => "service",
            DependencyKind::Control => "control",
            DependencyKind::Physical => "physical",
        }
    }
}
