//! One diagnosis pass from observations to the plan, shared by `ensuresec diagnose` and the
//! server's `/v1/diagnosis` and `/v1/recovery/*` routes, so that both answer the same question
//! the same way: priors from the asset model and recent alerts, candidates, the report, and the
//! dry-run plan for the most likely candidate.

use schemars::JsonSchema;
use std::collections::HashMap;

use ensuresec_assets::AssetModel;
use serde::Serialize;

use crate::config::RecoveryConfig;
use crate::error::RecoveryError;
use crate::hitting::HsOptions;
use crate::plan::{Plan, build};
use crate::{DepGraph, Diagnoser, DiagnosisReport, Observation, prior};

/// Probe suggestions in a report.
const NEXT_PROBES: usize = 3;

/// What one pass found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "RecoveryAssessment")]
pub struct Assessment {
    /// The ranked candidates with their reasoning, and the next probes.
    pub diagnosis: DiagnosisReport,
    /// The latest observation of each observed asset, by asset id.
    pub observed: Vec<Observation>,
    /// The dry-run plan for the most likely candidate; `None` when nothing is observed faulty.
    pub plan: Option<Plan>,
}

/// Diagnoses `observations` on `model` (with `alerts`, the recent alert count per asset id,
/// raising priors) and plans the recovery of the most likely candidate with `config`'s actions.
/// `top` candidates are reported; next probes are suggested among the assets `config` probes
/// (among all assets when it has no probes).
pub fn assess(
    model: &AssetModel,
    config: &RecoveryConfig,
    alerts: &HashMap<String, u32>,
    observations: Vec<Observation>,
    options: HsOptions,
    top: usize,
) -> Result<Assessment, RecoveryError> {
    let graph = DepGraph::from_model(model);
    let probeable = (!config.probes.is_empty()).then(|| {
        config
            .probes
            .iter()
            .filter_map(|p| graph.index_of(&p.asset))
            .collect()
    });
    let mut diagnoser = Diagnoser::new(graph.clone(), prior::priors(model, alerts), options)?;
    diagnoser.observe_all(observations)?;
    let diagnosis = diagnoser.report(top, NEXT_PROBES, probeable.as_ref());
    let mut observed: Vec<Observation> = diagnoser.observations().map(|(_, o)| o.clone()).collect();
    observed.sort_by(|a, b| a.asset.cmp(&b.asset));
    let plan = diagnoser
        .ranked()
        .first()
        .filter(|(_, set)| !set.is_empty())
        .map(|(_, set)| build(&graph, config, set));
    Ok(Assessment {
        diagnosis,
        observed,
        plan,
    })
}
