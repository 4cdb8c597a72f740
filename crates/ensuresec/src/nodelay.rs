//! Plain-HTTP listeners that send each response at once.

use axum::serve::{ListenerExt as _, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// `listener` with Nagle's algorithm off on every connection it accepts: with it on, a
/// response's last segment can wait for the client's delayed ACK, tens of milliseconds on a
/// request that took microseconds. (Over TLS the acceptor does the same.) The type is named,
/// not `impl Listener`, so that axum still hands the peer's address to the handlers.
pub fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(nagle_off)
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
}
