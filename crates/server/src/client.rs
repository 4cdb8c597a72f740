//! Who sent a request: the connection's peer address, or, when that peer is one of
//! `[server] trusted_proxies`, the client its `Forwarded` / `X-Forwarded-For` headers name (the
//! gateway's own rule, `ensuresec_gateway::client_ip`). Headers from any other peer are not
//! believed, so a browser cannot choose the address its reports are filed under.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ensuresec_gateway::client_ip::client_ip;

use crate::app::AppState;

/// The client's address; `None` when the server was started without connection information
/// (a router driven in-process), never a guess.
pub(crate) struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let trusted = &state.platform.config().server.trusted_proxies;
        Ok(ClientIp(
            peer.map(|peer| client_ip(peer, &parts.headers, trusted)),
        ))
    }
}
