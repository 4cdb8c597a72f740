//! The published documentation of the wire types stays true: the JSON Schemas under
//! `docs/schema/` are what the types generate, and `docs/events.md` names every payload field.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::PathBuf;

use ensuresec_model::schema;
use serde_json::Value;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn check_schema(file: &str, generated: Value) {
    let path = docs().join("schema").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let published: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        published,
        generated,
        "{} is stale: regenerate it with `ensuresec schema …`",
        path.display()
    );
}

#[test]
fn published_schemas_match_the_types() {
    check_schema("event.schema.json", schema::event_schema());
    check_schema("alert.schema.json", schema::alert_schema());
    check_schema("incident.schema.json", schema::incident_schema());
}

#[test]
fn events_doc_names_every_payload_field() {
    let doc = std::fs::read_to_string(docs().join("events.md")).unwrap();
    let schema = schema::event_schema();
    let defs = schema["$defs"].as_object().unwrap();
    let mut checked = 0;
    for (name, def) in defs {
        let Some(props) = def["properties"].as_object() else {
            continue;
        };
        for field in props.keys() {
            assert!(
                doc.contains(&format!("`{field}`")),
                "docs/events.md lacks `{field}` of {name}"
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "only {checked} fields found in the schema");
}
