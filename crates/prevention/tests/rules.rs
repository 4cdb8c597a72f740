//! Every rule on hand-written descriptions: `shop-bad.yaml` holds one instance of each weakness
//! (positive), `shop-good.yaml` the same shop with each fixed (negative: nothing is reported).

mod common;

use common::{assert_lines_match_keys, audit_file, has, pairs, spec_path};
use ensuresec_prevention::audit::ruleset::CHECK_IDS;

const BODY: &str = "requestBody/content/application~1json/schema";

fn expected() -> Vec<(&'static str, String)> {
    vec![
        ("bola-unscoped-object-id", "/paths/~1orders~1{orderId}/get/parameters/0".into()),
        ("bfla-admin-unscoped", "/paths/~1admin~1refunds/post".into()),
        ("auth-missing", "/paths/~1reviews/post/security".into()),
        ("auth-scheme-undefined", "/paths/~1customers/post/security/2/undefinedScheme".into()),
        ("auth-apikey-in-query", "/components/securitySchemes/key/in".into()),
        ("auth-http-basic", "/components/securitySchemes/basic/scheme".into()),
        ("auth-jwt-no-audience", "/components/securitySchemes/bearer".into()),
        ("auth-oauth-weak-flow", "/components/securitySchemes/oauth/flows/implicit".into()),
        ("exposure-sensitive-field", "/components/schemas/Customer/properties/password".into()),
        (
            "exposure-personal-data-unauthenticated",
            "/paths/~1catalogue/get/responses/200/content/application~1json/schema/items/properties/reviewer_email".into(),
        ),
        ("mass-assignment-writable-sensitive", format!("/paths/~1customers/post/{BODY}/properties/role")),
        ("mass-assignment-open-body", format!("/paths/~1customers~1signup/post/{BODY}")),
        ("rate-limit-missing", "/paths/~1payments/post/responses".into()),
        ("rate-limit-missing", "/paths/~1customers~1signup/post/responses".into()),
        ("unbounded-string", format!("/paths/~1reviews/post/{BODY}/properties/text")),
        ("unbounded-array", format!("/paths/~1customers/post/{BODY}/properties/tags")),
        ("unbounded-number", "/paths/~1catalogue/get/parameters/0/schema".into()),
        ("ssrf-url-input", "/paths/~1webhooks/post/parameters/0/schema".into()),
        ("ssrf-url-input", format!("/paths/~1webhooks/post/{BODY}/properties/target")),
        ("tls-missing", "/servers/0/url".into()),
        ("tls-missing", "/components/securitySchemes/oauth/flows/implicit/authorizationUrl".into()),
        ("inventory-debug-endpoint", "/paths/~1internal~1dump/get".into()),
        ("errors-none-declared", "/paths/~1health/get/responses".into()),
        ("errors-inconsistent", "/paths/~1customers/post/responses/409".into()),
        // Consequences of the planted weaknesses: a refund amount without a maximum, refunds
        // without rate limiting, and the camel-case spelling of the e-mail field.
        ("unbounded-number", format!("/paths/~1admin~1refunds/post/{BODY}/properties/amount")),
        ("rate-limit-missing", "/paths/~1admin~1refunds/post/responses".into()),
        (
            "exposure-personal-data-unauthenticated",
            "/paths/~1catalogue/get/responses/200/content/application~1json/schema/items/properties/reviewerEmail".into(),
        ),
    ]
}

#[test]
fn every_rule_fires_where_the_weakness_is() {
    let report = audit_file(&spec_path("shop-bad.yaml"));
    let expected = expected();
    let missing: Vec<_> = expected
        .iter()
        .filter(|(r, p)| !has(&report, r, p))
        .collect();
    assert!(
        missing.is_empty(),
        "not found: {missing:#?}\nall: {:#?}",
        pairs(&report)
    );
    for id in CHECK_IDS {
        assert!(
            expected.iter().any(|(r, _)| r == id),
            "rule {id} has no positive case"
        );
    }
    assert_lines_match_keys(&report);
}

#[test]
fn the_bad_shop_reports_nothing_beyond_its_planted_weaknesses() {
    let report = audit_file(&spec_path("shop-bad.yaml"));
    let expected = expected();
    let extra: Vec<_> = pairs(&report)
        .into_iter()
        .filter(|(r, p)| !expected.iter().any(|(er, ep)| er == r && ep == p))
        .collect();
    // Bounded enum items, uuid formats, `readOnly`-free but non-privileged fields, the log-in
    // exemption and response-only strings stay silent.
    assert!(extra.is_empty(), "unexpected findings: {extra:#?}");
}

#[test]
fn the_fixed_shop_reports_nothing() {
    let report = audit_file(&spec_path("shop-good.yaml"));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.operations, 8);
}

#[test]
fn findings_in_a_referenced_file_name_that_file_and_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://a.example'}]\n\
         paths:\n  /orders:\n    get:\n      security: []\n      responses:\n        '200':\n          \
         $ref: 'parts/r.yaml#/Ok'\n        default: {description: error}\n",
    )
    .expect("write");
    std::fs::create_dir(dir.path().join("parts")).expect("mkdir");
    std::fs::write(
        dir.path().join("parts/r.yaml"),
        "Ok:\n  description: ok\n  content:\n    application/json:\n      schema:\n        type: object\n        properties:\n          phone: {type: string}\n",
    )
    .expect("write");
    let report = audit_file(&dir.path().join("api.yaml"));
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "exposure-personal-data-unauthenticated")
        .expect("phone returned without authentication");
    assert!(f.file.ends_with("parts/r.yaml"), "{}", f.file.display());
    assert_eq!(
        f.pointer,
        "/Ok/content/application~1json/schema/properties/phone"
    );
    assert_eq!(f.line, 8);
}
