//! The registry of detectors: the explicit list of what runs in the pipeline. A new detector
//! module adds its factories here.

use std::sync::Arc;

use ensuresec_behaviour::anomaly::{AnomalyConfig, AnomalyDetector};
use ensuresec_behaviour::baseline::{BaselineConfig, BaselineDetector};
use ensuresec_behaviour::{RuleSet, ThresholdDetector};
use ensuresec_delivery::{
    BadgeDetector, DeliveryRules, ParcelDetector, SensorHealthDetector, SerialClaimDetector,
    TakeoverRedirectChain,
};
use ensuresec_fraud::FraudService;
use ensuresec_fraud::detector::{PaymentDetector, RingDetector};
use ensuresec_fraud::rings::RingGraph;
use ensuresec_model::detector::DetectorFactory;
use ensuresec_model::{AlertChain, EntityKind};
use ensuresec_webattack::{SharedEngine, WebAttackDetector};

/// Factories for the threshold detectors of a rule set, one per entity kind the rules group by.
pub fn threshold(rules: &RuleSet) -> Vec<DetectorFactory> {
    let rules_limits = rules.limits;
    rules
        .group_kinds()
        .into_iter()
        .map(|kind| {
            let rules = rules.rules.clone();
            let limits = rules_limits;
            Arc::new(move || {
                Box::new(ThresholdDetector::with_limits(kind, &rules, limits))
                    as Box<dyn ensuresec_model::Detector>
            }) as DetectorFactory
        })
        .collect()
}

/// The factory of the web-attack detector: every partition's instance shares one compiled engine.
pub fn webattack(engine: Arc<SharedEngine>) -> DetectorFactory {
    Arc::new(move || {
        Box::new(WebAttackDetector::new(engine.clone())) as Box<dyn ensuresec_model::Detector>
    })
}

/// The factory of the anomaly detector (unknown threats: per-entity behaviour scored by
/// Half-Space Trees, with explanations). Each partition learns from its own share of entities.
pub fn anomaly(config: AnomalyConfig) -> DetectorFactory {
    Arc::new(move || Box::new(AnomalyDetector::new(config)) as Box<dyn ensuresec_model::Detector>)
}

/// The factory of the pass-through for alerts of other tools (`external_alert` events).
pub fn external() -> DetectorFactory {
    Arc::new(|| {
        Box::new(crate::external::ExternalAlertDetector) as Box<dyn ensuresec_model::Detector>
    })
}

/// The factory of the integrity alerts: unplanned file changes, payment-page monitor findings
/// and CSP violation reports.
pub fn integrity() -> DetectorFactory {
    Arc::new(|| Box::new(crate::integrity::IntegrityDetector) as Box<dyn ensuresec_model::Detector>)
}

/// The factory of the volume baselines (floods and sudden drops per endpoint, grouped by asset).
pub fn baseline(config: BaselineConfig) -> DetectorFactory {
    Arc::new(move || Box::new(BaselineDetector::new(config)) as Box<dyn ensuresec_model::Detector>)
}

/// The factories of the delivery detectors: parcels (by parcel), sensor health (by sensor),
/// serial claimers (by account and by device) and badge hours (stateless).
pub fn delivery(rules: Arc<DeliveryRules>) -> Vec<DetectorFactory> {
    let parcels = rules.clone();
    let sensors = rules.clone();
    let accounts = rules.clone();
    let devices = rules.clone();
    vec![
        Arc::new(move || {
            Box::new(ParcelDetector::new(parcels.clone())) as Box<dyn ensuresec_model::Detector>
        }),
        Arc::new(move || {
            Box::new(SensorHealthDetector::new(sensors.clone()))
                as Box<dyn ensuresec_model::Detector>
        }),
        Arc::new(move || {
            Box::new(SerialClaimDetector::new(
                EntityKind::Account,
                accounts.clone(),
            )) as Box<dyn ensuresec_model::Detector>
        }),
        Arc::new(move || {
            Box::new(SerialClaimDetector::new(
                EntityKind::Device,
                devices.clone(),
            )) as Box<dyn ensuresec_model::Detector>
        }),
        Arc::new(move || {
            Box::new(BadgeDetector::new(rules.clone())) as Box<dyn ensuresec_model::Detector>
        }),
    ]
}

/// The chains over alerts of the delivery module: an account taken over (web and payment
/// modules' alerts) and its parcel redirected.
pub fn delivery_chains(rules: Arc<DeliveryRules>) -> Vec<Box<dyn AlertChain>> {
    vec![Box::new(TakeoverRedirectChain::new(rules))]
}

/// The factory of payment scoring: every partition's instance scores through the one shared
/// `service` (the same the HTTP endpoint uses), so each payment event is scored once.
pub fn fraud(service: Arc<FraudService>) -> DetectorFactory {
    Arc::new(move || {
        Box::new(PaymentDetector::new(service.clone())) as Box<dyn ensuresec_model::Detector>
    })
}

/// The factory of the fraud-ring detector over the one shared graph.
pub fn fraud_rings(graph: Arc<std::sync::Mutex<RingGraph>>) -> DetectorFactory {
    Arc::new(move || {
        Box::new(RingDetector::new(graph.clone())) as Box<dyn ensuresec_model::Detector>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_factory_builds_a_detector_for_its_entity_kind() {
        let rules = RuleSet::builtin().expect("shipped rules");
        let kinds: Vec<_> = threshold(&rules).iter().map(|f| f().group_by()).collect();
        assert_eq!(kinds.len(), rules.group_kinds().len());
        assert!(kinds.contains(&Some(EntityKind::Asset)));
        assert_eq!(
            anomaly(AnomalyConfig::default())().group_by(),
            Some(EntityKind::Ip)
        );
        assert_eq!(
            baseline(BaselineConfig::default())().group_by(),
            Some(EntityKind::Asset)
        );
        let rules = Arc::new(DeliveryRules::builtin().expect("shipped delivery rules"));
        let kinds: Vec<_> = delivery(rules).iter().map(|f| f().group_by()).collect();
        assert_eq!(
            kinds,
            [
                Some(EntityKind::Parcel),
                Some(EntityKind::Device),
                Some(EntityKind::Account),
                Some(EntityKind::Device),
                None
            ]
        );
        assert_eq!(external()().group_by(), None);
    }
}
