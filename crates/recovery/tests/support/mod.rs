//! A real local test shop for the scenarios: an HTTP server (front end, checkout script, API,
//! login, coupons, partner webhook, tracking, cold-room monitoring), TCP services standing in
//! for the two databases and the sensor gateway, a sensor that reports through the gateway, and
//! a control folder where the configured recovery commands act. A stopped service comes back
//! when its restart command drops `restart-NAME` in the control folder, as a supervisor would.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use ensuresec_assets::AssetModel;
use ensuresec_recovery::DepGraph;
use ensuresec_recovery::config::RecoveryConfig;
use ensuresec_recovery::probe::Heartbeats;
use tempfile::TempDir;
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;

pub const ORIGINAL_SCRIPT: &str = "/* ORIGINAL-CHECKOUT v1 */ function pay() { submit(form); }";
pub const LEAKED_SECRET: &str = "leaked-secret";

pub fn now() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // heartbeats and probes run against the real clock
    Utc::now()
}

/// A TCP service that accepts connections on a fixed port while running.
///
/// The port stays bound (not listening) for the service's whole life, so while it is stopped
/// nothing else can take it: not another test's service choosing a free port, and not the
/// kernel choosing it as the source port of a probe's connection (which would then connect to
/// itself). A probe of a stopped service is always refused.
pub struct Service {
    pub name: &'static str,
    pub address: SocketAddr,
    _reserved: TcpSocket,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A TCP socket that may share its port with the service's reservation.
fn shareable_socket() -> TcpSocket {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket
}

impl Service {
    fn new(name: &'static str) -> Arc<Service> {
        let reserved = shareable_socket();
        reserved.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let address = reserved.local_addr().unwrap();
        Arc::new(Service {
            name,
            address,
            _reserved: reserved,
            task: Mutex::new(None),
        })
    }

    /// Starts accepting on the reserved port.
    pub fn start(&self) {
        let socket = shareable_socket();
        socket.bind(self.address).unwrap();
        let listener = socket.listen(128).unwrap();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Stops: the port refuses connections.
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    fn running(&self) -> bool {
        self.task
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

async fn reachable(address: SocketAddr) -> bool {
    tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(address),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

#[derive(Clone)]
struct ShopState {
    web_root: PathBuf,
    control: PathBuf,
    order_db: SocketAddr,
    customer_db: SocketAddr,
    heartbeats: Arc<Mutex<Heartbeats>>,
}

fn status(ok: bool) -> StatusCode {
    if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

impl ShopState {
    async fn api_ok(&self) -> bool {
        reachable(self.order_db).await && reachable(self.customer_db).await
    }
    fn webhook_ok(&self) -> bool {
        let secret =
            std::fs::read_to_string(self.control.join("webhook.secret")).unwrap_or_default();
        let sessions = std::fs::read_dir(self.control.join("sessions"))
            .map(|d| d.count())
            .unwrap_or(0);
        !secret.trim().is_empty() && secret.trim() != LEAKED_SECRET && sessions == 0
    }
    fn sensors_fresh(&self) -> bool {
        self.heartbeats
            .lock()
            .unwrap()
            .get("temperature-sensors")
            .is_some_and(|t| (now() - *t).num_seconds() <= 5)
    }
}

async fn page(State(s): State<ShopState>) -> (StatusCode, String) {
    let script = std::fs::read_to_string(s.web_root.join("js/checkout.js")).unwrap_or_default();
    let ok = s.api_ok().await;
    (
        status(ok),
        format!("<html><script>{script}</script></html>"),
    )
}

async fn script(State(s): State<ShopState>) -> String {
    std::fs::read_to_string(s.web_root.join("js/checkout.js")).unwrap_or_default()
}

/// The whole shop.
pub struct Shop {
    pub dir: TempDir,
    pub web_root: PathBuf,
    pub control: PathBuf,
    pub order_db: Arc<Service>,
    pub gateway: Arc<Service>,
    pub heartbeats: Arc<Mutex<Heartbeats>>,
    pub model: AssetModel,
    pub graph: DepGraph,
    pub config: RecoveryConfig,
}

impl Shop {
    /// Everything running and healthy, with an integrity baseline of the web root.
    pub async fn start() -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let web_root = dir.path().join("www");
        let control = dir.path().join("control");
        let state_dir = dir.path().join("integrity");
        std::fs::create_dir_all(web_root.join("js")).unwrap();
        std::fs::create_dir_all(control.join("sessions")).unwrap();
        std::fs::write(web_root.join("js/checkout.js"), ORIGINAL_SCRIPT).unwrap();
        std::fs::write(web_root.join("index.html"), "<html>shop</html>").unwrap();
        std::fs::write(control.join("webhook.secret"), "first-secret\n").unwrap();
        let state = ensuresec_integrity::StateDir::open(&state_dir, None).unwrap();
        ensuresec_integrity::ops::create(&state, &web_root, vec![], now(), None).unwrap();

        let order_db = Service::new("order-db");
        let customer_db = Service::new("customer-db");
        let gateway = Service::new("sensor-gateway");
        for s in [&order_db, &customer_db, &gateway] {
            s.start();
        }
        let heartbeats = Arc::new(Mutex::new(HashMap::from([(
            "delivery-partner".to_string(),
            now(),
        )])));
        let state = ShopState {
            web_root: web_root.clone(),
            control: control.clone(),
            order_db: order_db.address,
            customer_db: customer_db.address,
            heartbeats: heartbeats.clone(),
        };
        let app = Router::new()
            .route("/", get(page))
            .route("/js/checkout.js", get(script))
            .route("/api/health", get(|State(s): State<ShopState>| async move { status(s.api_ok().await) }))
            .route("/identity/health", get(|State(s): State<ShopState>| async move { status(reachable(s.customer_db).await) }))
            .route("/promotions/health", get(|State(s): State<ShopState>| async move { status(reachable(s.order_db).await) }))
            .route("/webhook/health", get(|State(s): State<ShopState>| async move { status(s.webhook_ok()) }))
            .route("/tracking/health", get(|State(s): State<ShopState>| async move { status(s.webhook_ok()) }))
            .route("/cold-room/health", get(|State(s): State<ShopState>| async move { status(s.sensors_fresh()) }))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let shop = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        // The supervisor: a restart command leaves `restart-NAME`; the service comes back.
        let services = vec![order_db.clone(), customer_db.clone(), gateway.clone()];
        let watched = control.clone();
        tokio::spawn(async move {
            loop {
                for s in &services {
                    let flag = watched.join(format!("restart-{}", s.name));
                    if flag.exists() {
                        std::fs::remove_file(&flag).unwrap();
                        s.stop();
                        s.start();
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        // The temperature sensors report through the gateway while it accepts them.
        let sensor_beats = heartbeats.clone();
        let gw = gateway.clone();
        tokio::spawn(async move {
            loop {
                if gw.running() && reachable(gw.address).await {
                    // Checked again under the lock, so that no report lands after a stop.
                    let mut beats = sensor_beats.lock().unwrap();
                    if gw.running() {
                        beats.insert("temperature-sensors".into(), now());
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });

        let model_text = include_str!("../../scenarios/assets.yaml");
        let model = AssetModel::from_yaml("scenarios/assets.yaml", model_text).unwrap();
        let graph = DepGraph::from_model(&model);
        let config_text = include_str!("../../scenarios/recovery.yaml")
            .replace("{SHOP}", &shop.to_string())
            .replace("{ORDER_DB}", &order_db.address.to_string())
            .replace("{CUSTOMER_DB}", &customer_db.address.to_string())
            .replace("{GATEWAY}", &gateway.address.to_string())
            .replace("{DIR}", &control.display().to_string())
            .replace("{STATE}", &state_dir.display().to_string());
        let config = RecoveryConfig::from_yaml("recovery.yaml", &config_text, &graph).unwrap();
        Shop {
            dir,
            web_root,
            control,
            order_db,
            gateway,
            heartbeats,
            model,
            graph,
            config,
        }
    }

    /// Polls until the sensor has reported through the gateway (it reports every 50 ms).
    pub async fn wait_for_sensor(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self
            .heartbeats
            .lock()
            .unwrap()
            .contains_key("temperature-sensors")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the sensor never reported"
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops a service and polls until its port refuses connections.
    pub async fn fail(&self, service: &Service) {
        service.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while reachable(service.address).await {
            assert!(
                std::time::Instant::now() < deadline,
                "{} did not stop",
                service.name
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn heartbeats(&self) -> Heartbeats {
        self.heartbeats.lock().unwrap().clone()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        Path::new(&self.dir.path()).join(rel)
    }
}
