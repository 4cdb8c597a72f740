//! Prior fault likelihood of each asset: how likely it is, before looking at the symptoms, that
//! this asset is the one at fault. Candidates are ranked by these.
//!
//! ```text
//! p(a) = min(0.5, BASE × criticality(a) × exposure(a) × (1 + ALERT_WEIGHT × min(alerts(a), 5)))
//! ```
//! - `BASE` = 0.01: one asset in a hundred is broken on a given day.
//! - `criticality`: critical 1.5, high 1.25, medium 1.0, low 0.8 — critical assets are the ones
//!   attackers aim at and the ones changed most often.
//! - `exposure`: 3 for assets reachable or run from outside (tagged `public`, or of type
//!   network, external service, partner, web application, API), else 1.
//! - `alerts`: incidents that touched the asset in the last 24 hours, `ALERT_WEIGHT` = 4 each,
//!   counted up to 5.
//!
//! A diagnosis `D` (a set of assets faulty together, the rest healthy) then weighs
//! `Π_{a∈D} p(a) / (1 − p(a))` — its probability relative to "all healthy" when faults are
//! independent — and candidates' weights are normalised to a share of the candidate mass.

use std::collections::HashMap;

use ensuresec_assets::{AssetModel, AssetType, Criticality};

/// Prior fault likelihood of one asset on a day without alerts.
pub const BASE: f64 = 0.01;
/// How much each recent alert on an asset multiplies its prior (added to 1 per alert).
pub const ALERT_WEIGHT: f64 = 4.0;
/// Alerts counted at most.
pub const MAX_ALERTS: u32 = 5;
/// Factor for assets reachable from outside.
pub const EXPOSED: f64 = 3.0;
/// Ceiling of a prior (a prior of 1 would make every other candidate meaningless).
pub const MAX_PRIOR: f64 = 0.5;

/// The factor of a criticality.
pub fn criticality_factor(c: Criticality) -> f64 {
    match c {
        Criticality::Critical => 1.5,
        Criticality::High => 1.25,
        Criticality::Medium => 1.0,
        Criticality::Low => 0.8,
    }
}

/// Whether an asset of this type, with these tags, is reachable or run from outside.
pub fn is_exposed(asset_type: AssetType, tags: &[String]) -> bool {
    tags.iter().any(|t| t == "public")
        || matches!(
            asset_type,
            AssetType::Network
                | AssetType::ExternalService
                | AssetType::Partner
                | AssetType::WebApplication
                | AssetType::Api
        )
}

/// The prior of one asset from its factors.
pub fn prior(criticality: Criticality, exposed: bool, recent_alerts: u32) -> f64 {
    let exposure = if exposed { EXPOSED } else { 1.0 };
    let alerts = 1.0 + ALERT_WEIGHT * f64::from(recent_alerts.min(MAX_ALERTS));
    (BASE * criticality_factor(criticality) * exposure * alerts).min(MAX_PRIOR)
}

/// One asset's prior with its factors in words, for the reasoning chain.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prior {
    /// The likelihood.
    pub p: f64,
    /// Why it is what it is (`critical, exposed, 2 recent alerts`).
    pub why: String,
}

/// Priors of every asset of `model`, in model order, given recent alert counts by asset id.
pub fn priors(model: &AssetModel, recent_alerts: &HashMap<String, u32>) -> Vec<Prior> {
    model
        .assets()
        .iter()
        .map(|a| {
            let exposed = is_exposed(a.asset_type, &a.tags);
            let alerts = recent_alerts.get(&a.id).copied().unwrap_or(0);
            let mut why = vec![a.criticality.as_str().to_string()];
            if exposed {
                why.push("exposed".into());
            }
            if alerts > 0 {
                why.push(format!(
                    "{alerts} recent alert{}",
                    if alerts == 1 { "" } else { "s" }
                ));
            }
            Prior {
                p: prior(a.criticality, exposed, alerts),
                why: why.join(", "),
            }
        })
        .collect()
}

/// The unnormalised weight of a diagnosis.
pub fn weight(set: &[usize], priors: &[Prior]) -> f64 {
    set.iter()
        .map(|&i| {
            let p = priors[i].p.clamp(1e-9, MAX_PRIOR);
            p / (1.0 - p)
        })
        .product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_and_exposure_raise_the_prior() {
        let quiet = prior(Criticality::Medium, false, 0);
        assert!((quiet - BASE).abs() < 1e-12);
        assert!(prior(Criticality::Medium, true, 0) > quiet);
        assert!(prior(Criticality::Medium, false, 1) > prior(Criticality::Critical, true, 0));
        assert!(prior(Criticality::Critical, true, 50) <= MAX_PRIOR);
    }

    #[test]
    fn smaller_diagnoses_weigh_more_at_equal_priors() {
        let p = vec![
            Prior {
                p: 0.01,
                why: String::new()
            };
            3
        ];
        assert!(weight(&[0], &p) > weight(&[0, 1], &p));
    }
}
