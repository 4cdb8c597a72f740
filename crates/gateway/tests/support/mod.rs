//! A small test shop (axum on 127.0.0.1:0) and a gateway in front of it, in-process.

#![allow(dead_code)] // each test file uses a different subset of these helpers

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use ensuresec_gateway::{Gateway, GatewayConfig};

/// The shop: counts the requests that reached it.
#[derive(Clone, Default)]
pub struct Shop {
    pub hits: Arc<AtomicUsize>,
    pub addr: Option<SocketAddr>,
}

impl Shop {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr.expect("started"))
    }
}

async fn catalogue(State(s): State<Shop>) -> &'static str {
    s.hits.fetch_add(1, Ordering::SeqCst);
    "catalogue"
}

async fn order(State(s): State<Shop>, body: String) -> String {
    s.hits.fetch_add(1, Ordering::SeqCst);
    format!("ordered {} bytes", body.len())
}

async fn headers(State(s): State<Shop>, h: HeaderMap) -> String {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    };
    format!(
        "xff={} proto={} rid={} host={}",
        get("x-forwarded-for"),
        get("x-forwarded-proto"),
        get("x-request-id"),
        get("host")
    )
}

/// Starts the shop.
pub async fn shop() -> Shop {
    let mut shop = Shop::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    shop.addr = Some(listener.local_addr().unwrap());
    let app = Router::new()
        .route("/", get(catalogue))
        .route("/products", get(catalogue))
        .route("/search", get(catalogue))
        .route("/checkout/order", post(order).get(catalogue))
        .route("/headers", get(headers))
        .with_state(shop.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    shop
}

/// Starts a gateway with `config` (listen address replaced by 127.0.0.1:0); returns its address.
pub async fn gateway(mut config: GatewayConfig) -> SocketAddr {
    config.listen = "127.0.0.1:0".parse().unwrap();
    let g = Gateway::bind(config).await.unwrap();
    let addr = g.local_addr().unwrap();
    tokio::spawn(g.run(std::future::pending()));
    addr
}

/// A gateway in front of a fresh shop, configured from TOML routes text (`{up}` is replaced by the
/// shop's URL).
pub async fn setup(toml: &str) -> (Shop, SocketAddr) {
    let shop = shop().await;
    let text = toml.replace("{up}", &shop.url());
    let config = GatewayConfig::from_toml(std::path::Path::new("test.toml"), &text).unwrap();
    let addr = gateway(config).await;
    (shop, addr)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Polls `f` until it gives `Some`, failing after `seconds`.
pub async fn wait_for<T, F, Fut>(what: &str, seconds: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
