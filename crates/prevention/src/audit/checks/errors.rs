//! Error responses (API8): every operation declares its errors, and the errors share one format
//! (the format most error responses of the API use).

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::Sink;
use crate::audit::model::{self, Operation};
use crate::spec::Loc;

/// The shape of an error body: its top-level property names, or none without a body schema.
type Shape = Option<BTreeSet<String>>;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    let mut errors: Vec<(Loc, String, Shape)> = Vec::new();
    for op in ops {
        let responses = model::responses(spec, op);
        if !responses.iter().any(model::Response::is_error) {
            let at = if op.value.get("responses").is_some() {
                op.loc.child("responses")
            } else {
                op.loc.clone()
            };
            sink.report(
                "errors-none-declared",
                &at,
                format!("{} declares no error response", op.name()),
            );
        }
        for r in responses.iter().filter(|r| r.is_error()) {
            let shape = r.schemas().first().map(|s| {
                model::object_properties(spec, s.clone())
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect::<BTreeSet<_>>()
            });
            errors.push((
                r.loc.clone(),
                format!("response {} of {}", r.code, op.name()),
                shape,
            ));
        }
    }
    let mut counts: BTreeMap<&Shape, usize> = BTreeMap::new();
    for (_, _, shape) in &errors {
        *counts.entry(shape).or_default() += 1;
    }
    // The API's error format: the most common shape with a body, if a majority of errors use it.
    let Some((common, n)) = counts
        .iter()
        .filter(|(s, _)| s.is_some())
        .max_by_key(|(_, n)| **n)
        .map(|(s, n)| ((*s).clone(), *n))
    else {
        return;
    };
    if n * 2 <= errors.len() {
        return;
    }
    let names = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    let common_names = common.as_ref().map(names).unwrap_or_default();
    for (loc, what, shape) in errors.iter().filter(|(_, _, s)| *s != common) {
        let how = match shape {
            None => "has no body schema".to_string(),
            Some(s) => format!("has fields [{}]", names(s)),
        };
        sink.report(
            "errors-inconsistent",
            loc,
            format!("{what} {how}, while most error responses have [{common_names}]"),
        );
    }
}
