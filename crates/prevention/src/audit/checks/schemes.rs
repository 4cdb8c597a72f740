//! The security schemes themselves (API2) and requirements naming schemes that do not exist
//! (API8).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::audit::Sink;
use crate::audit::model::Operation;
use crate::spec::Loc;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    let schemes_loc = Loc {
        file: 0,
        pointer: "/components/securitySchemes".into(),
    };
    let names: BTreeSet<String> = spec
        .get(&schemes_loc)
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for name in &names {
        let Some((loc, scheme)) = spec.follow(schemes_loc.child(name)) else {
            continue;
        };
        let field = |k: &str| {
            scheme
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase()
        };
        match field("type").as_str() {
            "apikey" if field("in") == "query" => sink.report(
                "auth-apikey-in-query",
                &loc.child("in"),
                format!(
                    "scheme `{name}` sends the API key `{}` in the query string",
                    field("name")
                ),
            ),
            "http" if field("scheme") == "basic" => sink.report(
                "auth-http-basic",
                &loc.child("scheme"),
                format!("scheme `{name}` is HTTP Basic"),
            ),
            "http"
                if field("scheme") == "bearer"
                    && field("bearerFormat").contains("jwt")
                    && !states_audience(scheme) =>
            {
                sink.report(
                    "auth-jwt-no-audience",
                    &loc,
                    format!("JWT scheme `{name}` states no audience, issuer or algorithm"),
                );
            }
            "oauth2" => {
                for flow in ["implicit", "password"] {
                    if scheme.get("flows").and_then(|f| f.get(flow)).is_some() {
                        sink.report(
                            "auth-oauth-weak-flow",
                            &loc.child("flows").child(flow),
                            format!("OAuth2 scheme `{name}` offers the {flow} flow"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    for op in ops {
        let Some((loc, reqs)) = &op.security else {
            continue;
        };
        for (i, req) in reqs.iter().enumerate() {
            for (scheme, _) in req {
                if !names.contains(scheme) {
                    sink.report(
                        "auth-scheme-undefined",
                        &loc.child(&i.to_string()).child(scheme),
                        format!(
                            "{} requires scheme `{scheme}`, which is not defined",
                            op.name()
                        ),
                    );
                }
            }
        }
    }
}

/// The scheme's description or an extension says which audience tokens must carry.
fn states_audience(scheme: &Value) -> bool {
    let description = scheme
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    let by_extension = scheme.as_object().is_some_and(|m| {
        m.keys()
            .any(|k| k.starts_with("x-") && k.to_lowercase().contains("audience"))
    });
    by_extension
        || description.contains("audience")
        || description
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "aud")
}
