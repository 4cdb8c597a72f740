//! The listening side: accept, optional TLS handshake, the byte scanner against smuggling, and
//! hyper's automatic HTTP/1.1 / HTTP/2 connection with the head-read timeout (slowloris) and
//! head size limit; graceful shutdown lets open requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::config::LimitsConfig;
use crate::proxy::{Conn, Proxy};
use crate::smuggling::Scanned;
use crate::tls::Reloadable;

/// hyper's smallest HTTP/1 read buffer.
const MIN_H1_BUFFER: usize = 8192;

/// Builds hyper's connection builder with our limits.
pub fn builder(limits: &LimitsConfig) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(limits.max_header_bytes.max(MIN_H1_BUFFER))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256);
    b
}

/// Accepts until `shutdown` resolves, then waits for open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    tls: Option<Arc<Reloadable>>,
    limits: LimitsConfig,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(builder(&limits));
    let graceful = GracefulShutdown::new();
    let handshake_timeout = Duration::from_millis(limits.header_read_timeout_ms);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let proxy = Arc::clone(&proxy);
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let tls = tls.as_ref().map(|t| t.acceptor());
        tokio::spawn(async move {
            match tls {
                None => serve_one(&builder, watcher, stream, peer, false, proxy).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(tls_stream)) => {
                            serve_one(&builder, watcher, tls_stream, peer, true, proxy).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn serve_one<IO>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
    io: IO,
    peer: SocketAddr,
    tls: bool,
    proxy: Arc<Proxy>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let smuggling = Arc::new(AtomicBool::new(false));
    let conn = Arc::new(Conn {
        peer,
        tls,
        smuggling: Arc::clone(&smuggling),
    });
    let service = service_fn(move |req| Arc::clone(&proxy).handle(req, Arc::clone(&conn)));
    // With upgrades: a WebSocket handshake the proxy passed on becomes a tunnel.
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(Scanned::new(io, smuggling)), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
