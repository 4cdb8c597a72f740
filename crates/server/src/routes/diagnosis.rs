//! `GET /v1/diagnosis`: what is actually broken — candidate root causes from the open incidents
//! mapped to assets and, when configured, live health probes (crates/recovery, docs/recovery.md).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use ensuresec_recovery::hitting::HsOptions;
use ensuresec_recovery::observation::{from_incidents, recent_window};
use ensuresec_recovery::probe::Prober;
use ensuresec_recovery::{DepGraph, Diagnoser, DiagnosisReport, prior};
use ensuresec_store::{IncidentFilter, PageRequest};

use crate::app::AppState;
use crate::auth::{Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;

/// Largest `max_size` a caller may ask for (the search grows fast with it).
const MAX_SIZE: usize = 5;
/// Most candidates returned.
const MAX_TOP: usize = 50;

fn bounded(p: &Params, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    let v = p.parsed::<usize>(name)?.unwrap_or(default);
    if v == 0 || v > max {
        return Err(ApiError::BadParam {
            param: name.into(),
            message: format!("must be 1 to {max}"),
        });
    }
    Ok(v)
}

#[utoipa::path(get, path = "/v1/diagnosis", tag = "assets",
    params(
        ("probe" = Option<bool>, Query, description = "Run the configured health probes now (default true)"),
        ("max_size" = Option<usize>, Query, description = "Largest set of simultaneously faulty assets considered, 1 to 5 (default 3)"),
        ("top" = Option<usize>, Query, description = "Candidates returned, 1 to 50 (default 5)"),
    ),
    responses(
        (status = 200, description = "The diagnosis: {symptoms, exonerated, conflicts, contradictions, candidates: [{rank, assets, likelihood, reasoning}], candidate_count, complete, max_size, next_probes}"),
        (status = 400, description = "A parameter is bad", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// Candidate root causes of what is observed broken, ranked, each with its reasoning.
pub(crate) async fn diagnosis(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<DiagnosisReport>, ApiError> {
    let p = Params::parse(query.as_deref(), &["probe", "max_size", "top"])?;
    let probe = p.parsed::<bool>("probe")?.unwrap_or(true);
    let max_size = bounded(&p, "max_size", 3, MAX_SIZE)?;
    let top = bounded(&p, "top", 5, MAX_TOP)?;
    let now = state.platform.clock().now();
    let since = now - recent_window();
    let incidents = state
        .platform
        .store()
        .list_incidents(
            IncidentFilter {
                since: Some(since),
                ..IncidentFilter::default()
            },
            PageRequest::new(PageRequest::MAX_LIMIT, None),
        )
        .await?;
    let (mut observations, alerts) = from_incidents(&state.assets, &incidents.items, since);
    if probe {
        // Heartbeat probes need the last event of each source; the server does not track
        // those yet, so they report "no event on record" — documented in docs/recovery.md.
        observations.extend(
            Prober::new()
                .run_all(&state.recovery.probes, &HashMap::new(), now)
                .await,
        );
    }
    let graph = DepGraph::from_model(&state.assets);
    let probeable = state
        .recovery
        .probes
        .iter()
        .filter_map(|p| graph.index_of(&p.asset))
        .collect();
    let mut diagnoser = Diagnoser::new(
        graph,
        prior::priors(&state.assets, &alerts),
        HsOptions {
            max_size,
            ..HsOptions::default()
        },
    )
    .expect("one prior per asset of the same model");
    diagnoser
        .observe_all(observations)
        .expect("alerts map to model assets and probes were checked against the model at load");
    Ok(Json(diagnoser.report(top, 3, Some(&probeable))))
}
