//! Excessive data exposure (API3): secret-looking properties in success responses, and personal
//! data returned without authentication.

use crate::audit::Sink;
use crate::audit::model::{self, Operation};
use crate::audit::ruleset::normalise;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    for op in ops {
        for response in model::responses(spec, op) {
            if !response.is_success() {
                continue;
            }
            for schema in response.schemas() {
                let mut hits: Vec<(&'static str, crate::spec::Loc, String)> = Vec::new();
                model::walk(spec, schema, |node| {
                    let Some(name) = &node.property else { return };
                    if node.flag("writeOnly") {
                        return;
                    }
                    let n = normalise(name);
                    let p = &sink.rules.params;
                    if p.secret_fields.contains(&n) {
                        hits.push(("exposure-sensitive-field", node.loc.clone(), name.clone()));
                    } else if sink.rules.is_personal(&n) && !op.authenticated() {
                        hits.push((
                            "exposure-personal-data-unauthenticated",
                            node.loc.clone(),
                            name.clone(),
                        ));
                    }
                });
                for (rule, loc, name) in hits {
                    let message = if rule == "exposure-sensitive-field" {
                        format!(
                            "response {} of {} returns `{name}`",
                            response.code,
                            op.name()
                        )
                    } else {
                        format!(
                            "response {} of {} returns `{name}` to unauthenticated callers",
                            response.code,
                            op.name()
                        )
                    };
                    sink.report(rule, &loc, message);
                }
            }
        }
    }
}
