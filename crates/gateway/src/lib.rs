//! `ensuresec gateway`: a reverse proxy in front of a shop that inspects every request with the
//! web-attack engine, enforces the response module's decisions, honours fail-safe mode and
//! reports every request as an event.
//!
//! Built on hyper 1 and hyper-util (HTTP/1.1 and HTTP/2, connection pools) with tokio-rustls for
//! TLS: well kept, no C, and the request body is in our hands before it goes anywhere.
//!
//! # Code map
//! - [`config`]: the `[gateway]` section, strict and validated.
//! - [`server`]: accept, TLS, smuggling scanner, hyper connections, graceful shutdown.
//! - [`proxy`]: the request path, in order: smuggling, route, decisions, fail-safe, rate limit,
//!   body, inspection, forwarding, access log and event.
//! - [`route`], [`upstream`]: routes by longest prefix; the keep-alive pool to upstreams.
//! - [`client_ip`], [`headers`]: who the client is behind trusted proxies; headers added and
//!   removed (forwarding, hop-by-hop, security headers).
//! - [`inspect`]: the engine's view of a request and the route's verdict.
//! - [`authority`]: where decisions and the fail-safe position come from and events go — a
//!   remote serve ([`link`]) or the serve the gateway runs in ([`inprocess`]).
//! - [`enforce`], [`failsafe`], [`events`]: the decision index, the local fail-safe floor, the
//!   event batcher.
//! - [`events_client`]: batches posted to a serve with a key and retries (the link, and the
//!   `ingest` and `simulate` commands).
//! - [`limits`], [`smuggling`]: rate limits, bounded bodies, CL/TE conflicts.
//! - [`challenge`], [`challenge_http`]: the proof-of-work page for challenged clients.
//! - [`age`]: proof of age at checkout for restricted products, verified by the platform.
//! - [`tls`], [`access_log`], [`pages`], [`request_id`]: the rest.

pub mod access_log;
pub mod age;
pub mod authority;
pub mod challenge;
pub mod challenge_http;
pub mod client_ip;
pub mod client_tls;
pub mod config;
pub mod enforce;
pub mod error;
pub mod events;
pub mod events_client;
pub mod failsafe;
pub mod headers;
pub mod inprocess;
pub mod inspect;
pub mod limits;
pub mod link;
pub mod pages;
pub mod proxy;
pub mod request_id;
pub mod route;
pub mod server;
pub mod smuggling;
pub mod tls;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use ensuresec_webattack::{Engine, EngineConfig};
use tokio::net::TcpListener;

pub use authority::Authority;
pub use config::GatewayConfig;
pub use error::GatewayError;

/// Requests per second a throttled client gets (and its burst).
pub const THROTTLE_PER_SECOND: u32 = 1;
/// Burst allowed to a throttled client.
pub const THROTTLE_BURST: u32 = 5;

/// A gateway bound to its address, ready to run.
pub struct Gateway {
    listener: TcpListener,
    proxy: Arc<proxy::Proxy>,
    tls: Option<Arc<tls::Reloadable>>,
    limits: config::LimitsConfig,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.listener.local_addr().ok())
            .finish()
    }
}

impl Gateway {
    /// Builds everything (engine, routes, TLS, link to the serve) and binds the address: linked
    /// to the serve of `[gateway.serve]`, or to nothing without it. Must run inside a tokio
    /// runtime: the link's tasks start here.
    pub async fn bind(config: GatewayConfig) -> Result<Gateway, GatewayError> {
        config.validate()?;
        let authority: Arc<dyn Authority> = match &config.serve {
            Some(link) => Arc::new(link::Remote::start(link)?),
            None => Arc::new(authority::Standalone),
        };
        Gateway::bind_with(config, authority).await
    }

    /// Like [`bind`](Self::bind), taking orders from and reporting to `authority` (the serve's
    /// own modules, for the gateway inside `ensuresec serve`); `[gateway.serve]` is ignored.
    pub async fn bind_with(
        config: GatewayConfig,
        authority: Arc<dyn Authority>,
    ) -> Result<Gateway, GatewayError> {
        config.validate()?;
        let engine = Engine::embedded(EngineConfig {
            paranoia: config.inspection.paranoia,
            inbound_threshold: config.inspection.threshold,
            disabled: config.inspection.disabled_rules.clone(),
            ..EngineConfig::default()
        })?;
        let routes =
            route::Routes::new(&config.routes, config.inspection.threshold).map_err(|m| {
                GatewayError::Config {
                    key: "gateway.routes".into(),
                    message: m,
                }
            })?;
        let tls = match &config.tls {
            Some(t) => Some(Arc::new(tls::Reloadable::new(t.clone())?)),
            None => None,
        };
        let access_log = match &config.access_log {
            Some(p) => Some(access_log::AccessLog::open(p)?),
            None => None,
        };
        let throttle = limits::RateLimit::new(
            NonZeroU32::new(THROTTLE_PER_SECOND).unwrap_or(NonZeroU32::MIN),
            NonZeroU32::new(THROTTLE_BURST).unwrap_or(NonZeroU32::MIN),
        );
        let pool = upstream::pool(config.upstream_ca_file.as_deref(), routes.any_tls())?;
        let age_gates = age::AgeGates::new(config.age_gates.clone());
        if !age_gates.is_empty() && authority.age_verifier().is_none() {
            return Err(GatewayError::Config {
                key: "gateway.age_gates".into(),
                message: "proofs of age are verified by the platform: link a serve ([gateway.serve]) or run the gateway inside a serve with [identity] enabled".into(),
            });
        }
        let proxy = Arc::new(proxy::Proxy {
            routes,
            engine,
            pool,
            trusted: config.trusted_proxies.clone(),
            identity: config.identity.clone(),
            limits: config.limits.clone(),
            authority,
            throttle,
            switch: failsafe::Switch::new(config.failsafe.clone()),
            access_log,
            security: headers::SecurityHeaders::new(&config.headers),
            csp_report_path: config.headers.csp_report_path.clone(),
            ids: request_id::RequestIds::default(),
            challenge: challenge::Challenger::new(&config.challenge)?,
            age_gates,
        });
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| GatewayError::Listen {
                    addr: config.listen,
                    source,
                })?;
        Ok(Gateway {
            listener,
            proxy,
            tls,
            limits: config.limits,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Whether it terminates TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS configuration holder, to reload certificates (on SIGHUP in the CLI).
    pub fn tls(&self) -> Option<Arc<tls::Reloadable>> {
        self.tls.clone()
    }

    /// Serves until `shutdown` resolves, then lets open requests finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        server::serve(self.listener, self.proxy, self.tls, self.limits, shutdown).await;
    }
}
