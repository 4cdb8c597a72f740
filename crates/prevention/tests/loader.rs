//! The loader on bad input: every refusal names the file, the line and (where there is one) the
//! JSON pointer; nothing hangs or panics on cycles, deep nesting or huge files.

use std::path::{Path, PathBuf};

use ensuresec_prevention::{Limits, SpecError, load};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn load_err(path: &Path, limits: Limits) -> SpecError {
    load(path, limits).expect_err("must be refused")
}

const HEAD: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

#[test]
fn a_ref_cycle_is_an_error_naming_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "api.yaml",
        &format!("{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A: {{$ref: 'other.yaml#/B'}}\n"),
    );
    write(
        dir.path(),
        "other.yaml",
        "B:\n  $ref: 'api.yaml#/components/schemas/A'\n",
    );
    let err = load_err(&path, Limits::default());
    assert!(err.message.contains("cycle"), "{err}");
    assert!(err.line > 0, "{err}");
    assert!(err.pointer.is_some(), "{err}");
}

#[test]
fn recursive_schemas_are_legal_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "api.yaml",
        &format!(
            "{HEAD}servers: [{{url: 'https://a'}}]\npaths:\n  /n:\n    post:\n      security: [{{k: [s]}}]\n      requestBody:\n        content:\n          application/json:\n            schema: {{$ref: '#/components/schemas/Node'}}\n      responses: {{'204': {{description: ok}}, default: {{description: e}}}}\ncomponents:\n  securitySchemes: {{k: {{type: oauth2, flows: {{clientCredentials: {{tokenUrl: 'https://t', scopes: {{s: s}}}}}}}}}}\n  schemas:\n    Node:\n      type: object\n      additionalProperties: false\n      properties:\n        name: {{type: string}}\n        child: {{$ref: '#/components/schemas/Node'}}\n"
        ),
    );
    let spec = load(&path, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let report = ensuresec_prevention::audit(&spec, &ensuresec_prevention::RuleSet::builtin());
    let names: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.pointer.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![(
            "unbounded-string",
            "/components/schemas/Node/properties/name"
        )]
    );
}

#[test]
fn too_long_a_ref_chain_is_an_error_naming_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = format!("{HEAD}paths: {{}}\ncomponents:\n  schemas:\n");
    for i in 0..10 {
        text.push_str(&format!(
            "    S{i}: {{$ref: '#/components/schemas/S{}'}}\n",
            i + 1
        ));
    }
    text.push_str("    S10: {type: string}\n");
    let path = write(dir.path(), "api.yaml", &text);
    let limits = Limits {
        max_ref_depth: 5,
        ..Limits::default()
    };
    let err = load_err(&path, limits);
    assert!(err.message.contains("more than 5 `$ref`s"), "{err}");
    assert!(load(&path, Limits::default()).is_ok());
}

#[test]
fn missing_remote_and_dangling_refs_name_the_ref_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (reference, words) in [
        ("'#/components/schemas/Nope'", "points to nothing"),
        ("'https://example.com/s.yaml#/A'", "remote reference"),
        ("'missing.yaml#/A'", "cannot open"),
        ("'#anchor'", "not a JSON pointer"),
    ] {
        let path = write(
            dir.path(),
            "api.yaml",
            &format!(
                "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      $ref: {reference}\n"
            ),
        );
        let err = load_err(&path, Limits::default());
        assert!(err.message.contains(words), "{reference}: {err}");
        assert_eq!(err.line, 7, "{reference}: {err}");
        assert_eq!(
            err.pointer.as_deref(),
            Some("/components/schemas/A/$ref"),
            "{reference}: {err}"
        );
        assert_eq!(err.file, path, "{reference}: {err}");
    }
}

#[test]
fn huge_deep_malformed_and_foreign_documents_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = write(
        dir.path(),
        "big.yaml",
        &format!("{HEAD}x: '{}'\n", "a".repeat(5000)),
    );
    let err = load_err(
        &big,
        Limits {
            max_file_bytes: 4096,
            ..Limits::default()
        },
    );
    assert!(
        err.message.contains("larger than the limit of 4096 bytes"),
        "{err}"
    );

    let deep = write(
        dir.path(),
        "deep.json",
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let err = load_err(&deep, Limits::default());
    assert!(
        err.message.contains("deeper than") || err.message.contains("recursion limit"),
        "{err}"
    );

    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!("{HEAD}paths:\n  /a: [1, 2\n"),
    );
    let err = load_err(&bad, Limits::default());
    assert!(err.line >= 4, "{err}");
    assert!(
        err.to_string().starts_with(&bad.display().to_string()),
        "{err}"
    );

    let swagger = write(dir.path(), "sw.json", "{\n  \"swagger\": \"2.0\"\n}\n");
    let err = load_err(&swagger, Limits::default());
    assert!(err.message.contains("Swagger 2.0"), "{err}");
    assert_eq!(err.line, 2, "{err}");

    let version = write(dir.path(), "v.yaml", "openapi: 4.0.0\n");
    assert!(
        load_err(&version, Limits::default())
            .message
            .contains("`4.0.0` is not supported")
    );

    let paths = write(dir.path(), "p.yaml", &format!("{HEAD}paths: [1]\n"));
    let err = load_err(&paths, Limits::default());
    assert_eq!(err.pointer.as_deref(), Some("/paths"), "{err}");

    let binary = dir.path().join("bin.yaml");
    std::fs::write(&binary, [b'a', b':', b' ', 0xff, 0xfe, b'\n']).expect("write");
    assert!(
        load_err(&binary, Limits::default())
            .message
            .contains("UTF-8")
    );
}

#[test]
fn json_descriptions_are_read_with_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "api.json",
        "{\n  \"openapi\": \"3.1.0\",\n  \"info\": {\"title\": \"t\", \"version\": \"1\"},\n  \"servers\": [{\"url\": \"http://plain.example\"}],\n  \"paths\": {}\n}\n",
    );
    let spec = load(&path, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let report = ensuresec_prevention::audit(&spec, &ensuresec_prevention::RuleSet::builtin());
    let tls = report
        .findings
        .iter()
        .find(|f| f.rule == "tls-missing")
        .expect("http server");
    assert_eq!((tls.pointer.as_str(), tls.line), ("/servers/0/url", 4));
}
