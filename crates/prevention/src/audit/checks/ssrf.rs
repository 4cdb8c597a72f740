//! Server-side request forgery (API7): inputs that take URLs, by format or by name, in
//! parameters and in request bodies alike (a webhook URL is usually a body field).

use serde_json::Value;

use crate::audit::Sink;
use crate::audit::model::{self, Operation};
use crate::audit::ruleset::normalise;
use crate::spec::Loc;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    let p = &sink.rules.params;
    let mut hits: Vec<(Loc, String)> = Vec::new();
    for op in ops {
        for (schema, what) in super::bounds::inputs(op, spec) {
            // A parameter is named by the parameter, a body field by its property.
            let param_name = what
                .strip_prefix("parameter `")
                .and_then(|s| s.strip_suffix('`'))
                .map(String::from);
            model::walk(spec, schema, |node| {
                if !node.has_type("string") && node.value.get("format").is_none() {
                    return;
                }
                if node.value.get("enum").is_some()
                    || node.value.get("const").is_some()
                    || node.value.get("pattern").is_some()
                {
                    return;
                }
                let name = node
                    .property
                    .clone()
                    .or_else(|| param_name.clone())
                    .unwrap_or_default();
                let format = node
                    .value
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase();
                let n = normalise(&name);
                let by_name =
                    !n.is_empty() && p.url_name_suffixes.iter().any(|s| n.ends_with(s.as_str()));
                if p.url_formats.contains(&format) || by_name {
                    let label = match &node.property {
                        Some(prop) => format!("field `{prop}` of the {what}"),
                        None => what.clone(),
                    };
                    hits.push((
                        node.loc.clone(),
                        format!("{label} of {} takes a URL", op.name()),
                    ));
                }
            });
        }
    }
    for (loc, message) in hits {
        sink.report("ssrf-url-input", &loc, message);
    }
}
