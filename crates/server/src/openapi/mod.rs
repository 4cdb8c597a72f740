//! The OpenAPI 3.1 document: paths from the handlers' `utoipa` annotations, and the wire types'
//! schemas from the Rust types' JSON Schemas (one source of truth: the Rust types), then the
//! bodies, parameter bounds and error answers the annotations cannot say (see the submodules).
//! The document is checked against the running server by the API conformance test
//! (`tests/api`), so what it promises is what the server does.

mod answers;
mod bodies;
mod parameters;
mod responses;
mod schemas;

use std::sync::OnceLock;

use serde_json::{Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ensuresec",
        description = "Security platform for e-commerce: ingest events, read alerts and incidents, and prove them with the tamper-evident audit log.",
        license(name = "Apache-2.0"),
    ),
    paths(
        routes::events::post_events,
        routes::payments::score,
        routes::payments::status,
        routes::identity::challenge,
        routes::identity::verify,
        routes::alerts::list_alerts,
        routes::incidents::list_incidents,
        routes::incidents::get_incident,
        routes::response::set_status,
        routes::response::steps,
        routes::response::approve,
        routes::response::reject,
        routes::response::approvals,
        routes::response::dead_letters,
        routes::response::replay,
        routes::response::get_failsafe,
        routes::response::put_failsafe,
        routes::response::breach_draft,
        routes::decisions::stream,
        routes::decisions::query,
        routes::decisions::list_all,
        routes::decisions::add,
        routes::decisions::revoke,
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        routes::meta::openapi,
        routes::meta::schema,
        routes::stream::stream,
        routes::assets::list_assets,
        routes::assets::get_asset,
        routes::assets::impact,
        routes::diagnosis::diagnosis,
        routes::recovery::plan,
        routes::recovery::start,
        routes::recovery::latest,
        routes::ledger::checkpoint,
        routes::ledger::cosigned,
        routes::ledger::publish,
        routes::ledger::key,
        routes::ledger::tile,
        routes::ledger::inclusion,
        routes::ledger::consistency,
        routes::ledger::entries,
        routes::ledger::receipt,
        routes::ledger::alert_receipt,
        routes::ledger::incident_receipt,
        routes::integrity::csp_report,
        routes::integrity::list_pages,
        routes::integrity::authorize_script,
        routes::integrity::revoke_script,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail, routes::events::IngestResponse, routes::ledger::ProofBody, routes::ledger::EntryBody)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                    utoipa::openapi::security::ApiKeyValue::new("X-Api-Key"),
                )),
            );
        }
    }
}

/// The document, built once.
pub(crate) fn document() -> Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build).clone()
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    let mut schemas = schemas::Schemas::new();
    bodies::attach(&mut doc["paths"], &mut schemas);
    answers::attach(&mut doc["paths"], &mut schemas);
    schemas.into_components(&mut doc);
    parameters::constrain(&mut doc);
    responses::add_common(&mut doc);
    doc
}
