//! `serve` over HTTPS with rustls, and clients that trust a private CA.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use support::{Server, TOKEN};

#[test]
fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let config = dir.path().join("tls.toml");
    std::fs::write(
        &config,
        format!(
            "[server.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            cert_file.display().to_string(),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);

    let trusted = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = trusted
        .get(server.url("/v1/incidents"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    // A client that does not trust the certificate refuses to talk; plain HTTP gets nowhere.
    let untrusting = reqwest::blocking::Client::new();
    assert!(untrusting.get(server.url("/healthz")).send().is_err());
    let plain = server.base.replace("https://", "http://");
    assert!(
        untrusting
            .get(format!("{plain}/healthz"))
            .send()
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );

    // The ingest command trusts the private CA when told to.
    let events = dir.path().join("e.ndjson");
    std::fs::write(&events, support::stuffing("192.0.2.7", 3)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args([
            "ingest",
            "--server",
            &server.base,
            "--token",
            TOKEN,
            "--ca-cert",
        ])
        .arg(&cert_file)
        .arg(&events)
        .output()
        .unwrap();
    support::assert_success(&out);
}

#[test]
fn a_missing_certificate_file_is_named_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tls.toml");
    std::fs::write(&config, "[server.tls]\ncert_file = \"/nonexistent/cert.pem\"\nkey_file = \"/nonexistent/key.pem\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .env("ENSURESEC_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
}
