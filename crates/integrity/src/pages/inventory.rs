//! A page's inventory: every script (external by source and SRI, inline by hash), iframe and
//! form action, the security headers, and its visible text and structure for defacement checks.
//! Parsed with `scraper` (html5ever), the browsers' own HTML5 parsing algorithm, so that what is
//! inventoried is what a browser would run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use scraper::{Html, Node};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

/// Headers that say how far a browser may trust the page's content; their removal or change is
/// reported. Lower case.
pub const SECURITY_HEADERS: &[&str] = &[
    "content-security-policy",
    "content-security-policy-report-only",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
];

/// Key under which a `<meta http-equiv="Content-Security-Policy">` policy is kept.
pub const META_CSP: &str = "meta:content-security-policy";

/// Visible text kept per page, in characters: enough to measure a defacement.
pub const MAX_TEXT_CHARS: usize = 64 * 1024;
/// Elements kept of the page's structure.
pub const MAX_STRUCTURE: usize = 8192;
/// Scripts, iframes or forms kept per page; more are counted in `truncated`.
pub const MAX_ITEMS: usize = 1000;

/// A script the page runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    /// Absolute URL of an external script; `None` for an inline one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// SHA-256 of the content, hex; `None` when an external script could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The `integrity` (Subresource Integrity) attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// Whether the content matches the SRI attribute (when both are known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sri_valid: Option<bool>,
    /// Why an external script's content is unknown, or that it was cut at the size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Script {
    /// The script's identity in authorisations and reports: its absolute URL, or
    /// `inline:<sha256>` for inline code.
    pub fn key(&self) -> String {
        match &self.src {
            Some(src) => src.clone(),
            None => format!("inline:{}", self.sha256.as_deref().unwrap_or_default()),
        }
    }

    /// What the Subresource Integrity attribute says of the content, for people: `none` (no
    /// attribute), `valid`, `mismatch`, or `unchecked` (the content is unknown).
    pub fn sri_status(&self) -> &'static str {
        match (&self.integrity, self.sri_valid) {
            (None, _) => "none",
            (Some(_), Some(true)) => "valid",
            (Some(_), Some(false)) => "mismatch",
            (Some(_), None) => "unchecked",
        }
    }
}

/// A form and where it posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    /// Absolute URL the form submits to (the page itself when `action` is empty).
    pub action: String,
    /// `get` or `post`.
    pub method: String,
}

impl Form {
    /// The origin the form's data goes to (`scheme://host:port`).
    pub fn origin(&self) -> String {
        origin(&self.action)
    }
}

/// The origin of a URL, or the text itself when it is not one.
pub fn origin(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned())
}

/// What a page served at one fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// The page's URL.
    pub url: String,
    /// When it was fetched.
    pub fetched: DateTime<Utc>,
    /// HTTP status.
    pub status: u16,
    /// SHA-256 of the body, hex.
    pub content_sha256: String,
    /// Scripts in document order.
    pub scripts: Vec<Script>,
    /// Iframe sources, absolute.
    pub iframes: Vec<String>,
    /// Forms.
    pub forms: Vec<Form>,
    /// Security headers (lower-case names, see [`SECURITY_HEADERS`]) and a `<meta>` CSP.
    pub headers: BTreeMap<String, String>,
    /// Visible text, whitespace collapsed, cut at [`MAX_TEXT_CHARS`].
    pub text: String,
    /// Element names in document order, space-separated, cut at [`MAX_STRUCTURE`].
    pub structure: String,
    /// Items left out past [`MAX_ITEMS`].
    #[serde(default)]
    pub truncated: usize,
}

impl Inventory {
    /// The policy in force: the CSP header, else a `<meta>` one.
    pub fn csp(&self) -> Option<&str> {
        self.headers
            .get("content-security-policy")
            .or_else(|| self.headers.get(META_CSP))
            .map(String::as_str)
    }
}

/// SHA-256, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses a page's HTML into its inventory. External scripts get their `sha256` later, when
/// fetched ([`super::fetch`]); relative URLs are resolved against `url` (and a `<base href>`).
pub fn parse(
    url: &Url,
    status: u16,
    headers: BTreeMap<String, String>,
    body: &[u8],
    fetched: DateTime<Utc>,
) -> Inventory {
    let html = Html::parse_document(&String::from_utf8_lossy(body));
    let mut inv = Inventory {
        url: url.to_string(),
        fetched,
        status,
        content_sha256: sha256_hex(body),
        scripts: Vec::new(),
        iframes: Vec::new(),
        forms: Vec::new(),
        headers,
        text: String::new(),
        structure: String::new(),
        truncated: 0,
    };
    let base = base_url(&html, url);
    let mut structure = 0usize;
    // Depth-first, in document order; the contents of script, style and template elements are
    // not visible text.
    let mut stack = vec![(html.tree.root(), false)];
    while let Some((node, hidden)) = stack.pop() {
        let mut hide_children = hidden;
        match node.value() {
            Node::Element(e) => {
                let name = e.name();
                if structure < MAX_STRUCTURE {
                    if structure > 0 {
                        inv.structure.push(' ');
                    }
                    inv.structure.push_str(name);
                    structure += 1;
                }
                hide_children |= matches!(name, "script" | "style" | "template" | "noscript");
                match name {
                    "script" => {
                        let script = match e.attr("src") {
                            Some(src) => Script {
                                src: Some(resolve(&base, src)),
                                sha256: None,
                                integrity: e.attr("integrity").map(str::to_owned),
                                sri_valid: None,
                                note: None,
                            },
                            None => {
                                let code: String = node
                                    .children()
                                    .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                                    .collect();
                                Script {
                                    src: None,
                                    sha256: Some(sha256_hex(code.as_bytes())),
                                    integrity: None,
                                    sri_valid: None,
                                    note: None,
                                }
                            }
                        };
                        push(&mut inv.scripts, script, &mut inv.truncated);
                    }
                    "iframe" | "frame" => {
                        if let Some(src) = e.attr("src") {
                            push(&mut inv.iframes, resolve(&base, src), &mut inv.truncated);
                        }
                    }
                    "form" => {
                        let action = match e.attr("action").map(str::trim) {
                            Some(a) if !a.is_empty() => resolve(&base, a),
                            _ => url.to_string(),
                        };
                        let method = e.attr("method").unwrap_or("get").to_ascii_lowercase();
                        push(&mut inv.forms, Form { action, method }, &mut inv.truncated);
                    }
                    "meta" => {
                        if e.attr("http-equiv")
                            .is_some_and(|h| h.eq_ignore_ascii_case("content-security-policy"))
                            && let Some(c) = e.attr("content")
                        {
                            inv.headers
                                .entry(META_CSP.into())
                                .or_insert_with(|| c.to_owned());
                        }
                    }
                    _ => {}
                }
            }
            Node::Text(t) if !hidden => append_text(&mut inv.text, t),
            _ => {}
        }
        // Children pushed in reverse so that they pop in document order.
        let children: Vec<_> = node.children().collect();
        for child in children.into_iter().rev() {
            stack.push((child, hide_children));
        }
    }
    inv
}

fn push<T>(list: &mut Vec<T>, item: T, truncated: &mut usize) {
    if list.len() < MAX_ITEMS {
        list.push(item);
    } else {
        *truncated += 1;
    }
}

/// Appends text with whitespace collapsed to single spaces, up to [`MAX_TEXT_CHARS`].
fn append_text(text: &mut String, t: &str) {
    for word in t.split_whitespace() {
        if text.len() + word.len() + 1 > MAX_TEXT_CHARS {
            return;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    }
}

/// The document's base URL: the first `<base href>`, else the page's.
fn base_url(html: &Html, url: &Url) -> Url {
    let selector = scraper::Selector::parse("base[href]").expect("a valid selector");
    html.select(&selector)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| url.join(h.trim()).ok())
        .unwrap_or_else(|| url.clone())
}

/// A URL as a browser resolves it against the base; kept as written when it does not parse.
fn resolve(base: &Url, reference: &str) -> String {
    base.join(reference.trim())
        .map(|u| u.to_string())
        .unwrap_or_else(|_| reference.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Inventory {
        let url = Url::parse("https://shop.example/checkout/").expect("a valid URL");
        parse(
            &url,
            200,
            BTreeMap::new(),
            body.as_bytes(),
            DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn scripts_forms_and_iframes_are_inventoried_with_absolute_urls() {
        let inv = page(
            r#"<html><head><meta http-equiv="Content-Security-Policy" content="script-src 'self'">
            <script src="/js/app.js" integrity="sha384-abc"></script>
            <script>var total = 1;</script></head>
            <body><h1>Pay</h1><form action="pay" method="POST"><input name=cc></form>
            <iframe src="https://psp.example/frame"></iframe><style>p{}</style></body></html>"#,
        );
        assert_eq!(inv.scripts.len(), 2);
        assert_eq!(
            inv.scripts[0].src.as_deref(),
            Some("https://shop.example/js/app.js")
        );
        assert_eq!(inv.scripts[0].integrity.as_deref(), Some("sha384-abc"));
        assert_eq!(
            inv.scripts[1].sha256.as_deref(),
            Some(sha256_hex(b"var total = 1;").as_str())
        );
        assert!(inv.scripts[1].key().starts_with("inline:"));
        assert_eq!(inv.forms[0].action, "https://shop.example/checkout/pay");
        assert_eq!(inv.forms[0].method, "post");
        assert_eq!(inv.forms[0].origin(), "https://shop.example");
        assert_eq!(inv.iframes, vec!["https://psp.example/frame".to_string()]);
        assert_eq!(inv.csp(), Some("script-src 'self'"));
        assert_eq!(inv.text, "Pay", "script and style contents are not visible");
        assert!(
            inv.structure.contains("form input iframe"),
            "{}",
            inv.structure
        );
    }

    #[test]
    fn a_base_element_moves_relative_urls_and_an_empty_action_is_the_page() {
        let inv = page(
            r#"<base href="https://cdn.example/v2/"><script src="a.js"></script><form></form>"#,
        );
        assert_eq!(
            inv.scripts[0].src.as_deref(),
            Some("https://cdn.example/v2/a.js")
        );
        assert_eq!(inv.forms[0].action, "https://shop.example/checkout/");
    }
}
