//! `GET /v1/assets`, `GET /v1/assets/{id}` and `GET /v1/assets/{id}/impact`: the asset model and
//! the cascade of an asset's compromise or outage.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ensuresec_assets::{Asset, Cascade, CascadeOptions};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::{Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;

/// The list answer.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AssetList {
    items: Vec<Asset>,
}

/// One asset with the assets that need it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AssetDetail {
    asset: Asset,
    dependents: Vec<String>,
}

#[utoipa::path(get, path = "/v1/assets", tag = "assets",
    responses(
        (status = 200, description = "Every asset of the model: {items}"),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// Lists the assets.
pub(crate) async fn list_assets(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Json<AssetList> {
    Json(AssetList {
        items: state.assets.assets().to_vec(),
    })
}

#[utoipa::path(get, path = "/v1/assets/{id}", tag = "assets",
    params(("id" = String, Path, description = "Asset id")),
    responses(
        (status = 200, description = "The asset and the ids of the assets that depend on it: {asset, dependents}"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// One asset.
pub(crate) async fn get_asset(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
) -> Result<Json<AssetDetail>, ApiError> {
    let model = &state.assets;
    let index = model
        .index_of(&id)
        .ok_or_else(|| ApiError::NotFound(format!("asset {id}")))?;
    Ok(Json(AssetDetail {
        asset: model.assets()[index].clone(),
        dependents: model.dependents(index).map(str::to_owned).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/assets/{id}/impact", tag = "assets",
    params(
        ("id" = String, Path, description = "Asset id"),
        ("min_impact" = Option<f64>, Query, description = "Ignore effects weaker than this share of an outage, 0 to 1 (default 0.05)"),
    ),
    responses(
        (status = 200, description = "The cascade: {origin, affected: [{id, parent, via, depth, impact, delay_minutes, business_impact_per_hour}], business_impact_per_hour}"),
        (status = 400, description = "A parameter is bad", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// What a compromise or outage of the asset affects, through which path, how soon and at what cost.
pub(crate) async fn impact(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Cascade>, ApiError> {
    let p = Params::parse(query.as_deref(), &["min_impact"])?;
    let mut options = CascadeOptions::default();
    if let Some(min) = p.parsed::<f64>("min_impact")? {
        if !(0.0..=1.0).contains(&min) {
            return Err(ApiError::BadParam {
                param: "min_impact".into(),
                message: "must be between 0 and 1".into(),
            });
        }
        options.min_impact = min;
    }
    state
        .assets
        .cascade(&id, options)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("asset {id}")))
}
