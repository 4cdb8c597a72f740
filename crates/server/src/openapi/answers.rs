//! What operations answer when they succeed, where the handler builds the answer from a type
//! the `utoipa` annotations cannot name (pages of alerts and incidents, an incident with its
//! alerts and actions, a payment's assessment, steps, dead letters and decisions of the response
//! crate, the fail-safe switch, breach drafts, script authorisations, receipts, assets and their
//! cascades, diagnoses and recovery runs, the scorer's status, a checkpoint's publication) or as
//! JSON written in place (the age-verification answers, the pages' inventories), and the media
//! types of the answers in text: a client generated from the document gets typed answers, and
//! the API conformance test checks every answer's body against its schema.

use ensuresec_integrity::pages::authz::Authorization;
use ensuresec_respond::breach::BreachDraft;
use ensuresec_respond::db::{Delivery, StepRow};
use ensuresec_respond::decision::{CsDecision, Decision};
use ensuresec_respond::failsafe::FailSafeState;
use serde_json::{Value, json};

use super::schemas::{Schemas, json_content, operation};
use crate::routes;

/// `{items: [item], next_cursor}`: one page of a list, and where the next one starts.
fn page(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": { "type": "array", "items": item },
            "next_cursor": { "type": ["integer", "null"], "minimum": 0 },
        },
    })
}

/// `{items: [item]}`: a whole list, without a cursor.
fn items(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": { "items": { "type": "array", "items": item } },
    })
}

/// An object with one required property `name` of schema `value`.
fn one(name: &str, value: Value) -> Value {
    json!({ "type": "object", "required": [name], "properties": { name: value } })
}

/// The answer to `POST /v1/identity/challenge`: what the wallet is asked for.
fn challenge() -> Value {
    json!({
        "type": "object",
        "required": ["order_id", "nonce", "audience", "expires_at", "min_age", "request"],
        "properties": {
            "order_id": { "type": "string" },
            "nonce": { "type": "string" },
            "audience": { "type": "string" },
            "expires_at": { "type": ["string", "null"], "format": "date-time" },
            "min_age": { "type": "integer", "minimum": 0 },
            "request": {
                "type": "object",
                "description": "An OpenID4VP-style authorisation request with a DCQL query",
                "required": ["response_type", "nonce", "dcql_query"],
            },
        },
    })
}

/// The answer to an accepted presentation: the age predicate and nothing else about the holder.
fn accepted() -> Value {
    json!({
        "type": "object",
        "required": ["order_id", "issuer"],
        "properties": {
            "order_id": { "type": "string" },
            "issuer": { "type": "string" },
        },
        "patternProperties": { "^age_over_[0-9]+$": { "const": true } },
        "additionalProperties": false,
    })
}

/// The answer to a refused presentation: the predicate false, and the check that failed.
fn refused() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                },
            },
        },
        "patternProperties": { "^age_over_[0-9]+$": { "const": false } },
        "additionalProperties": false,
    })
}

/// The answer to `GET /v1/integrity/pages`: each page's last inventory, each script with its
/// authorisation, and every authorisation.
fn pages(authorization: Value) -> Value {
    let script = json!({
        "type": "object",
        "required": ["script", "script_info", "authorized", "authorization"],
        "properties": {
            "script": { "type": "string", "description": "Its URL, or inline:<sha256>" },
            "script_info": { "type": "object" },
            "authorized": { "type": "boolean" },
            "authorization": { "anyOf": [authorization.clone(), { "type": "null" }] },
        },
    });
    let page = json!({
        "type": "object",
        "required": ["url", "fetched", "status", "content_sha256", "scripts", "iframes", "forms",
                     "headers"],
        "properties": {
            "url": { "type": "string" },
            "fetched": { "type": "string", "format": "date-time" },
            "status": { "type": "integer" },
            "content_sha256": { "type": "string" },
            "scripts": { "type": "array", "items": script },
            "iframes": { "type": "array" },
            "forms": { "type": "array" },
            "headers": { "type": "object" },
        },
    });
    json!({
        "type": "object",
        "required": ["items", "authorizations"],
        "properties": {
            "items": { "type": "array", "items": page },
            "authorizations": { "type": "array", "items": authorization },
        },
    })
}

/// Sets the content of answer `status` of operation `method path`, when the operation exists.
fn set(paths: &mut Value, path: &str, method: &str, status: &str, content: Value) {
    if let Some(op) = operation(paths, path, method) {
        op["responses"][status]["content"] = content;
    }
}

/// Sets the success answers' content of the operations this module knows.
pub(super) fn attach(paths: &mut Value, schemas: &mut Schemas) {
    let alert = schemas.of::<ensuresec_model::Alert>();
    let incident = schemas.of::<ensuresec_model::Incident>();
    // `format=ocsf` answers OCSF 1.3 Detection Findings instead of ensuresec alerts.
    let finding = json!({
        "type": "object",
        "description": "With `format=ocsf`: an OCSF 1.3 Detection Finding",
        "required": ["class_uid"],
        "properties": { "class_uid": { "const": 2004 } },
    });
    let incident_detail = json!({
        "type": "object",
        "required": ["incident", "alerts", "actions"],
        "properties": {
            "incident": incident.clone(),
            "alerts": { "type": "array", "items": alert.clone() },
            "actions": { "type": "array", "items": schemas.of::<ensuresec_model::Action>() },
        },
    });
    let step = schemas.of::<StepRow>();
    let decision = schemas.of::<Decision>();
    let bouncer = schemas.of::<CsDecision>();
    let bouncer_list = json!({ "type": ["array", "null"], "items": bouncer });
    let failsafe = schemas.of::<FailSafeState>();
    let authorization = schemas.of::<Authorization>();
    let run = schemas.of::<crate::recovery::Run>();
    let answers: [(&str, &str, &str, Value); 34] = [
        (
            "/v1/alerts",
            "get",
            "200",
            page(json!({ "anyOf": [alert, finding] })),
        ),
        ("/v1/incidents", "get", "200", page(incident.clone())),
        ("/v1/incidents/{id}", "get", "200", incident_detail),
        (
            "/v1/payments/score",
            "post",
            "200",
            schemas.of::<ensuresec_fraud::Assessment>(),
        ),
        (
            "/v1/incidents/{id}/steps",
            "get",
            "200",
            items(step.clone()),
        ),
        ("/v1/approvals", "get", "200", items(step.clone())),
        (
            "/v1/incidents/{id}/steps/{step}/approve",
            "post",
            "200",
            step.clone(),
        ),
        (
            "/v1/incidents/{id}/steps/{step}/reject",
            "post",
            "200",
            step,
        ),
        (
            "/v1/deadletters",
            "get",
            "200",
            items(schemas.of::<Delivery>()),
        ),
        (
            "/v1/deadletters/{id}/replay",
            "post",
            "200",
            one("replayed", json!({ "type": "integer", "minimum": 1 })),
        ),
        ("/v1/failsafe", "get", "200", failsafe.clone()),
        ("/v1/failsafe", "put", "200", failsafe),
        ("/v1/incidents/{id}", "patch", "200", incident),
        (
            "/v1/incidents/{id}/breach-draft",
            "get",
            "200",
            schemas.of::<BreachDraft>(),
        ),
        ("/v1/decisions", "get", "200", bouncer_list.clone()),
        ("/v1/decisions", "post", "200", items(decision.clone())),
        ("/v1/decisions/all", "get", "200", items(decision.clone())),
        ("/v1/decisions/{id}", "delete", "200", decision),
        (
            "/v1/decisions/stream",
            "get",
            "200",
            json!({
                "type": "object",
                "required": ["new", "deleted"],
                "properties": { "new": bouncer_list.clone(), "deleted": bouncer_list },
            }),
        ),
        ("/v1/identity/challenge", "post", "200", challenge()),
        ("/v1/identity/verify", "post", "200", accepted()),
        ("/v1/identity/verify", "post", "422", refused()),
        (
            "/v1/integrity/pages/authorizations",
            "post",
            "200",
            authorization.clone(),
        ),
        (
            "/v1/integrity/pages/authorizations",
            "delete",
            "200",
            one("revoked", json!({ "type": "string" })),
        ),
        ("/v1/integrity/pages", "get", "200", pages(authorization)),
        (
            "/v1/assets",
            "get",
            "200",
            schemas.of::<routes::assets::AssetList>(),
        ),
        (
            "/v1/assets/{id}",
            "get",
            "200",
            schemas.of::<routes::assets::AssetDetail>(),
        ),
        (
            "/v1/assets/{id}/impact",
            "get",
            "200",
            schemas.of::<ensuresec_assets::Cascade>(),
        ),
        (
            "/v1/diagnosis",
            "get",
            "200",
            schemas.of::<ensuresec_recovery::DiagnosisReport>(),
        ),
        (
            "/v1/recovery/plan",
            "get",
            "200",
            schemas.of::<ensuresec_recovery::assess::Assessment>(),
        ),
        ("/v1/recovery/runs", "post", "202", run.clone()),
        ("/v1/recovery/runs/latest", "get", "200", run),
        (
            "/v1/payments/status",
            "get",
            "200",
            schemas.of::<routes::payments::PaymentsStatus>(),
        ),
        (
            "/v1/ledger/checkpoint",
            "post",
            "200",
            schemas.of::<crate::ledger::Publication>(),
        ),
    ];
    for (path, method, status, schema) in answers {
        set(paths, path, method, status, json_content(schema));
    }
    // Text: the probes, the metrics, and the audit log's signed notes and keys.
    let text = json!({ "text/plain": { "schema": { "type": "string" } } });
    for (path, status) in [
        ("/healthz", "200"),
        ("/readyz", "200"),
        ("/readyz", "503"),
        ("/metrics", "200"),
        ("/v1/ledger/checkpoint", "200"),
        ("/v1/ledger/checkpoint/cosigned", "200"),
        ("/v1/ledger/key", "200"),
    ] {
        set(paths, path, "get", status, text.clone());
    }
    let events = json!({ "text/event-stream": { "schema": { "type": "string" } } });
    set(paths, "/v1/stream", "get", "200", events);
    // Receipts: JSON by default, a C2SP tlog-proof in text with `format=tlog-proof`.
    let receipt = json!({
        "application/json": { "schema": schemas.of::<ensuresec_auditlog::receipt::Receipt>() },
        "text/plain": { "schema": { "type": "string" } },
    });
    for path in [
        "/v1/ledger/receipt/{index}",
        "/v1/ledger/receipt/alert/{id}",
        "/v1/ledger/receipt/incident/{id}",
    ] {
        set(paths, path, "get", "200", receipt.clone());
    }
    // Documents: JSON Schemas and this very document.
    for path in ["/v1/schema/{name}", "/v1/openapi.json"] {
        set(
            paths,
            path,
            "get",
            "200",
            json_content(json!({ "type": "object" })),
        );
    }
}
