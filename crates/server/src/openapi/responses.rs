//! The error answers every operation can give besides its own: what authentication, parameters,
//! bodies and the store make possible. Written once here rather than in each annotation, so
//! that no operation's list misses one and a client generated from the document expects them.

use serde_json::{Map, Value, json};

/// An answer with the API's error body.
fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": {
            "$ref": "#/components/schemas/ErrorBody"
        }}},
    })
}

/// Adds `status` to `responses` unless the operation describes it itself.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses
        .entry(status)
        .or_insert_with(|| error(description));
}

/// Adds the common error answers to every operation.
pub(super) fn add_common(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for operations in paths.values_mut() {
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            let has_body = operation.get("requestBody").is_some();
            let has_parameters = operation["parameters"]
                .as_array()
                .is_some_and(|p| !p.is_empty());
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if has_parameters || has_body {
                add(
                    responses,
                    "400",
                    "A parameter or the body is invalid; `field` names it",
                );
            }
            if secured {
                add(responses, "401", "No valid token");
                add(responses, "403", "The token lacks the scope this needs");
                // The token table itself lives in the store.
                add(
                    responses,
                    "503",
                    "The store or the audit log is unavailable just now; try again",
                );
            }
            if has_body {
                add(
                    responses,
                    "413",
                    "The body is over its limit; `limit` gives it",
                );
                add(
                    responses,
                    "415",
                    "The body's content type is not one this takes",
                );
            }
        }
    }
}
