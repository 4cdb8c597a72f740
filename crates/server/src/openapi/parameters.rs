//! The values each parameter takes, as the handlers check them: enumerations, ranges and
//! patterns that the `utoipa` annotations give only in words. A client generated from the
//! document then refuses what the server would refuse, and a schema-driven test (the API
//! conformance test) knows which values the server must take.

use ensuresec_model::EntityKind;
use ensuresec_respond::decision::DecisionScope;
use ensuresec_store::PageRequest;
use serde_json::{Value, json};

use crate::batch_key;
use crate::params::MAX_ID;
use crate::routes::{diagnosis, ledger};

const RECEIPT_FORMATS: [&str; 2] = ["json", "tlog-proof"];

/// A C2SP tlog-tiles path below `tile/`: a level (0 to 63) or `entries`, an index in groups of
/// three digits (at most six groups, so that it fits 64 bits), and an optional partial width.
const TILE_PATH: &str = "^(entries|[0-9]|[1-5][0-9]|6[0-3])/(x[0-9]{3}/){0,5}[0-9]{3}\
                         (\\.p/([1-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$";

/// The schema of a type the document's components hold (the model's and the bodies' types).
fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `kinds` as a regular-expression alternation.
fn alternation<T: Copy>(kinds: &[T], name: fn(T) -> &'static str) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| name(*k)).collect();
    format!("({})", names.join("|"))
}

/// What parameter `name` of the operations at `path` takes, where the annotation cannot say it.
fn schema_for(path: &str, name: &str) -> Option<Value> {
    let page = PageRequest::MAX_LIMIT;
    let schema = match (path, name) {
        ("/v1/alerts" | "/v1/incidents", "severity") => component("Severity"),
        ("/v1/incidents", "status") => component("IncidentStatus"),
        ("/v1/alerts" | "/v1/incidents", "limit") => {
            json!({ "type": "integer", "minimum": 1, "maximum": page })
        }
        ("/v1/ledger/entries", "limit") => {
            json!({ "type": "integer", "minimum": 1, "maximum": ledger::MAX_ENTRIES })
        }
        ("/v1/alerts", "format") => json!({ "type": "string", "enum": ["ensuresec", "ocsf"] }),
        ("/v1/decisions", "scope") => component("DecisionScope"),
        ("/v1/decisions/stream", "scopes") => {
            let scope = alternation(&DecisionScope::ALL, DecisionScope::as_str);
            json!({ "type": "string", "pattern": format!("^ *{scope} *(, *{scope} *)*$") })
        }
        ("/v1/alerts" | "/v1/incidents", "since" | "until") => {
            json!({ "type": "string", "format": "date-time" })
        }
        ("/v1/alerts" | "/v1/incidents", "entity") => {
            let kind = alternation(&EntityKind::ALL, EntityKind::as_str);
            json!({ "type": "string", "pattern": format!("^{kind}:") })
        }
        // Page sizes these two clamp to their range: any count is taken.
        ("/v1/deadletters" | "/v1/decisions/all", "limit") => {
            json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX })
        }
        ("/v1/diagnosis" | "/v1/recovery/plan", "max_size") => {
            json!({ "type": "integer", "minimum": 1, "maximum": diagnosis::MAX_SIZE })
        }
        ("/v1/diagnosis" | "/v1/recovery/plan", "top") => {
            json!({ "type": "integer", "minimum": 1, "maximum": diagnosis::MAX_TOP })
        }
        ("/v1/assets/{id}/impact", "min_impact") => {
            json!({ "type": "number", "minimum": 0, "maximum": 1 })
        }
        ("/v1/ledger/proof/consistency", "old") => {
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_ID })
        }
        (p, "format") if p.starts_with("/v1/ledger/receipt/") => {
            json!({ "type": "string", "enum": RECEIPT_FORMATS })
        }
        ("/v1/schema/{name}", "name") => {
            json!({ "type": "string", "enum": ["event.json", "alert.json", "incident.json"] })
        }
        ("/v1/ledger/tile/{path}", "path") => json!({ "type": "string", "pattern": TILE_PATH }),
        ("/v1/events", batch_key::HEADER) => json!({
            "type": "string",
            "pattern": format!("^[!#-~]{{1,{}}}$", batch_key::MAX_BYTES),
        }),
        _ => return None,
    };
    Some(schema)
}

/// Bounds every parameter: the ones [`schema_for`] names get its schema; other integers that
/// are ids, indexes or cursors get the largest value the store holds.
pub(super) fn constrain(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, operations) in paths {
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            // `get_mut`, not indexing: indexing would add `parameters: null` where none are.
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for parameter in parameters {
                let name = parameter["name"].as_str().unwrap_or_default();
                if let Some(schema) = schema_for(path, name) {
                    parameter["schema"] = schema;
                } else if parameter["schema"]["format"] == "int64" {
                    parameter["schema"]["maximum"] = json!(MAX_ID);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_tile_pattern_takes_the_servers_paths_and_no_others() {
        let re = regex_lite(TILE_PATH);
        for ok in [
            "0/000",
            "63/x001/234.p/7",
            "entries/x999/000.p/255",
            "12/001",
        ] {
            assert!(re(ok), "{ok}");
            let parsed = ensuresec_auditlog::tiles::TilePath::parse(&format!("tile/{ok}"));
            assert!(parsed.is_some(), "the server takes {ok}");
        }
        for bad in [
            "0",
            "64/000",
            "0/00",
            "0/000.p/256",
            "0/000.p/0",
            "x/000",
            "0/x00/000",
        ] {
            assert!(!re(bad), "{bad}");
        }
    }

    /// The pattern as a matcher (the document's patterns are ECMA-262; these use nothing
    /// beyond what the `regex` crate reads the same way).
    fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
        let re = regex::Regex::new(pattern).unwrap();
        move |s| re.is_match(s)
    }
}
