//! VAmPI, a deliberately vulnerable API: every flaw its README documents that a description can
//! show is found, at the right place.

mod common;

use common::{assert_lines_match_keys, audit_file, has, openapi_corpus};

#[test]
fn every_documented_flaw_visible_in_the_spec_is_found() {
    let Some(dir) = openapi_corpus() else { return };
    let report = audit_file(&dir.join("vampi-openapi3.yml"));
    let expected = [
        // Broken object-level authorisation: books by title, users by name.
        (
            "bola-unscoped-object-id",
            "/paths/~1books~1v1~1{book_title}/get/parameters/0",
        ),
        (
            "bola-unscoped-object-id",
            "/paths/~1users~1v1~1{username}/get/parameters/0",
        ),
        // Unauthorised password change: the user in the path, no scope ties it to the caller.
        (
            "bola-unscoped-object-id",
            "/paths/~1users~1v1~1{username}~1password/put/parameters/0",
        ),
        (
            "bola-unscoped-object-id",
            "/paths/~1users~1v1~1{username}~1email/put/parameters/0",
        ),
        // Mass assignment: registration accepts `admin`, which user objects carry.
        (
            "mass-assignment-open-body",
            "/paths/~1users~1v1~1register/post/requestBody/content/application~1json/schema",
        ),
        // Excessive data exposure through the debug endpoint.
        (
            "exposure-sensitive-field",
            "/paths/~1users~1v1~1_debug/get/responses/200/content/application~1json/schema/properties/users/items/properties/password",
        ),
        ("inventory-debug-endpoint", "/paths/~1users~1v1~1_debug/get"),
        // User and password enumeration: e-mails listed to anyone, login not rate-limited.
        (
            "exposure-personal-data-unauthenticated",
            "/paths/~1users~1v1/get/responses/200/content/application~1json/schema/properties/users/items/properties/email",
        ),
        (
            "rate-limit-missing",
            "/paths/~1users~1v1~1login/post/responses",
        ),
        // SQL injection through the user name: an unconstrained path string.
        (
            "unbounded-string",
            "/paths/~1users~1v1~1{username}/get/parameters/0/schema",
        ),
        // ReDoS on the e-mail check: an unbounded e-mail string.
        (
            "unbounded-string",
            "/paths/~1users~1v1~1{username}~1email/put/requestBody/content/application~1json/schema/properties/email",
        ),
        // Lack of resources and rate limiting on registration too.
        (
            "rate-limit-missing",
            "/paths/~1users~1v1~1register/post/responses",
        ),
        // JWT bypass via a weak key: nothing binds the tokens' audience, issuer or algorithm.
        (
            "auth-jwt-no-audience",
            "/components/securitySchemes/bearerAuth",
        ),
        // "Only Admins" may delete users, but no scope says so.
        (
            "bfla-admin-unscoped",
            "/paths/~1users~1v1~1{username}/delete",
        ),
        // The database can be re-created by anyone.
        ("inventory-debug-endpoint", "/paths/~1createdb/get"),
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|(r, p)| !has(&report, r, p))
        .collect();
    assert!(
        missing.is_empty(),
        "not found: {missing:#?}\nall: {:#?}",
        common::pairs(&report)
    );
    assert_lines_match_keys(&report);
    assert_eq!(report.operations, 14);
}

#[test]
fn vampi_findings_carry_owasp_categories_texts_and_lines() {
    let Some(dir) = openapi_corpus() else { return };
    let report = audit_file(&dir.join("vampi-openapi3.yml"));
    for f in &report.findings {
        assert!(f.line > 0, "{f:?}");
        assert!(!f.explanation.is_empty() && !f.fix.is_empty(), "{f:?}");
        assert!(f.message.len() > 10, "{f:?}");
    }
    let debug = report
        .findings
        .iter()
        .find(|f| f.rule == "exposure-sensitive-field")
        .expect("debug exposure");
    assert_eq!(debug.owasp.code(), "API3:2023");
    assert!(
        debug.message.contains("GET /users/v1/_debug"),
        "{}",
        debug.message
    );
    assert!(debug.message.contains("`password`"), "{}", debug.message);
}
