//! Upstreams beyond plain HTTP: a real TLS upstream (rcgen certificate, trusted through
//! `upstream_ca_file`, refused when signed by someone else), and a real WebSocket echo upstream
//! behind the gateway (handshake inspected, then frames both ways; an attack in the handshake
//! never reaches the upstream).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{SinkExt, StreamExt};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use support::client;
use tokio_tungstenite::tungstenite::Message;

/// An HTTPS shop on 127.0.0.1:0 with a fresh certificate for `localhost`; returns its port and
/// the certificate (PEM).
async fn tls_shop() -> (u16, String) {
    ensuresec_gateway::tls::install_provider();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let pem = cert.cert.pem();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                    let body = format!("secure shop: {}", req.uri().path());
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from(body)),
                    ))
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, pem)
}

async fn gateway_to(upstream: &str, ca_file: &std::path::Path) -> SocketAddr {
    let mut config =
        ensuresec_gateway::GatewayConfig::simple("127.0.0.1:0".parse().unwrap(), upstream);
    config.upstream_ca_file = Some(ca_file.to_path_buf());
    support::gateway(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstreams_are_reached_over_verified_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (port, pem) = tls_shop().await;
    let upstream = format!("https://localhost:{port}");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let gw = gateway_to(&upstream, &ca).await;
    let r = client()
        .get(format!("http://{gw}/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "secure shop: /products");

    // Trusting another CA, the gateway refuses the shop's certificate: 502, never the page.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let wrong = dir.path().join("other.pem");
    std::fs::write(&wrong, other.cert.pem()).unwrap();
    let gw = gateway_to(&upstream, &wrong).await;
    let r = client()
        .get(format!("http://{gw}/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(!r.text().await.unwrap().contains("secure shop"));
}

/// A WebSocket echo server on 127.0.0.1:0; counts the handshakes it accepted.
async fn echo() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() || m.is_binary() {
                        if ws.send(m).await.is_err() {
                            return;
                        }
                    } else if m.is_close() {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_pass_through_after_their_handshake_is_inspected() {
    let (upstream, accepted) = echo().await;
    let gw = support::gateway(ensuresec_gateway::GatewayConfig::simple(
        "127.0.0.1:0".parse().unwrap(),
        &format!("http://{upstream}"),
    ))
    .await;

    let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{gw}/live"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(response.headers().contains_key("x-request-id"));
    for text in ["hello", "second message"] {
        ws.send(Message::text(text)).await.unwrap();
        let back = ws.next().await.unwrap().unwrap();
        assert_eq!(back.into_text().unwrap().as_str(), text);
    }
    let payload: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    ws.send(Message::binary(payload.clone())).await.unwrap();
    let back = ws.next().await.unwrap().unwrap();
    assert_eq!(back.into_data().as_ref(), payload.as_slice());
    ws.close(None).await.unwrap();
    assert_eq!(accepted.load(Ordering::SeqCst), 1);

    // An attack in the handshake is refused by the gateway and never reaches the upstream.
    let err = tokio_tungstenite::connect_async(format!(
        "ws://{gw}/live?q=1%27%20UNION%20SELECT%20password%20FROM%20users--"
    ))
    .await
    .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(r) => assert_eq!(r.status(), 403),
        other => panic!("expected a 403 answer, got {other}"),
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
