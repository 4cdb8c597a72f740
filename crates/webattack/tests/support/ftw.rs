//! Replays OWASP CRS regression tests (go-ftw YAML) as [`InspectRequest`]s, shaping them as the
//! go-ftw runner does: a default urlencoded `Content-Type` when a body has none, the body
//! form-encoded when it is not already, and `Content-Length` added.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use ensuresec_webattack::{AttackClass, InspectRequest};
use serde_yaml_ng::Value;

/// One stage of a CRS regression test that names a rule in its expected output.
#[derive(Debug, Clone)]
pub struct Case {
    /// CRS rule file folder, e.g. `REQUEST-942-APPLICATION-ATTACK-SQLI`.
    pub folder: String,
    /// Test title.
    pub title: String,
    /// CRS rule id the test is about.
    pub rule: u32,
    /// Whether the rule is expected to fire (else expected not to fire).
    pub must_fire: bool,
    /// The request.
    pub request: InspectRequest,
}

/// Our classes that count as "the same attack class" as a CRS rule file.
pub fn classes_for(folder: &str) -> &'static [AttackClass] {
    let num: u32 = folder.get(8..11).and_then(|n| n.parse().ok()).unwrap_or(0);
    match num {
        911 | 921 | 922 => &[AttackClass::Protocol],
        // CRS keeps its file-extension and backup-file restrictions in 920.
        920 => &[AttackClass::Protocol, AttackClass::RestrictedFile],
        913 => &[AttackClass::Scanner],
        930 => &[AttackClass::Lfi, AttackClass::RestrictedFile],
        931 => &[AttackClass::Rfi],
        932 => &[AttackClass::Rce],
        933 => &[AttackClass::Php],
        934 => &[AttackClass::Nodejs],
        941 => &[AttackClass::Xss],
        942 => &[AttackClass::Sqli],
        943 => &[AttackClass::SessionFixation],
        944 => &[AttackClass::Java],
        _ => &[],
    }
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Sequence(items) => Some(items.iter().filter_map(s).collect::<Vec<_>>().join("\r\n")),
        _ => None,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// go-ftw's `encodeDataParameters`: when the data does not look encoded already (Go's
/// `QueryUnescape` leaves it unchanged: no `%` and no `+`), parse it as a query and re-encode it
/// (keys sorted, as Go's `url.Values.Encode` does). Data Go's parser rejects (`;`) is sent as is.
fn encode_data(data: &str) -> String {
    if data.contains('%') || data.contains('+') || data.contains(';') {
        return data.to_owned();
    }
    let mut pairs: Vec<(String, Vec<String>)> = Vec::new();
    for part in data.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match pairs.iter_mut().find(|(key, _)| key == k) {
            Some((_, vals)) => vals.push(v.to_owned()),
            None => pairs.push((k.to_owned(), vec![v.to_owned()])),
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (k, vals) in pairs {
        for v in vals {
            out.push(format!("{}={}", query_escape(&k), query_escape(&v)));
        }
    }
    out.join("&")
}

/// Parses a raw HTTP/1 request (for `raw_request` / `encoded_request` tests).
fn parse_raw(raw: &[u8]) -> Option<InspectRequest> {
    let text_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, p + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| (p, p + 2))
        })
        .unwrap_or((raw.len(), raw.len()));
    let head = String::from_utf8_lossy(&raw[..text_end.0]);
    let mut lines = head.lines();
    let mut rl = lines.next()?.split(' ');
    let method = rl.next()?.to_owned();
    let uri = rl.next().unwrap_or("/").to_owned();
    let version = rl.next().unwrap_or("HTTP/1.1").to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(InspectRequest {
        method,
        uri,
        http_version: version,
        headers,
        body: Bytes::copy_from_slice(&raw[text_end.1..]),
        partial: false,
    })
}

fn base64(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// go-ftw sends YAML strings as Go strings, i.e. UTF-8 (`"\xac"` in YAML is U+00AC).
fn latin1_or_utf8(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn build_request(input: &Value) -> Option<InspectRequest> {
    if let Some(enc) = get(input, "encoded_request").and_then(s) {
        return parse_raw(&base64(&enc));
    }
    if let Some(raw) = get(input, "raw_request").and_then(s) {
        return parse_raw(&latin1_or_utf8(&raw));
    }
    let method = get(input, "method")
        .and_then(s)
        .unwrap_or_else(|| "GET".into());
    let uri = get(input, "uri").and_then(s).unwrap_or_else(|| "/".into());
    let version = get(input, "version")
        .and_then(s)
        .unwrap_or_else(|| "HTTP/1.1".into());
    let mut headers: Vec<(String, String)> = get(input, "headers")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((s(k)?, s(v).unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    let magic = !get(input, "stop_magic")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        && get(input, "autocomplete_headers")
            .and_then(Value::as_bool)
            .unwrap_or(true);
    let mut data = get(input, "data").and_then(s).unwrap_or_default();
    let has = |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if magic && !data.is_empty() {
        if !has(&headers, "content-type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let ct = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if ct == "application/x-www-form-urlencoded" {
            data = encode_data(&data);
        }
    }
    let body = latin1_or_utf8(&data);
    if magic && !body.is_empty() && !has(&headers, "content-length") {
        headers.push(("Content-Length".into(), body.len().to_string()));
    }
    Some(InspectRequest {
        method,
        uri,
        http_version: version,
        headers,
        body: Bytes::from(body),
        partial: false,
    })
}

fn rule_ids(output: &Value) -> (Vec<u32>, Vec<u32>) {
    let parse_id = |v: &Value| -> Option<u32> {
        let t = s(v)?;
        t.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    let mut fire = Vec::new();
    let mut nofire = Vec::new();
    if let Some(v) = get(output, "log_contains") {
        fire.extend(parse_id(v));
    }
    if let Some(v) = get(output, "no_log_contains") {
        nofire.extend(parse_id(v));
    }
    if let Some(log) = get(output, "log") {
        for (key, out) in [("expect_ids", &mut fire), ("no_expect_ids", &mut nofire)] {
            if let Some(Value::Sequence(ids)) = get(log, key) {
                out.extend(ids.iter().filter_map(parse_id));
            }
        }
    }
    (fire, nofire)
}

/// Loads every REQUEST-* test of a CRS regression tree (e.g. `crs-regression/v3.3.4`).
pub fn load(root: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = Vec::new();
    let Ok(dirs) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    for d in dirs.filter_map(Result::ok) {
        let name = d.file_name().to_string_lossy().into_owned();
        if !name.starts_with("REQUEST-") || classes_for(&name).is_empty() {
            continue;
        }
        if let Ok(fs) = std::fs::read_dir(d.path()) {
            files.extend(
                fs.filter_map(Result::ok)
                    .map(|f| f.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "yaml")),
            );
        }
    }
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let folder = f
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(doc) = serde_yaml_ng::from_str::<Value>(&text) else {
            eprintln!("warning: {} does not parse as yaml", f.display());
            continue;
        };
        let Some(Value::Sequence(tests)) = get(&doc, "tests") else {
            continue;
        };
        for t in tests {
            let title = get(t, "test_title")
                .or_else(|| get(t, "test_id"))
                .and_then(s)
                .unwrap_or_default();
            let Some(Value::Sequence(stages)) = get(t, "stages") else {
                continue;
            };
            for st in stages {
                let st = get(st, "stage").unwrap_or(st);
                let (Some(input), Some(output)) = (get(st, "input"), get(st, "output")) else {
                    continue;
                };
                let (fire, nofire) = rule_ids(output);
                let Some(request) = build_request(input) else {
                    continue;
                };
                for (ids, must_fire) in [(fire, true), (nofire, false)] {
                    for rule in ids {
                        cases.push(Case {
                            folder: folder.clone(),
                            title: title.clone(),
                            rule,
                            must_fire,
                            request: request.clone(),
                        });
                    }
                }
            }
        }
    }
    cases
}
