//! Rate limiting (API4): authentication and payment operations must declare a 429 response or
//! a rate-limit header.

use serde_json::Value;

use crate::audit::Sink;
use crate::audit::model::{self, Operation};

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    let params = &sink.rules.params;
    let mut missing = Vec::new();
    for op in ops
        .iter()
        .filter(|o| params.rate_limited_paths.is_match(&o.path))
    {
        let responses = model::responses(spec, op);
        let has_429 = responses.iter().any(|r| r.code == "429");
        let has_header = responses.iter().any(|r| {
            r.value
                .get("headers")
                .and_then(Value::as_object)
                .is_some_and(|h| {
                    h.keys()
                        .any(|k| params.rate_limit_headers.contains(&k.to_lowercase()))
                })
        });
        if !has_429 && !has_header {
            missing.push((op.loc.child("responses"), op.name()));
        }
    }
    for (loc, name) in missing {
        sink.report(
            "rate-limit-missing",
            &loc,
            format!("{name} declares neither a 429 response nor a rate-limit header"),
        );
    }
}
