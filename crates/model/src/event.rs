//! Events: everything ensuresec observes along the e-commerce chain, from an HTTP request to a
//! locker's temperature reading. One envelope (time, source, labels) carries one typed payload.
//!
//! On the wire an event is one JSON object:
//! `{"type":"login","time":"2026-11-21T10:00:00Z","source":"shop","data":{…}}`.
//! The `type` tag selects the payload in `data`; see `docs/events.md` for every field.

mod commerce;
mod delivery;
mod external;
mod http;
mod identity;
mod integrity;
mod network;
mod wire;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use commerce::{
    Chargeback, FraudVerdict, Money, OrderEvent, OrderStatus, PaymentAuthorization, PaymentOutcome,
    Verdict,
};
pub use delivery::{
    BadgeAccess, BadgeDirection, ClaimKind, DeliveryClaim, DeliveryPlan, DeliveryScan, GeoPoint,
    MAX_ROUTE_POINTS, ScanKind, SensorReading,
};
pub use external::ExternalAlert;
pub use http::HttpRequest;
pub use identity::{AuthAction, AuthEvent, AuthOutcome};
pub use integrity::{
    ContentMatch, CspViolation, FileChange, FileChangeKind, PageChange, PageChangeKind,
    PageSnapshot, ScriptRef,
};
pub use network::{NetworkFlow, Transport};

use crate::entity::{EntityKind, EntityRef};

/// One observation, as received from a source and enriched by the platform.
///
/// Its JSON form is written by hand in `wire.rs` (strict: unknown keys are errors, and the payload
/// is decoded straight into its type without buffering); [`EventShape`] documents that form.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened, as the source saw it (RFC 3339). Detectors reason in this time.
    pub time: DateTime<Utc>,
    /// When ensuresec received it. Set by the platform; a value sent by a client is replaced.
    pub ingest_time: Option<DateTime<Utc>>,
    /// Who reported it: a log file, a proxy, the shop, a payment provider, a sensor gateway.
    pub source: String,
    /// Free-form annotations (the simulator writes its ground truth here as `truth`).
    pub labels: BTreeMap<String, String>,
    /// What was observed.
    pub data: EventData,
}

/// The JSON shape of an [`Event`], for the published JSON Schema and the OpenAPI document.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Event")]
pub struct EventShape {
    /// When it happened, as the source saw it (RFC 3339). Detectors reason in this time.
    pub time: DateTime<Utc>,
    /// When ensuresec received it. Set by the platform; a value sent by a client is replaced.
    #[serde(default)]
    pub ingest_time: Option<DateTime<Utc>>,
    /// Who reported it: a log file, a proxy, the shop, a payment provider, a sensor gateway.
    pub source: String,
    /// Free-form annotations (the simulator writes its ground truth here as `truth`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The `type` tag and its `data` payload.
    #[serde(flatten)]
    pub data: EventData,
}

/// The typed payload of an event, selected by the `type` tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventData {
    /// An HTTP request, as seen by a proxy or written to an access log.
    HttpRequest(HttpRequest),
    /// A login, logout, password reset or other authentication step.
    Auth(AuthEvent),
    /// A step in an order's life.
    Order(OrderEvent),
    /// A card payment authorisation and its outcome.
    PaymentAuthorization(PaymentAuthorization),
    /// A disputed payment.
    Chargeback(Chargeback),
    /// An analyst's verdict on a payment: fraud or legitimate.
    FraudVerdict(FraudVerdict),
    /// A carrier's scan of a parcel.
    DeliveryScan(DeliveryScan),
    /// A reading from a parcel, locker or warehouse sensor.
    SensorReading(SensorReading),
    /// The plan of a parcel's delivery: destination, route, courier, shift, handling class.
    DeliveryPlan(DeliveryPlan),
    /// A customer's claim about a delivery.
    DeliveryClaim(DeliveryClaim),
    /// A badge used at a warehouse door.
    BadgeAccess(BadgeAccess),
    /// A network flow record (NetFlow, IPFIX, pcap-derived).
    NetworkFlow(NetworkFlow),
    /// A change to a file of the shop's code or web root.
    FileChange(FileChange),
    /// What a monitored page looked like when fetched.
    PageSnapshot(PageSnapshot),
    /// Something on a monitored payment page differs from its inventory.
    PageChange(PageChange),
    /// A Content-Security-Policy violation reported by a browser.
    CspViolation(CspViolation),
    /// An alert raised by another security tool (an IDS), imported.
    ExternalAlert(ExternalAlert),
}

/// The event types by name, for filters, rule files and metrics labels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// See [`EventData::HttpRequest`].
    HttpRequest,
    /// See [`EventData::Auth`].
    Auth,
    /// See [`EventData::Order`].
    Order,
    /// See [`EventData::PaymentAuthorization`].
    PaymentAuthorization,
    /// See [`EventData::Chargeback`].
    Chargeback,
    /// See [`EventData::FraudVerdict`].
    FraudVerdict,
    /// See [`EventData::DeliveryScan`].
    DeliveryScan,
    /// See [`EventData::SensorReading`].
    SensorReading,
    /// See [`EventData::DeliveryPlan`].
    DeliveryPlan,
    /// See [`EventData::DeliveryClaim`].
    DeliveryClaim,
    /// See [`EventData::BadgeAccess`].
    BadgeAccess,
    /// See [`EventData::NetworkFlow`].
    NetworkFlow,
    /// See [`EventData::FileChange`].
    FileChange,
    /// See [`EventData::PageSnapshot`].
    PageSnapshot,
    /// See [`EventData::PageChange`].
    PageChange,
    /// See [`EventData::CspViolation`].
    CspViolation,
    /// See [`EventData::ExternalAlert`].
    ExternalAlert,
}

impl EventType {
    /// Every type, in declaration order.
    pub const ALL: [EventType; 17] = [
        EventType::HttpRequest,
        EventType::Auth,
        EventType::Order,
        EventType::PaymentAuthorization,
        EventType::Chargeback,
        EventType::FraudVerdict,
        EventType::DeliveryScan,
        EventType::SensorReading,
        EventType::DeliveryPlan,
        EventType::DeliveryClaim,
        EventType::BadgeAccess,
        EventType::NetworkFlow,
        EventType::FileChange,
        EventType::PageSnapshot,
        EventType::PageChange,
        EventType::CspViolation,
        EventType::ExternalAlert,
    ];

    /// The `type` tag as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::HttpRequest => "http_request",
            EventType::Auth => "auth",
            EventType::Order => "order",
            EventType::PaymentAuthorization => "payment_authorization",
            EventType::Chargeback => "chargeback",
            EventType::FraudVerdict => "fraud_verdict",
            EventType::DeliveryScan => "delivery_scan",
            EventType::SensorReading => "sensor_reading",
            EventType::DeliveryPlan => "delivery_plan",
            EventType::DeliveryClaim => "delivery_claim",
            EventType::BadgeAccess => "badge_access",
            EventType::NetworkFlow => "network_flow",
            EventType::FileChange => "file_change",
            EventType::PageSnapshot => "page_snapshot",
            EventType::PageChange => "page_change",
            EventType::CspViolation => "csp_violation",
            EventType::ExternalAlert => "external_alert",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type `{s}`"))
    }
}

/// Reading an entity off a payload: implemented by every payload type.
pub(crate) trait Entities {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>>;
}

/// Wraps an optional string field as an entity name.
pub(crate) fn name(value: &Option<String>) -> Option<EntityRef<'_>> {
    value.as_deref().map(EntityRef::Name)
}

impl Event {
    /// The payload's type.
    pub fn event_type(&self) -> EventType {
        match &self.data {
            EventData::HttpRequest(_) => EventType::HttpRequest,
            EventData::Auth(_) => EventType::Auth,
            EventData::Order(_) => EventType::Order,
            EventData::PaymentAuthorization(_) => EventType::PaymentAuthorization,
            EventData::Chargeback(_) => EventType::Chargeback,
            EventData::FraudVerdict(_) => EventType::FraudVerdict,
            EventData::DeliveryScan(_) => EventType::DeliveryScan,
            EventData::SensorReading(_) => EventType::SensorReading,
            EventData::DeliveryPlan(_) => EventType::DeliveryPlan,
            EventData::DeliveryClaim(_) => EventType::DeliveryClaim,
            EventData::BadgeAccess(_) => EventType::BadgeAccess,
            EventData::NetworkFlow(_) => EventType::NetworkFlow,
            EventData::FileChange(_) => EventType::FileChange,
            EventData::PageSnapshot(_) => EventType::PageSnapshot,
            EventData::PageChange(_) => EventType::PageChange,
            EventData::CspViolation(_) => EventType::CspViolation,
            EventData::ExternalAlert(_) => EventType::ExternalAlert,
        }
    }

    /// The entity of the given kind this event names, if any: what detectors group by and the
    /// pipeline partitions on.
    pub fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        let payload: &dyn Entities = match &self.data {
            EventData::HttpRequest(p) => p,
            EventData::Auth(p) => p,
            EventData::Order(p) => p,
            EventData::PaymentAuthorization(p) => p,
            EventData::Chargeback(p) => p,
            EventData::FraudVerdict(p) => p,
            EventData::DeliveryScan(p) => p,
            EventData::SensorReading(p) => p,
            EventData::DeliveryPlan(p) => p,
            EventData::DeliveryClaim(p) => p,
            EventData::BadgeAccess(p) => p,
            EventData::NetworkFlow(p) => p,
            EventData::FileChange(p) => p,
            EventData::PageSnapshot(p) => p,
            EventData::PageChange(p) => p,
            EventData::CspViolation(p) => p,
            EventData::ExternalAlert(p) => p,
        };
        payload.entity(kind)
    }

    /// Every entity this event names, as owned keys (for evidence and search).
    pub fn entities(&self) -> Vec<crate::EntityKey> {
        EntityKind::ALL
            .into_iter()
            .filter_map(|kind| self.entity(kind).map(|v| crate::EntityKey::new(kind, v)))
            .collect()
    }
}
