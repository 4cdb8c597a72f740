//! Recovery plans: for a diagnosis, the configured actions of the assets assumed faulty, in
//! dependency order (what others depend on comes back first), each asset's actions followed by
//! re-probing it, and a final re-verification of every probe of the affected assets.
//!
//! Assets that only suffer from the fault (they depend on a faulty asset) get no actions of
//! their own: they are re-verified, since repairing the cause should bring them back.

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::{Action, RecoveryConfig};
use crate::graph::DepGraph;

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schemars(rename = "RecoveryStep")]
pub enum Step {
    /// Run a configured recovery action on an asset.
    Act {
        /// The asset.
        asset: String,
        /// The action.
        action: Action,
    },
    /// Re-probe an asset until it is healthy (or the verification time runs out).
    Verify {
        /// The asset.
        asset: String,
    },
    /// Nothing is configured for an asset assumed faulty: a person must act.
    Manual {
        /// The asset.
        asset: String,
        /// What is missing.
        reason: String,
    },
    /// Re-probe every asset the fault reached, to confirm a good state.
    VerifyAll {
        /// The assets.
        assets: Vec<String>,
    },
}

impl Step {
    /// One line for tables and the audit log.
    pub fn describe(&self) -> String {
        match self {
            Step::Act { asset, action } => match action.command() {
                Some(c) => format!("{} `{asset}`: run `{}`", action.name(), c.command.join(" ")),
                None => format!("{} `{asset}` from the integrity baseline", action.name()),
            },
            Step::Verify { asset } => format!("re-probe `{asset}` until healthy"),
            Step::Manual { asset, reason } => format!("manual: `{asset}`: {reason}"),
            Step::VerifyAll { assets } => {
                format!("re-verify {} assets: {}", assets.len(), assets.join(", "))
            }
        }
    }
}

/// An ordered plan for one diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "RecoveryPlan")]
pub struct Plan {
    /// The assets assumed faulty.
    pub diagnosis: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The plan for `diagnosis` (asset positions in `graph`).
pub fn build(graph: &DepGraph, config: &RecoveryConfig, diagnosis: &[usize]) -> Plan {
    let mut steps = Vec::new();
    for i in graph.dependency_order(diagnosis) {
        let asset = graph.id(i).to_string();
        let actions = config.actions_of(&asset);
        if actions.is_empty() {
            steps.push(Step::Manual {
                asset: asset.clone(),
                reason: "no recovery action is configured for it".into(),
            });
        }
        for action in actions {
            steps.push(Step::Act {
                asset: asset.clone(),
                action: action.clone(),
            });
        }
        if config.probes_of(&asset).next().is_some() {
            steps.push(Step::Verify { asset });
        }
    }
    let reached = graph.dependents_closure(diagnosis.iter().copied());
    let probed: Vec<usize> = reached
        .iter()
        .filter(|&i| config.probes_of(graph.id(i)).next().is_some())
        .collect();
    let assets: Vec<String> = graph
        .dependency_order(&probed)
        .into_iter()
        .map(|i| graph.id(i).to_string())
        .collect();
    if !assets.is_empty() {
        steps.push(Step::VerifyAll { assets });
    }
    Plan {
        diagnosis: diagnosis.iter().map(|&i| graph.id(i).to_string()).collect(),
        steps,
    }
}
