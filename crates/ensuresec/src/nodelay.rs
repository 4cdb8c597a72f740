//! Listeners that send each response, and each step of a TLS handshake, at once.

use axum::serve::{ListenerExt as _, TapIo};
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::net::{TcpListener, TcpStream};

/// `listener` with Nagle's algorithm off on every connection it accepts: with it on, a
/// response's last segment can wait for the client's delayed ACK, tens of milliseconds on a
/// request that took microseconds. The type is named, not `impl Listener`, so that axum still
/// hands the peer's address to the handlers.
pub fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(nagle_off)
}

/// The TLS acceptor of `serve`: rustls over connections with Nagle's algorithm off, as
/// [`without_nagle`] gives plain HTTP. axum-server's default TLS acceptor leaves it on, and then
/// every new connection's handshake waited about 40 ms for the client's delayed ACK
/// (bench/RESULTS.md, "HTTP").
pub fn tls_without_nagle(config: RustlsConfig) -> RustlsAcceptor<NoDelayAcceptor> {
    RustlsAcceptor::new(config).acceptor(NoDelayAcceptor::new())
}

fn nagle_off(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener as _;
    use axum_server::accept::Accept as _;
    use std::sync::Arc;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut listener = without_nagle(listener);
        let client = TcpStream::connect(addr);
        let ((accepted, peer), client) = tokio::join!(listener.accept(), client);
        let client = client.expect("connect");
        assert_eq!(peer, client.local_addr().expect("client address"));
        assert!(accepted.nodelay().expect("read TCP_NODELAY"));
        assert!(
            !client.nodelay().expect("read TCP_NODELAY"),
            "off by default"
        );
    }

    #[tokio::test]
    async fn accepted_tls_connections_have_nagle_off() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let config = RustlsConfig::from_pem(
            made.cert.pem().into_bytes(),
            made.signing_key.serialize_pem().into_bytes(),
        )
        .await
        .expect("server config");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(made.cert.der().clone()).expect("root");
        let client_config = Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        // A real client's handshake, on a blocking socket beside the server's task.
        let client = tokio::task::spawn_blocking(move || {
            let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
            let name = "localhost".try_into().expect("server name");
            let mut tls = rustls::ClientConnection::new(client_config, name).expect("client");
            while tls.is_handshaking() {
                tls.complete_io(&mut tcp).expect("client handshake");
            }
            tcp
        });
        let (tcp, _) = listener.accept().await.expect("accept");
        let (tls, ()) = tls_without_nagle(config)
            .accept(tcp, ())
            .await
            .expect("server handshake");
        assert!(tls.get_ref().0.nodelay().expect("read TCP_NODELAY"));
        let client = client.await.expect("client task");
        assert!(
            !client.nodelay().expect("read TCP_NODELAY"),
            "off by default"
        );
    }
}
