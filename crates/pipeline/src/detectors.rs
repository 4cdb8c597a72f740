//! The registry of detectors: the explicit list of what runs in the pipeline. A new detector
//! module adds its factories here.

use std::sync::Arc;

use ensuresec_behaviour::{RuleSet, ThresholdDetector};
use ensuresec_model::detector::DetectorFactory;
use ensuresec_webattack::{SharedEngine, WebAttackDetector};

/// Factories for the threshold detectors of a rule set, one per entity kind the rules group by.
pub fn threshold(rules: &RuleSet) -> Vec<DetectorFactory> {
    rules
        .group_kinds()
        .into_iter()
        .map(|kind| {
            let rules = rules.rules.clone();
            Arc::new(move || {
                Box::new(ThresholdDetector::new(kind, &rules)) as Box<dyn ensuresec_model::Detector>
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
