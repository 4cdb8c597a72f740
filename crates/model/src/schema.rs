//! The published JSON Schemas of the wire types, generated from the Rust types so that they can
//! never drift (a test compares them with the copies under `docs/schema/`).

use serde_json::Value;

use crate::{Alert, Event, Incident};

/// JSON Schema (2020-12) of one event.
pub fn event_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Event)).unwrap_or(Value::Null)
}

/// JSON Schema (2020-12) of one alert.
pub fn alert_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Alert)).unwrap_or(Value::Null)
}

/// JSON Schema (2020-12) of one incident.
pub fn incident_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Incident)).unwrap_or(Value::Null)
}
