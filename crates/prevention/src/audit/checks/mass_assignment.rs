//! Mass assignment (API3): request bodies that let clients set privileged or price-like
//! properties, and open request bodies for resources whose responses carry such properties.

use std::collections::BTreeSet;

use crate::audit::Sink;
use crate::audit::model::{self, Operation};
use crate::audit::ruleset::normalise;
use crate::spec::Loc;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    let privileged = sink.rules.params.privileged_fields.clone();
    let min_shared = sink.rules.params.open_body_min_shared;

    // Response objects that carry a privileged property: (privileged name, other names).
    let mut resources: Vec<(String, BTreeSet<String>)> = Vec::new();
    for op in ops {
        for response in model::responses(spec, op).iter().filter(|r| r.is_success()) {
            for schema in response.schemas() {
                model::walk(spec, schema, |node| {
                    let props = model::object_properties(spec, node.loc.clone());
                    let names: BTreeSet<String> = props.iter().map(|(n, _)| normalise(n)).collect();
                    if let Some(p) = names.iter().find(|n| privileged.contains(*n)) {
                        let others = names
                            .iter()
                            .filter(|n| !privileged.contains(*n))
                            .cloned()
                            .collect();
                        resources.push((p.clone(), others));
                    }
                });
            }
        }
    }

    for op in ops.iter().filter(|o| o.is_write()) {
        for schema in model::request_schemas(spec, op) {
            let mut writable: Vec<(Loc, String)> = Vec::new();
            model::walk(spec, schema.clone(), |node| {
                if let Some(name) = &node.property
                    && privileged.contains(&normalise(name))
                    && !node.flag("readOnly")
                {
                    writable.push((node.loc.clone(), name.clone()));
                }
            });
            for (loc, name) in writable {
                sink.report(
                    "mass-assignment-writable-sensitive",
                    &loc,
                    format!(
                        "the request body of {} lets the client set `{name}`",
                        op.name()
                    ),
                );
            }
            if sink.rules.params.session_paths.is_match(&op.path) {
                continue;
            }
            let Some((body_loc, body)) = spec.follow(schema) else {
                continue;
            };
            if body.get("properties").is_none() && body.get("allOf").is_none() {
                continue;
            }
            if model::is_closed(spec, body_loc.clone()) {
                continue;
            }
            let names: BTreeSet<String> = model::object_properties(spec, body_loc.clone())
                .iter()
                .map(|(n, _)| normalise(n))
                .collect();
            let matching = resources
                .iter()
                .filter(|(p, others)| {
                    !names.contains(p) && others.intersection(&names).count() >= min_shared
                })
                .map(|(p, _)| p.clone())
                .collect::<BTreeSet<_>>();
            if let Some(p) = matching.iter().next() {
                sink.report(
                    "mass-assignment-open-body",
                    &body_loc,
                    format!(
                        "the request body of {} accepts undeclared properties, and the same resource \
                         carries `{p}` in responses",
                        op.name()
                    ),
                );
            }
        }
    }
}
