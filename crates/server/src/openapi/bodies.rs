//! Request and response bodies whose types the `utoipa` annotations cannot name: the model's
//! wire types, the payment request and its assessment, and the control endpoints' JSON bodies,
//! all from their Rust types' JSON Schemas (schemars), so that the document states the fields,
//! formats and bounds the server decodes with.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

use crate::routes;
use crate::routes::decisions::MAX_DECISIONS;

/// The schemas of every type a body uses, as `#/components/schemas/<name>` references.
pub(super) struct Schemas {
    generator: SchemaGenerator,
}

impl Schemas {
    fn new() -> Schemas {
        let mut settings = SchemaSettings::draft2020_12();
        settings.definitions_path = "/components/schemas".into();
        Schemas {
            generator: settings.into_generator(),
        }
    }

    /// A reference to `T`'s schema, which is kept for the document's components.
    pub(super) fn of<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }
}

/// JSON content of `schema`.
pub(super) fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// Sets the bodies and adds their types' schemas to the document's components.
pub(super) fn attach(doc: &mut Value) {
    let mut schemas = Schemas::new();
    let paths = &mut doc["paths"];

    let event = schemas.of::<ensuresec_model::Event>();
    // An empty body is an empty batch: taken, nothing stored.
    paths["/v1/events"]["post"]["requestBody"]["required"] = json!(false);
    let events = &mut paths["/v1/events"]["post"]["requestBody"]["content"];
    events["application/x-ndjson"]["schema"] = json!({
        "description": "One Event object per line",
        "type": "string",
    });
    events["application/json"] = json!({ "schema": { "type": "array", "items": event } });

    let page = |item: Value| {
        json_content(json!({
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": { "type": "array", "items": item },
                "next_cursor": { "type": ["integer", "null"], "minimum": 0 },
            },
        }))
    };
    let (alert, incident) = (
        schemas.of::<ensuresec_model::Alert>(),
        schemas.of::<ensuresec_model::Incident>(),
    );
    // `format=ocsf` answers OCSF 1.3 Detection Findings instead of ensuresec alerts.
    let finding = json!({
        "type": "object",
        "description": "With `format=ocsf`: an OCSF 1.3 Detection Finding",
        "required": ["class_uid"],
        "properties": { "class_uid": { "const": 2004 } },
    });
    paths["/v1/alerts"]["get"]["responses"]["200"]["content"] =
        page(json!({ "anyOf": [alert.clone(), finding] }));
    paths["/v1/incidents"]["get"]["responses"]["200"]["content"] = page(incident.clone());
    paths["/v1/incidents/{id}"]["get"]["responses"]["200"]["content"] = json_content(json!({
        "type": "object",
        "required": ["incident", "alerts", "actions"],
        "properties": {
            "incident": incident,
            "alerts": { "type": "array", "items": alert },
            "actions": { "type": "array", "items": schemas.of::<ensuresec_model::Action>() },
        },
    }));

    let score = &mut paths["/v1/payments/score"]["post"];
    score["requestBody"]["content"] = json_content(schemas.of::<ensuresec_fraud::PaymentRequest>());
    score["responses"]["200"]["content"] =
        json_content(schemas.of::<ensuresec_fraud::Assessment>());

    // What browsers send: a report-uri report, or a Reporting API list of reports.
    paths["/v1/integrity/csp-report"]["post"]["requestBody"]["content"] = json!({
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

    let decision = schemas.of::<ensuresec_respond::decision::NewDecision>();
    paths["/v1/decisions"]["post"]["requestBody"]["content"] = json_content(json!({
        "oneOf": [
            decision.clone(),
            { "type": "array", "items": decision, "maxItems": MAX_DECISIONS },
        ],
    }));
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
        let body = &mut paths[path][method]["requestBody"];
        body["content"] = json_content(schema);
        body["required"] = json!(true);
    }

    super::answers::attach(&mut doc["paths"], &mut schemas);
    if let Some(components) = doc["components"]["schemas"].as_object_mut() {
        components.extend(schemas.generator.take_definitions(true));
    }
}
