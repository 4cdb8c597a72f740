//! Attack progression: where an incident stands on the path reconnaissance → exploitation →
//! impact, read off its alerts' ATT&CK/CAPEC tags, rules and detectors. Playbooks trigger on it
//! (`trigger.stage`): a scan gets a throttle, an exploitation a ban, an impact a person's pager.

use ensuresec_model::Incident;
use serde::{Deserialize, Serialize};

/// A step on an attack's path, ordered so that `max` is the furthest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Looking around: scans, probes, enumeration.
    Reconnaissance,
    /// Trying to get in or abuse: brute force, injection, card testing.
    Exploitation,
    /// Harm under way: floods, takeovers, data or money leaving.
    Impact,
}

impl Stage {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Reconnaissance => "reconnaissance",
            Stage::Exploitation => "exploitation",
            Stage::Impact => "impact",
        }
    }
}

/// Tag prefixes and rule-id fragments per stage; the first match of the furthest stage wins.
const IMPACT: &[&str] = &[
    "attack:T1498",
    "attack:T1499",
    "attack:T1098",
    "attack:T1565",
    "attack:T1041",
    "attack:T1486",
    "attack:T1119",
    "account-takeover",
    "flood",
    "amplification",
    "volumetric",
];
const EXPLOITATION: &[&str] = &[
    "attack:T1110",
    "attack:T1190",
    "attack:T1078",
    "capec:600",
    "capec:49",
    "capec:112",
    "capec:210",
    "capec:66",
    "capec-66",
    "capec-242",
    "brute-force",
    "stuffing",
    "card-testing",
    "coupon",
];
const RECONNAISSANCE: &[&str] = &[
    "attack:T1595",
    "attack:T1046",
    "capec:169",
    "capec:300",
    "capec:292",
    "scan",
    "scanner",
    "headless",
    "scraping",
];

/// The furthest stage an incident's evidence shows, if any is recognisable. A web-attack
/// detection (an attempted injection) counts as exploitation.
pub fn stage_of(incident: &Incident) -> Option<Stage> {
    let evidence: Vec<String> = incident
        .tags
        .iter()
        .chain(&incident.rule_ids)
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let hit = |needles: &[&str]| {
        evidence
            .iter()
            .any(|e| needles.iter().any(|n| e.contains(&n.to_ascii_lowercase())))
    };
    if hit(IMPACT) {
        Some(Stage::Impact)
    } else if hit(EXPLOITATION) || incident.detectors.iter().any(|d| d == "webattack") {
        Some(Stage::Exploitation)
    } else if hit(RECONNAISSANCE) {
        Some(Stage::Reconnaissance)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::incident;

    #[test]
    fn the_furthest_stage_wins() {
        let mut i = incident("port-scan", &["attack:T1046"]);
        assert_eq!(stage_of(&i), Some(Stage::Reconnaissance));
        i.rule_ids.push("credential-stuffing-ip".into());
        i.tags.push("attack:T1110.004".into());
        assert_eq!(stage_of(&i), Some(Stage::Exploitation));
        i.rule_ids.push("account-takeover-address-change".into());
        assert_eq!(stage_of(&i), Some(Stage::Impact));
    }

    #[test]
    fn unknown_evidence_has_no_stage() {
        assert_eq!(stage_of(&incident("custom-rule", &["team:x"])), None);
    }
}
