//! Raw TCP clients: request smuggling (conflicting lengths, obsolete line folding) gets 400 and
//! never reaches the shop; a slowloris client is cut off after the head-read timeout.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ROUTES: &str = r#"
[gateway]
[gateway.limits]
header_read_timeout_ms = 500
[[gateway.routes]]
prefix = "/"
upstream = "{up}"
"#;

/// Sends `raw` and reads until the server closes or 10 s pass.
async fn exchange(gw: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(gw).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_content_length_and_transfer_encoding_get_400() {
    let (shop, gw) = support::setup(ROUTES).await;
    for raw in [
        &b"POST /checkout/order HTTP/1.1\r\nHost: shop\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX"[..],
        &b"POST /checkout/order HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"[..],
    ] {
        let answer = exchange(gw, raw).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    assert_eq!(shop.hits(), 0);
    // A plain chunked request is fine.
    let ok = exchange(
        gw,
        b"POST /checkout/order HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert_eq!(shop.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obsolete_line_folding_gets_400() {
    let (shop, gw) = support::setup(ROUTES).await;
    let answer = exchange(
        gw,
        b"GET / HTTP/1.1\r\nHost: shop\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(shop.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_cut_off() {
    let (shop, gw) = support::setup(ROUTES).await;
    let mut s = TcpStream::connect(gw).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: shop\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // Keep trickling header bytes; the gateway must close the connection (the head never
    // completes), whatever the trickle.
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(20) {
        if s.write_all(b"X-a: b\r\n").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {
                // An error answer (408) before the close also counts; keep reading to the close.
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the connection stayed open for 20 s");
    assert_eq!(shop.hits(), 0);
}
