//! TLS termination with a test certificate: HTTP/1.1 and HTTP/2 (ALPN), and a reload that
//! serves the new certificate to new connections while open ones carry on.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::Path;

use ensuresec_gateway::config::TlsConfig;
use ensuresec_gateway::{Gateway, GatewayConfig};

fn write_cert(dir: &Path) -> String {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    cert.cert.pem()
}

fn trusting(pem: &str, http2: bool) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .tls_built_in_root_certs(false);
    let b = if http2 { b } else { b.http1_only() };
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_http1_and_http2_and_reloads_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_cert(dir.path());
    let shop = support::shop().await;
    let mut config = GatewayConfig::simple("127.0.0.1:0".parse().unwrap(), &shop.url());
    config.tls = Some(TlsConfig {
        cert_file: dir.path().join("cert.pem"),
        key_file: dir.path().join("key.pem"),
    });
    let gateway = Gateway::bind(config).await.unwrap();
    let addr = gateway.local_addr().unwrap();
    let tls = gateway.tls().unwrap();
    tokio::spawn(gateway.run(std::future::pending()));
    let url = format!("https://localhost:{}/products", addr.port());

    let h2 = trusting(&first, true);
    let r = h2.get(&url).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN picks h2");
    assert_eq!(r.text().await.unwrap(), "catalogue");
    let h1 = trusting(&first, false);
    let r = h1.get(&url).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.status(), 200);
    // Plain HTTP to the TLS port gets nowhere.
    assert!(
        reqwest::get(format!("http://{addr}/products"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );

    let second = write_cert(dir.path());
    tls.reload().unwrap();
    // The open HTTP/2 connection carries on with the old certificate.
    let r = h2.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // New connections get the new certificate: trusting only the old one fails.
    assert!(trusting(&first, false).get(&url).send().await.is_err());
    let r = trusting(&second, false).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // A broken file keeps the current certificate.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    assert!(tls.reload().is_err());
    let r = trusting(&second, false).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
