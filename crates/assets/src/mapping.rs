//! Which incidents touch which assets: each asset lists selectors, and an incident touches the
//! asset when any selector matches it. Partners see an incident when it touches an asset shared
//! with them (or carries their `partner:NAME` tag).

use ensuresec_model::{EntityKey, Incident};
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{AssetIndex, AssetModel};

/// One way an incident can be recognised as touching an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    /// The incident is about exactly this entity (`asset:web-frontend`, `device:locker-17`).
    Entity(EntityKey),
    /// One of the incident's detectors has this name (`webattack`, `threshold`).
    Detector(String),
    /// One of the incident's rules has this id, or starts with it when it ends in `*`.
    Rule(String),
    /// The incident carries this tag.
    Tag(String),
}

impl Selector {
    /// Whether the incident matches.
    pub fn matches(&self, incident: &IncidentView<'_>) -> bool {
        match self {
            Selector::Entity(key) => incident.entity == key,
            Selector::Detector(name) => incident.detectors.iter().any(|d| d == name),
            Selector::Rule(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => incident.rule_ids.iter().any(|r| r.starts_with(prefix)),
                None => incident.rule_ids.iter().any(|r| r == pattern),
            },
            Selector::Tag(tag) => incident.tags.iter().any(|t| t == tag),
        }
    }
}

/// What mapping reads off an incident (borrowed, so that lists of incidents map without copies).
#[derive(Debug, Clone, Copy)]
pub struct IncidentView<'a> {
    /// What it is about.
    pub entity: &'a EntityKey,
    /// Detectors that contributed.
    pub detectors: &'a [String],
    /// Rules that fired.
    pub rule_ids: &'a [String],
    /// Its tags.
    pub tags: &'a [String],
}

impl<'a> IncidentView<'a> {
    /// The view of a stored incident.
    pub fn of(incident: &'a Incident) -> Self {
        IncidentView {
            entity: &incident.entity,
            detectors: &incident.detectors,
            rule_ids: &incident.rule_ids,
            tags: &incident.tags,
        }
    }
}

impl AssetModel {
    /// The assets an incident touches, in model order.
    pub fn assets_for(&self, incident: &IncidentView<'_>) -> Vec<AssetIndex> {
        self.assets()
            .iter()
            .enumerate()
            .filter(|(_, a)| a.selectors.iter().any(|s| s.matches(incident)))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether `partner` may see the incident: it touches an asset shared with the partner, or
    /// is tagged `partner:NAME`.
    pub fn visible_to_partner(&self, partner: &str, incident: &IncidentView<'_>) -> bool {
        let tagged = incident
            .tags
            .iter()
            .any(|t| t.strip_prefix("partner:") == Some(partner));
        tagged
            || self
                .assets_for(incident)
                .into_iter()
                .any(|i| self.assets()[i].partners.iter().any(|p| p == partner))
    }
}
