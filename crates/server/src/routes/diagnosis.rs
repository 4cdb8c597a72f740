//! `GET /v1/diagnosis`: what is actually broken — candidate root causes from the open incidents
//! mapped to assets and, when configured, live health probes (crates/recovery, docs/recovery.md).

use axum::Json;
use axum::extract::{RawQuery, State};
use ensuresec_recovery::DiagnosisReport;

use crate::app::AppState;
use crate::auth::{Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::recovery::{DiagnoseOptions, diagnose};

/// Largest `max_size` a caller may ask for (the search grows fast with it).
pub(crate) const MAX_SIZE: usize = 5;
/// Most candidates returned.
pub(crate) const MAX_TOP: usize = 50;

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

/// The `probe`, `max_size` and `top` parameters, checked; shared with `/v1/recovery/plan`.
pub(crate) fn options(query: Option<&str>) -> Result<DiagnoseOptions, ApiError> {
    let p = Params::parse(query, &["probe", "max_size", "top"])?;
    let defaults = DiagnoseOptions::default();
    Ok(DiagnoseOptions {
        probe: p.parsed::<bool>("probe")?.unwrap_or(defaults.probe),
        max_size: bounded(&p, "max_size", defaults.max_size, MAX_SIZE)?,
        top: bounded(&p, "top", defaults.top, MAX_TOP)?,
    })
}

#[utoipa::path(get, path = "/v1/diagnosis", tag = "assets",
    params(
        ("probe" = Option<bool>, Query, description = "Run the configured health probes now (default true); heartbeat probes use the last event of each source"),
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
    let options = options(query.as_deref())?;
    Ok(Json(diagnose(&state, options).await?.diagnosis))
}
