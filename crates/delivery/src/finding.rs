//! The delivery rules by id, with the severity, confidence and tags their alerts carry, so that
//! every detector of this crate raises alerts the same way and the list of rules is one table.

use chrono::{DateTime, Utc};
use ensuresec_model::{Alert, EntityKey, Severity};

/// The name under which this crate's detectors raise alerts.
pub const DETECTOR: &str = "delivery";

/// Every delivery rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A reading at or below the class's freezing point.
    ColdChainFrozen,
    /// Time out of range beyond the class's budget.
    ColdChainExcursion,
    /// Mean kinetic temperature above the class's limit.
    ColdChainMkt,
    /// Off the planned corridor.
    RouteDeviation,
    /// Faster between two positions than a vehicle can be.
    RouteImpossibleJump,
    /// Standing still, away from planned stops.
    RouteUnscheduledStop,
    /// Opened or exposed to light before delivery, away from the destination.
    ParcelOpenedInTransit,
    /// Lighter than at the previous weighing.
    ParcelWeightLoss,
    /// Scans in an order a journey cannot have.
    ScanOutOfOrder,
    /// Delivered far from the address.
    DeliveredFarFromAddress,
    /// Delivered outside the courier's shift.
    DeliveredOutsideShift,
    /// The parcel's tracker went silent before delivery.
    TrackerSilent,
    /// A non-receipt or damage claim that the evidence contradicts.
    ClaimContradicted,
    /// A claim that the evidence supports: someone on the way is to blame.
    ClaimCorroborated,
    /// Many claims from one account.
    SerialClaimerAccount,
    /// Many claims from one device (across accounts).
    SerialClaimerDevice,
    /// A fixed sensor (locker, fridge, room) went silent.
    SensorSilent,
    /// The same temperature reading after reading: stuck or bypassed.
    SensorFlatline,
    /// A temperature change faster than physics allows.
    SensorImpossibleChange,
    /// Battery nearly empty.
    SensorLowBattery,
    /// A badge used in a controlled zone outside its opening hours.
    BadgeAfterHours,
    /// A new plan moved the parcel's destination (informational: the chain below uses it).
    ParcelRedirected,
    /// An account taken over, and its parcel redirected: the cyber-physical chain.
    TakeoverRedirect,
}

impl Rule {
    /// Every rule, for documentation checks.
    pub const ALL: [Rule; 23] = [
        Rule::ColdChainFrozen,
        Rule::ColdChainExcursion,
        Rule::ColdChainMkt,
        Rule::RouteDeviation,
        Rule::RouteImpossibleJump,
        Rule::RouteUnscheduledStop,
        Rule::ParcelOpenedInTransit,
        Rule::ParcelWeightLoss,
        Rule::ScanOutOfOrder,
        Rule::DeliveredFarFromAddress,
        Rule::DeliveredOutsideShift,
        Rule::TrackerSilent,
        Rule::ClaimContradicted,
        Rule::ClaimCorroborated,
        Rule::SerialClaimerAccount,
        Rule::SerialClaimerDevice,
        Rule::SensorSilent,
        Rule::SensorFlatline,
        Rule::SensorImpossibleChange,
        Rule::SensorLowBattery,
        Rule::BadgeAfterHours,
        Rule::ParcelRedirected,
        Rule::TakeoverRedirect,
    ];

    /// The rule id in alerts, playbooks and docs.
    pub fn id(self) -> &'static str {
        self.meta().0
    }

    fn meta(self) -> (&'static str, Severity, f32, &'static str) {
        use Severity::{High, Low, Medium};
        match self {
            Rule::ColdChainFrozen => ("cold-chain-frozen", High, 0.95, "delivery:cold-chain"),
            Rule::ColdChainExcursion => ("cold-chain-excursion", High, 0.9, "delivery:cold-chain"),
            Rule::ColdChainMkt => ("cold-chain-mkt", Medium, 0.85, "delivery:cold-chain"),
            Rule::RouteDeviation => ("route-deviation", Medium, 0.7, "delivery:route"),
            Rule::RouteImpossibleJump => (
                "route-impossible-jump",
                Medium,
                0.7,
                "delivery:sensor-tampering",
            ),
            Rule::RouteUnscheduledStop => ("route-unscheduled-stop", Low, 0.5, "delivery:route"),
            Rule::ParcelOpenedInTransit => (
                "parcel-opened-in-transit",
                High,
                0.8,
                "delivery:insider-theft",
            ),
            Rule::ParcelWeightLoss => ("parcel-weight-loss", High, 0.85, "delivery:insider-theft"),
            Rule::ScanOutOfOrder => ("scan-out-of-order", Low, 0.5, "delivery:custody"),
            Rule::DeliveredFarFromAddress => (
                "delivered-far-from-address",
                High,
                0.8,
                "delivery:courier-fraud",
            ),
            Rule::DeliveredOutsideShift => (
                "delivered-outside-shift",
                Medium,
                0.6,
                "delivery:courier-fraud",
            ),
            Rule::TrackerSilent => ("tracker-silent", Medium, 0.6, "delivery:sensor-tampering"),
            Rule::ClaimContradicted => (
                "claim-contradicted",
                Medium,
                0.75,
                "delivery:customer-fraud",
            ),
            Rule::ClaimCorroborated => ("claim-corroborated", High, 0.75, "delivery:custody"),
            Rule::SerialClaimerAccount => (
                "serial-claimer-account",
                Medium,
                0.7,
                "delivery:customer-fraud",
            ),
            Rule::SerialClaimerDevice => (
                "serial-claimer-device",
                Medium,
                0.75,
                "delivery:customer-fraud",
            ),
            Rule::SensorSilent => ("sensor-silent", Medium, 0.6, "delivery:sensor-tampering"),
            Rule::SensorFlatline => ("sensor-flatline", Medium, 0.7, "delivery:sensor-tampering"),
            Rule::SensorImpossibleChange => (
                "sensor-impossible-change",
                Medium,
                0.7,
                "delivery:sensor-tampering",
            ),
            Rule::SensorLowBattery => ("sensor-low-battery", Low, 0.9, "delivery:sensor-health"),
            Rule::BadgeAfterHours => ("badge-after-hours", High, 0.8, "delivery:insider-theft"),
            Rule::ParcelRedirected => ("parcel-redirected", Low, 0.9, "delivery:redirect"),
            Rule::TakeoverRedirect => {
                ("takeover-redirect", High, 0.85, "delivery:account-takeover")
            }
        }
    }

    /// An alert of this rule about `entity` at `time`.
    pub fn alert(
        self,
        time: DateTime<Utc>,
        entity: EntityKey,
        title: String,
        evidence: serde_json::Value,
    ) -> Alert {
        let (rule_id, severity, confidence, tag) = self.meta();
        Alert {
            id: 0,
            time,
            detector: DETECTOR.to_string(),
            rule_id: rule_id.to_string(),
            title,
            severity,
            confidence,
            entity,
            evidence,
            tags: vec![tag.to_string()],
            incident_id: None,
            ledger_index: None,
        }
    }
}
