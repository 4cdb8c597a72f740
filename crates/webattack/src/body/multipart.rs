//! `multipart/form-data` bodies: each part becomes an argument; upload file names become
//! `filenames` fields.

use memchr::memmem;

use crate::request::{FieldSink, ParseAnomaly, Target};

/// Extracts the boundary parameter of a multipart content type.
fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Parameters of a `Content-Disposition` value (`form-data; name="a;b"; filename=x`): quoted
/// values may hold `;` and `\"`, as RFC 7578 parsers read them.
fn disposition_params(cd: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = match cd.split_once(';') {
        Some((_, r)) => r,
        None => return out,
    };
    while !rest.is_empty() && out.len() < 16 {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(';')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            v.push(e);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    other => v.push(other),
                }
            }
            let next = q[end..].split_once(';').map_or("", |(_, n)| n);
            (v, next)
        } else {
            match after.split_once(';') {
                Some((v, n)) => (v.trim().to_owned(), n),
                None => (after.trim().to_owned(), ""),
            }
        };
        out.push((key, value));
        rest = next;
    }
    out
}

/// Value of parameter `key` in parsed `Content-Disposition` parameters.
fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Splits a multipart body; malformed structure is reported, never fatal.
pub(crate) fn parse_multipart(content_type: &str, body: &[u8], sink: &mut FieldSink<'_>) {
    let Some(b) = boundary(content_type).filter(|b| !b.is_empty() && b.len() <= 200) else {
        sink.anomaly(ParseAnomaly::MalformedMultipart);
        return;
    };
    let delim = format!("--{b}");
    let finder = memmem::Finder::new(delim.as_bytes());
    let mut starts: Vec<usize> = Vec::new();
    for pos in finder.find_iter(body) {
        starts.push(pos);
        if starts.len() > sink.limits.max_multipart_parts {
            sink.anomaly(ParseAnomaly::TooManyParts);
            break;
        }
    }
    if starts.is_empty() {
        sink.anomaly(ParseAnomaly::MalformedMultipart);
        return;
    }
    let mut closed = false;
    for w in 0..starts.len() {
        let from = starts[w] + delim.len();
        let rest = &body[from..];
        if rest.starts_with(b"--") {
            closed = true;
            break;
        }
        let to = starts.get(w + 1).copied().unwrap_or(body.len());
        let part = &body[from..to.max(from)];
        let part = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"));
        let Some(part) = part else {
            sink.anomaly(ParseAnomaly::MalformedMultipart);
            continue;
        };
        let (head, content) = match memmem::find(part, b"\r\n\r\n") {
            Some(i) => (&part[..i], &part[i + 4..]),
            None => match memmem::find(part, b"\n\n") {
                Some(i) => (&part[..i], &part[i + 2..]),
                None => {
                    sink.anomaly(ParseAnomaly::MalformedMultipart);
                    continue;
                }
            },
        };
        let content = content
            .strip_suffix(b"\r\n")
            .or_else(|| content.strip_suffix(b"\n"))
            .unwrap_or(content);
        let head = String::from_utf8_lossy(head);
        let mut cd = None;
        for (i, l) in head.lines().enumerate() {
            if i >= sink.limits.max_headers {
                sink.anomaly(ParseAnomaly::TooManyHeaders);
                break;
            }
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            if k == "content-disposition" && cd.is_none() {
                cd = Some(v);
            }
            sink.push(Target::PartHeader, &k, v.as_bytes().to_vec());
        }
        let Some(cd) = cd else {
            sink.anomaly(ParseAnomaly::MalformedMultipart);
            continue;
        };
        let params = disposition_params(cd);
        let name = param(&params, "name").unwrap_or("");
        if let Some(f) = param(&params, "filename") {
            sink.push(Target::FileField, name, name.as_bytes().to_vec());
            sink.push(Target::Filename, name, f.as_bytes().to_vec());
            // File content is left to the raw `body` target: scanning uploads as arguments
            // would flag every binary file.
            continue;
        }
        if !sink.arg(name.as_bytes().to_vec(), content.to_vec()) {
            return;
        }
    }
    if !closed {
        sink.anomaly(ParseAnomaly::MalformedMultipart);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::disposition_params;

    use crate::request::{InspectRequest, Limits, ParseAnomaly, Target, parse};

    fn post(ct: &str, body: &'static str) -> crate::ParsedRequest {
        let mut r = InspectRequest::get("/upload");
        r.method = "POST".into();
        r.headers.push(("Content-Type".into(), ct.into()));
        r.body = Bytes::from_static(body.as_bytes());
        r.headers
            .push(("Content-Length".into(), body.len().to_string()));
        parse(&r, &Limits::default())
    }

    fn of(p: &crate::ParsedRequest, t: Target) -> Vec<(String, String)> {
        p.fields
            .iter()
            .filter(|f| f.target == t)
            .map(|f| {
                (
                    f.name.clone(),
                    String::from_utf8_lossy(&f.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn parts_and_filenames() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.php\"\r\nContent-Type: text/plain\r\n\r\n<?php ?>\r\n--XX--\r\n";
        let p = post("multipart/form-data; boundary=XX", body);
        assert_eq!(of(&p, Target::Arg), vec![("a".into(), "hello".into())]);
        assert_eq!(of(&p, Target::Filename), vec![("f".into(), "x.php".into())]);
        assert!(p.anomalies.is_empty(), "{:?}", p.anomalies);
    }

    #[test]
    fn quoted_names_part_headers_and_file_fields() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"fi;le\"; filename=\"a\\\"b.txt\"\r\nContent-Type: text/plain; charset=utf-7\r\nContent-Transfer-Encoding: base64\r\n\r\nx\r\n--XX\r\nContent-Disposition: form-data; name=q\r\n\r\nhello\r\n--XX--\r\n";
        let p = post("multipart/form-data; boundary=XX", body);
        assert_eq!(
            of(&p, Target::Filename),
            vec![("fi;le".into(), "a\"b.txt".into())]
        );
        assert_eq!(
            of(&p, Target::FileField),
            vec![("fi;le".into(), "fi;le".into())]
        );
        assert_eq!(of(&p, Target::Arg), vec![("q".into(), "hello".into())]);
        let headers = of(&p, Target::PartHeader);
        assert!(headers.contains(&("content-type".into(), "text/plain; charset=utf-7".into())));
        assert!(headers.contains(&("content-transfer-encoding".into(), "base64".into())));
        assert_eq!(
            disposition_params("form-data; name=\"unterminated"),
            vec![("name".to_owned(), "unterminated".to_owned())]
        );
        assert!(disposition_params("form-data").is_empty());
    }

    #[test]
    fn missing_boundary_is_reported() {
        let p = post("multipart/form-data", "--XX\r\n");
        assert_eq!(p.anomalies, vec![ParseAnomaly::MalformedMultipart]);
    }

    #[test]
    fn unterminated_body_is_reported() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello";
        let p = post("multipart/form-data; boundary=\"XX\"", body);
        assert_eq!(of(&p, Target::Arg), vec![("a".into(), "hello".into())]);
        assert_eq!(p.anomalies, vec![ParseAnomaly::MalformedMultipart]);
    }
}
