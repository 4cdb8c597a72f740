//! Transport security (API8): servers and OAuth endpoints must be `https://`, and a description
//! without servers cannot show that they are.

use serde_json::Value;

use crate::audit::Sink;
use crate::audit::model::Operation;
use crate::spec::Loc;

fn plain(url: &str) -> bool {
    let lower = url.trim().to_lowercase();
    lower.starts_with("http://") || lower.starts_with("ws://")
}

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let spec = sink.spec;
    let root = Loc {
        file: 0,
        pointer: String::new(),
    };
    let mut hits: Vec<(Loc, String)> = Vec::new();
    match spec.root().get("servers").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {}
        _ => hits.push((root.clone(), "the description declares no servers".into())),
    }
    let mut holders: Vec<(Loc, String)> = vec![(root.child("servers"), "server".into())];
    for op in ops {
        holders.push((op.loc.child("servers"), format!("server of {}", op.name())));
    }
    if let Some(paths) = spec.root().get("paths").and_then(Value::as_object) {
        for path in paths.keys() {
            holders.push((
                root.child("paths").child(path).child("servers"),
                format!("server of {path}"),
            ));
        }
    }
    for (list_loc, what) in holders {
        let n = spec
            .get(&list_loc)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..n {
            let url_loc = list_loc.child(&i.to_string()).child("url");
            if let Some(url) = spec.get(&url_loc).and_then(Value::as_str)
                && plain(url)
            {
                hits.push((url_loc, format!("{what} `{url}` is not TLS")));
            }
        }
    }
    let schemes = root.child("components").child("securitySchemes");
    if let Some(map) = spec.get(&schemes).and_then(Value::as_object) {
        for name in map.keys() {
            let Some((loc, scheme)) = spec.follow(schemes.child(name)) else {
                continue;
            };
            let mut urls: Vec<(Loc, &str)> = Vec::new();
            if let Some(u) = scheme.get("openIdConnectUrl").and_then(Value::as_str) {
                urls.push((loc.child("openIdConnectUrl"), u));
            }
            if let Some(flows) = scheme.get("flows").and_then(Value::as_object) {
                for (flow, f) in flows {
                    for key in ["authorizationUrl", "tokenUrl", "refreshUrl"] {
                        if let Some(u) = f.get(key).and_then(Value::as_str) {
                            urls.push((loc.child("flows").child(flow).child(key), u));
                        }
                    }
                }
            }
            for (l, u) in urls.into_iter().filter(|(_, u)| plain(u)) {
                hits.push((l, format!("scheme `{name}` uses `{u}` without TLS")));
            }
        }
    }
    for (loc, message) in hits {
        sink.report("tls-missing", &loc, message);
    }
}
