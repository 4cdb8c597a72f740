//! The page monitor's parsers on arbitrary input: HTML into an inventory, a CSP header into
//! directives and the weakening check, and both CSP report formats; never a panic. A policy is
//! never weaker than itself, and every parsed report names its page.
#![no_main]

use std::collections::BTreeMap;

use ensuresec_integrity::pages::csp::{Policy, weakening};
use ensuresec_integrity::pages::csp_report::{self, ReportFormat};
use ensuresec_integrity::pages::inventory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://shop.example/checkout/").expect("a valid URL");
    let inv = inventory::parse(
        &url,
        200,
        BTreeMap::new(),
        data,
        chrono::DateTime::UNIX_EPOCH,
    );
    assert!(inv.text.len() <= inventory::MAX_TEXT_CHARS);
    assert!(inv.scripts.len() <= inventory::MAX_ITEMS);

    let text = String::from_utf8_lossy(data);
    let p = Policy::parse(&text);
    assert!(
        weakening(&p, &p).is_empty(),
        "a policy is not weaker than itself"
    );
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid -= 1;
    }
    let (a, b) = text.split_at(mid);
    let _ = weakening(&Policy::parse(a), &Policy::parse(b)).describe();

    for format in [
        ReportFormat::CspReport,
        ReportFormat::ReportingApi,
        ReportFormat::Json,
    ] {
        if let Ok(reports) = csp_report::parse(format, data) {
            assert!(reports.len() <= csp_report::MAX_REPORTS);
            assert!(reports.iter().all(|r| !r.document_uri.is_empty()));
        }
    }
});
