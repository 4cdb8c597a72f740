//! Who may call what: object ids without an authorisation scope (API1), administrative
//! functions without one (API5), state changes without authentication (API2).

use serde_json::Value;

use crate::audit::Sink;
use crate::audit::model::Operation;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let params = &sink.rules.params;
    let (non_object, public, admin_paths, admin_text) = (
        params.non_object_path_params.clone(),
        params.public_paths.clone(),
        params.admin_paths.clone(),
        params.admin_text.clone(),
    );
    for op in ops {
        let how = if op.authenticated() {
            "authenticated, but no security requirement carries a scope"
        } else {
            "reachable without authentication"
        };
        if !op.scoped() {
            let ids: Vec<(&crate::spec::Loc, &str)> = op
                .params
                .iter()
                .filter(|(_, p)| p.get("in").and_then(Value::as_str) == Some("path"))
                .filter_map(|(loc, p)| Some((loc, p.get("name")?.as_str()?)))
                .filter(|(_, name)| !non_object.is_match(name))
                .collect();
            if let Some((loc, name)) = ids.first() {
                sink.report(
                    "bola-unscoped-object-id",
                    loc,
                    format!("{} selects an object by `{name}` and is {how}", op.name()),
                );
            }
            if admin_paths.is_match(&op.path) || admin_text.is_match(&op.text()) {
                sink.report(
                    "bfla-admin-unscoped",
                    &op.loc,
                    format!("{} is an administrative function and is {how}", op.name()),
                );
            }
        }
        if op.is_write() && !op.authenticated() && !public.is_match(&op.path) {
            let why = match &op.security {
                Some((_, reqs)) if reqs.iter().any(Vec::is_empty) => {
                    "allows anonymous access (an empty security requirement `{}`)"
                }
                _ => "has no security requirement",
            };
            let at = if op.value.get("security").is_some() {
                op.loc.child("security")
            } else {
                op.loc.clone()
            };
            sink.report("auth-missing", &at, format!("{} {why}", op.name()));
        }
    }
}
