//! What the checks look at: operations with their parameters and effective security, request
//! and response schemas, and a walk over a schema's sub-schemas that follows `$ref`s once each
//! (recursive schemas are legal and end the walk where they repeat).

use std::collections::HashSet;

use serde_json::Value;

use crate::spec::{Loc, Spec};

/// The HTTP methods an OpenAPI path item can hold.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One security requirement: schemes (all needed) with their scopes.
pub type Requirement = Vec<(String, Vec<String>)>;

/// One operation of the description.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// The path template, e.g. `/orders/{id}`.
    pub path: String,
    /// Upper-case method.
    pub method: String,
    /// The operation object.
    pub loc: Loc,
    /// Its value.
    pub value: &'a Value,
    /// Parameters (path item's and operation's, the operation's winning), dereferenced.
    pub params: Vec<(Loc, &'a Value)>,
    /// Effective security: the operation's, else the top level's; `None` when neither is set.
    pub security: Option<(Loc, Vec<Requirement>)>,
}

impl Operation<'_> {
    /// `GET /path`.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Changes state by its method.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }

    /// Every alternative needs credentials (no empty requirement, at least one requirement).
    pub fn authenticated(&self) -> bool {
        match &self.security {
            Some((_, reqs)) => !reqs.is_empty() && reqs.iter().all(|r| !r.is_empty()),
            None => false,
        }
    }

    /// Authenticated, and every alternative carries at least one scope.
    pub fn scoped(&self) -> bool {
        self.authenticated()
            && self.security.as_ref().is_some_and(|(_, reqs)| {
                reqs.iter()
                    .all(|r| r.iter().any(|(_, scopes)| !scopes.is_empty()))
            })
    }

    /// The summary and description, for wording checks.
    pub fn text(&self) -> String {
        let s = |k: &str| self.value.get(k).and_then(Value::as_str).unwrap_or("");
        format!("{} {}", s("summary"), s("description"))
    }
}

fn requirements(value: &Value) -> Vec<Requirement> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|req| {
            req.as_object()
                .map(|m| {
                    m.iter()
                        .map(|(name, scopes)| {
                            let scopes = scopes
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(Value::as_str)
                                        .map(String::from)
                                        .collect()
                                })
                                .unwrap_or_default();
                            (name.clone(), scopes)
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// Every operation under `paths`, in document order of paths and methods.
pub fn operations(spec: &Spec) -> Vec<Operation<'_>> {
    let root = Loc {
        file: 0,
        pointer: String::new(),
    };
    let top_security = spec
        .root()
        .get("security")
        .map(|v| (root.child("security"), requirements(v)));
    let Some(paths) = spec.root().get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let paths_loc = root.child("paths");
    let mut out = Vec::new();
    for (path, _) in paths {
        let Some((item_loc, item)) = spec.follow(paths_loc.child(path)) else {
            continue;
        };
        let shared = item
            .get("parameters")
            .map(|_| parameters(spec, &item_loc.child("parameters")))
            .unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(*method).filter(|v| v.is_object()) else {
                continue;
            };
            let loc = item_loc.child(method);
            let own = parameters(spec, &loc.child("parameters"));
            let mut params: Vec<(Loc, &Value)> = shared
                .iter()
                .filter(|(_, p)| !own.iter().any(|(_, o)| same_param(p, o)))
                .cloned()
                .collect();
            params.extend(own);
            let security = match op.get("security") {
                Some(v) => Some((loc.child("security"), requirements(v))),
                None => top_security.clone(),
            };
            out.push(Operation {
                path: path.clone(),
                method: method.to_uppercase(),
                loc,
                value: op,
                params,
                security,
            });
        }
    }
    out
}

fn same_param(a: &Value, b: &Value) -> bool {
    a.get("name") == b.get("name") && a.get("in") == b.get("in")
}

fn parameters<'a>(spec: &'a Spec, list: &Loc) -> Vec<(Loc, &'a Value)> {
    let n = spec.get(list).and_then(Value::as_array).map_or(0, Vec::len);
    (0..n)
        .filter_map(|i| spec.follow(list.child(&i.to_string())))
        .filter(|(_, v)| v.is_object())
        .collect()
}

/// The schema of a parameter (or of its first media type).
pub fn param_schema(loc: &Loc, param: &Value) -> Option<Loc> {
    if param.get("schema").is_some() {
        return Some(loc.child("schema"));
    }
    let content = param.get("content")?.as_object()?;
    let media = content.keys().next()?;
    Some(loc.child("content").child(media).child("schema"))
}

/// The schemas of the request body's media types.
pub fn request_schemas(spec: &Spec, op: &Operation<'_>) -> Vec<Loc> {
    if op.value.get("requestBody").is_none() {
        return Vec::new();
    }
    let Some((body_loc, body)) = spec.follow(op.loc.child("requestBody")) else {
        return Vec::new();
    };
    media_schemas(&body_loc, body)
}

fn media_schemas(loc: &Loc, holder: &Value) -> Vec<Loc> {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return Vec::new();
    };
    content
        .iter()
        .filter(|(_, m)| m.get("schema").is_some())
        .map(|(media, _)| loc.child("content").child(media).child("schema"))
        .collect()
}

/// One declared response: status code (or `default`), the dereferenced response and its value.
pub struct Response<'a> {
    /// `200`, `4XX`, `default` …
    pub code: String,
    /// The response object.
    pub loc: Loc,
    /// Its value.
    pub value: &'a Value,
}

impl Response<'_> {
    /// 2xx (or `2XX`).
    pub fn is_success(&self) -> bool {
        self.code.starts_with('2')
    }

    /// 4xx, 5xx or `default`.
    pub fn is_error(&self) -> bool {
        self.code.starts_with('4') || self.code.starts_with('5') || self.code == "default"
    }

    /// The schemas of its media types.
    pub fn schemas(&self) -> Vec<Loc> {
        media_schemas(&self.loc, self.value)
    }
}

/// The operation's responses.
pub fn responses<'a>(spec: &'a Spec, op: &Operation<'_>) -> Vec<Response<'a>> {
    let Some(map) = op.value.get("responses").and_then(Value::as_object) else {
        return Vec::new();
    };
    let base = op.loc.child("responses");
    map.keys()
        .filter_map(|code| {
            let (loc, value) = spec.follow(base.child(code))?;
            Some(Response {
                code: code.clone(),
                loc,
                value,
            })
        })
        .collect()
}

/// A sub-schema met by [`walk`].
pub struct Node<'a> {
    /// Where it is defined (after `$ref`s).
    pub loc: Loc,
    /// The schema.
    pub value: &'a Value,
    /// The property name it was reached by, if any.
    pub property: Option<String>,
}

impl Node<'_> {
    /// The schema declares this JSON type (alone or among others).
    pub fn has_type(&self, t: &str) -> bool {
        has_type(self.value, t)
    }

    /// A boolean keyword is true.
    pub fn flag(&self, key: &str) -> bool {
        self.value
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// The schema declares JSON type `t`.
pub fn has_type(schema: &Value, t: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(t)),
        _ => false,
    }
}

/// Visits the schema at `root` and every sub-schema (properties, items, additional and pattern
/// properties, allOf/anyOf/oneOf), each definition once.
pub fn walk<'a>(spec: &'a Spec, root: Loc, mut visit: impl FnMut(&Node<'a>)) {
    let mut seen: HashSet<Loc> = HashSet::new();
    let mut stack: Vec<(Loc, Option<String>)> = vec![(root, None)];
    while let Some((loc, property)) = stack.pop() {
        let Some((loc, value)) = spec.follow(loc) else {
            continue;
        };
        if !value.is_object() || !seen.insert(loc.clone()) {
            continue;
        }
        visit(&Node {
            loc: loc.clone(),
            value,
            property,
        });
        for key in ["properties", "patternProperties"] {
            if let Some(props) = value.get(key).and_then(Value::as_object) {
                for name in props.keys().rev() {
                    stack.push((loc.child(key).child(name), Some(name.clone())));
                }
            }
        }
        for key in [
            "items",
            "additionalProperties",
            "additionalItems",
            "contains",
        ] {
            match value.get(key) {
                Some(Value::Object(_)) => stack.push((loc.child(key), None)),
                Some(Value::Array(a)) => {
                    for i in (0..a.len()).rev() {
                        stack.push((loc.child(key).child(&i.to_string()), None));
                    }
                }
                _ => {}
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            if let Some(list) = value.get(key).and_then(Value::as_array) {
                for i in (0..list.len()).rev() {
                    stack.push((loc.child(key).child(&i.to_string()), None));
                }
            }
        }
    }
}

/// The properties an object schema declares, its `allOf` parts included, by name.
pub fn object_properties(spec: &Spec, root: Loc) -> Vec<(String, Loc)> {
    let mut out: Vec<(String, Loc)> = Vec::new();
    let mut seen: HashSet<Loc> = HashSet::new();
    let mut stack = vec![root];
    while let Some(loc) = stack.pop() {
        let Some((loc, value)) = spec.follow(loc) else {
            continue;
        };
        if !seen.insert(loc.clone()) {
            continue;
        }
        if let Some(props) = value.get("properties").and_then(Value::as_object) {
            for name in props.keys() {
                if !out.iter().any(|(n, _)| n == name) {
                    out.push((name.clone(), loc.child("properties").child(name)));
                }
            }
        }
        if let Some(list) = value.get("allOf").and_then(Value::as_array) {
            for i in 0..list.len() {
                stack.push(loc.child("allOf").child(&i.to_string()));
            }
        }
    }
    out
}

/// The object schema refuses undeclared properties (`additionalProperties: false`, or 3.1's
/// `unevaluatedProperties: false`), on itself or an `allOf` part.
pub fn is_closed(spec: &Spec, root: Loc) -> bool {
    let mut seen: HashSet<Loc> = HashSet::new();
    let mut stack = vec![root];
    while let Some(loc) = stack.pop() {
        let Some((loc, value)) = spec.follow(loc) else {
            continue;
        };
        if !seen.insert(loc.clone()) {
            continue;
        }
        for key in ["additionalProperties", "unevaluatedProperties"] {
            if value.get(key) == Some(&Value::Bool(false)) {
                return true;
            }
        }
        if let Some(list) = value.get("allOf").and_then(Value::as_array) {
            for i in 0..list.len() {
                stack.push(loc.child("allOf").child(&i.to_string()));
            }
        }
    }
    false
}
