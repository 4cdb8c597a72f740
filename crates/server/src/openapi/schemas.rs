//! What the body and answer modules share: the generator of the Rust types' JSON Schemas, the
//! JSON content of a schema, and the lookup of an operation that only finds what exists.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

/// The schemas of every type a body or an answer uses, as `#/components/schemas/<name>`
/// references; [`Schemas::into_components`] adds them to the document.
pub(super) struct Schemas {
    generator: SchemaGenerator,
}

impl Schemas {
    pub(super) fn new() -> Schemas {
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

    /// Adds every schema referred to to the document's components.
    pub(super) fn into_components(mut self, doc: &mut Value) {
        if let Some(components) = doc["components"]["schemas"].as_object_mut() {
            components.extend(self.generator.take_definitions(true));
        }
    }
}

/// JSON content of `schema`.
pub(super) fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// Operation `method` of `path`, when the annotations declare it. Indexing would add a path of
/// its own for a mistyped name; this finds nothing instead, and the real operation, left without
/// what was meant for it, fails the end-to-end test that every answer has its content.
pub(super) fn operation<'a>(
    paths: &'a mut Value,
    path: &str,
    method: &str,
) -> Option<&'a mut Value> {
    paths.get_mut(path)?.get_mut(method)
}
