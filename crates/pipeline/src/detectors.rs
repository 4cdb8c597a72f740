//! The registry of detectors: the explicit list of what runs in the pipeline. A new detector
//! module adds its factories here.

use std::sync::Arc;

use ensuresec_behaviour::{RuleSet, ThresholdDetector};
use ensuresec_model::detector::DetectorFactory;

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
