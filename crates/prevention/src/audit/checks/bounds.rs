//! Unbounded inputs (API4): strings without `maxLength`, arrays without `maxItems`, numbers
//! without `minimum` and `maximum`, in parameters and request bodies. Responses are not inputs
//! and are not reported.

use serde_json::Value;

use crate::audit::Sink;
use crate::audit::model::{self, Node, Operation};
use crate::spec::Loc;

/// Every input schema of an operation, with the name it is known by.
pub(super) fn inputs(op: &Operation<'_>, spec: &crate::spec::Spec) -> Vec<(Loc, String)> {
    let mut out: Vec<(Loc, String)> = op
        .params
        .iter()
        .filter_map(|(loc, p)| {
            let name = p.get("name")?.as_str()?;
            Some((model::param_schema(loc, p)?, format!("parameter `{name}`")))
        })
        .collect();
    out.extend(
        model::request_schemas(spec, op)
            .into_iter()
            .map(|l| (l, "request body".to_string())),
    );
    out
}

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    for op in ops {
        for (schema, what) in inputs(op, spec) {
            let mut hits: Vec<(&'static str, Loc, String)> = Vec::new();
            model::walk(spec, schema, |node| {
                if node.flag("readOnly")
                    || node.value.get("enum").is_some()
                    || node.value.get("const").is_some()
                {
                    return;
                }
                let label = node
                    .property
                    .as_ref()
                    .map_or_else(|| what.clone(), |p| format!("field `{p}` of the {what}"));
                if let Some(hit) = unbounded(node, &sink.rules.params.bounded_formats) {
                    hits.push((
                        hit.0,
                        node.loc.clone(),
                        format!("{label} of {}: {}", op.name(), hit.1),
                    ));
                }
            });
            for (rule, loc, message) in hits {
                sink.report(rule, &loc, message);
            }
        }
    }
}

fn unbounded(
    node: &Node<'_>,
    bounded_formats: &std::collections::HashSet<String>,
) -> Option<(&'static str, String)> {
    let v = node.value;
    if node.has_type("string") {
        let format = v
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        if v.get("maxLength").is_none() && !bounded_formats.contains(&format) {
            return Some(("unbounded-string", "a string without maxLength".into()));
        }
    } else if node.has_type("array") {
        if v.get("maxItems").is_none() {
            return Some(("unbounded-array", "an array without maxItems".into()));
        }
    } else if node.has_type("integer") || node.has_type("number") {
        let has = |plain: &str, exclusive: &str| {
            v.get(plain).is_some() || v.get(exclusive).is_some_and(Value::is_number)
        };
        let missing: Vec<&str> = [
            ("minimum", "exclusiveMinimum"),
            ("maximum", "exclusiveMaximum"),
        ]
        .iter()
        .filter(|(p, e)| !has(p, e))
        .map(|(p, _)| *p)
        .collect();
        if !missing.is_empty() {
            return Some((
                "unbounded-number",
                format!("a number without {}", missing.join(" and ")),
            ));
        }
    }
    None
}
