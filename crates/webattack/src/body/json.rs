//! JSON bodies: every scalar becomes an argument named by its dotted path (`items.0.qty`).

use serde_json::Value;

use crate::request::{FieldSink, ParseAnomaly};

/// Flattens a JSON body into arguments, stopping at [`crate::Limits::max_json_depth`].
pub(crate) fn parse_json(body: &[u8], sink: &mut FieldSink<'_>) {
    // serde_json has its own recursion limit (128), so a deeply nested body errors out instead of
    // overflowing the stack; we then fall back to the raw `body` target alone.
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            sink.anomaly(ParseAnomaly::MalformedJson);
            return;
        }
    };
    let mut path = String::new();
    walk(&value, &mut path, 0, sink);
}

/// Returns false once the argument limit is hit, to stop the walk.
fn walk(v: &Value, path: &mut String, depth: usize, sink: &mut FieldSink<'_>) -> bool {
    if depth > sink.limits.max_json_depth {
        sink.anomaly(ParseAnomaly::JsonTooDeep);
        return true;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let go_on = walk(child, path, depth + 1, sink);
                path.truncate(len);
                if !go_on {
                    return false;
                }
            }
            true
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&i.to_string());
                let go_on = walk(child, path, depth + 1, sink);
                path.truncate(len);
                if !go_on {
                    return false;
                }
            }
            true
        }
        Value::String(s) => sink.arg(path.as_bytes().to_vec(), s.as_bytes().to_vec()),
        Value::Number(n) => sink.arg(path.as_bytes().to_vec(), n.to_string().into_bytes()),
        Value::Bool(b) => sink.arg(path.as_bytes().to_vec(), b.to_string().into_bytes()),
        Value::Null => sink.arg(path.as_bytes().to_vec(), b"null".to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::request::{InspectRequest, Limits, ParseAnomaly, Target, parse};

    fn post_json(body: &'static str, limits: &Limits) -> crate::ParsedRequest {
        let mut r = InspectRequest::get("/api");
        r.method = "POST".into();
        r.headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
        r.body = Bytes::from_static(body.as_bytes());
        r.headers
            .push(("Content-Length".into(), body.len().to_string()));
        parse(&r, limits)
    }

    fn args(p: &crate::ParsedRequest) -> Vec<(String, String)> {
        p.fields
            .iter()
            .filter(|f| f.target == Target::Arg)
            .map(|f| {
                (
                    f.name.clone(),
                    String::from_utf8_lossy(&f.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn nested_values_get_dotted_names() {
        let p = post_json(
            r#"{"items":[{"qty":-3,"sku":"A1"}],"ok":true}"#,
            &Limits::default(),
        );
        assert_eq!(
            args(&p),
            vec![
                ("items.0.qty".into(), "-3".into()),
                ("items.0.sku".into(), "A1".into()),
                ("ok".into(), "true".into())
            ]
        );
    }

    #[test]
    fn depth_limit_is_reported() {
        let limits = Limits {
            max_json_depth: 2,
            ..Limits::default()
        };
        let p = post_json(r#"{"a":{"b":{"c":{"d":1}}},"e":2}"#, &limits);
        assert!(p.anomalies.contains(&ParseAnomaly::JsonTooDeep));
        assert_eq!(args(&p), vec![("e".into(), "2".into())]);
    }

    #[test]
    fn malformed_json_is_reported() {
        let p = post_json(r#"{"a": "#, &Limits::default());
        assert_eq!(p.anomalies, vec![ParseAnomaly::MalformedJson]);
    }

    #[test]
    fn hostile_nesting_does_not_overflow() {
        let deep: &'static str = Box::leak("[".repeat(100_000).into_boxed_str());
        let p = post_json(
            deep,
            &Limits {
                max_body_bytes: 200_000,
                ..Limits::default()
            },
        );
        assert!(p.anomalies.contains(&ParseAnomaly::MalformedJson));
    }
}
