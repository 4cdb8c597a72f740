//! Request bodies whose types the `utoipa` annotations cannot name: events, the payment request,
//! CSP reports and the control endpoints' JSON bodies, from their Rust types' JSON Schemas
//! (schemars), so that the document states the fields, formats and bounds the server decodes
//! with.

use serde_json::{Value, json};

use super::schemas::{Schemas, json_content, operation};
use crate::routes;
use crate::routes::decisions::MAX_DECISIONS;

/// Sets the request bodies, keeping their types' schemas in `schemas`.
pub(super) fn attach(paths: &mut Value, schemas: &mut Schemas) {
    let event = schemas.of::<ensuresec_model::Event>();
    if let Some(events) = operation(paths, "/v1/events", "post") {
        // An empty body is an empty batch: taken, nothing stored.
        events["requestBody"]["required"] = json!(false);
        let content = &mut events["requestBody"]["content"];
        content["application/x-ndjson"]["schema"] = json!({
            "description": "One Event object per line",
            "type": "string",
        });
        content["application/json"] = json!({ "schema": { "type": "array", "items": event } });
    }

    if let Some(score) = operation(paths, "/v1/payments/score", "post") {
        score["requestBody"]["content"] =
            json_content(schemas.of::<ensuresec_fraud::PaymentRequest>());
    }

    // What browsers send: a report-uri report, or a Reporting API list of reports.
    let csp = json!({
        "application/csp-report": { "schema": {
            "type": "object",
            "required": ["csp-report"],
            "properties": { "csp-report": { "type": "object" } },
        }},
        "application/reports+json": { "schema": {
            "type": "array",
            "items": { "type": "object", "properties": {
                "type": { "type": "string" },
                "body": { "type": "object" },
            }},
        }},
    });

    if let Some(report) = operation(paths, "/v1/integrity/csp-report", "post") {
        report["requestBody"]["content"] = csp;
    }

    let decision = schemas.of::<ensuresec_respond::decision::NewDecision>();
    if let Some(add) = operation(paths, "/v1/decisions", "post") {
        add["requestBody"]["content"] = json_content(json!({
            "oneOf": [
                decision.clone(),
                { "type": "array", "items": decision, "maxItems": MAX_DECISIONS },
            ],
        }));
    }
    let control: [(&str, &str, Value); 6] = [
        (
            "/v1/identity/challenge",
            "post",
            schemas.of::<routes::identity::ChallengeRequest>(),
        ),
        (
            "/v1/identity/verify",
            "post",
            schemas.of::<routes::identity::VerifyRequest>(),
        ),
        (
            "/v1/failsafe",
            "put",
            schemas.of::<ensuresec_respond::failsafe::FailSafeState>(),
        ),
        (
            "/v1/incidents/{id}",
            "patch",
            schemas.of::<routes::response::StatusBody>(),
        ),
        (
            "/v1/recovery/runs",
            "post",
            schemas.of::<routes::recovery::StartBody>(),
        ),
        (
            "/v1/integrity/pages/authorizations",
            "post",
            schemas.of::<routes::integrity::AuthorizeBody>(),
        ),
    ];
    for (path, method, schema) in control {
        if let Some(op) = operation(paths, path, method) {
            op["requestBody"]["content"] = json_content(schema);
            op["requestBody"]["required"] = json!(true);
        }
    }
}
