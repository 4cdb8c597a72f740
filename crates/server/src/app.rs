//! The HTTP application: routes and shared state.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use ensuresec_model::Limits;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::Platform;
use crate::routes::{
    alerts, assets, decisions, diagnosis, events, health, identity, incidents, integrity, ledger,
    meta, payments, recovery, response, stream,
};

/// The global budget of CSP violation reports (unauthenticated, so bounded as a whole).
pub type ReportLimiter = governor::DefaultDirectRateLimiter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The running platform.
    pub platform: Arc<Platform>,
    /// Metrics rendering.
    pub metrics: PrometheusHandle,
    /// Event decoding limits.
    pub limits: Limits,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Time allowed to read a body.
    pub body_timeout: Duration,
    /// The asset model incidents are mapped onto (empty unless one is configured).
    pub assets: Arc<ensuresec_assets::AssetModel>,
    /// CSP reports accepted per second (`integrity.page_monitor.csp_reports_per_second`).
    pub csp_reports: Arc<ReportLimiter>,
    /// Health probes and recovery actions of the assets (empty unless configured).
    pub recovery: Arc<ensuresec_recovery::config::RecoveryConfig>,
    /// The latest recovery run and its progress.
    pub runs: Arc<crate::recovery::Runs>,
    /// API tokens recently found valid (`[server] token_trust_ms`).
    pub(crate) tokens: Arc<crate::token_cache::TokenCache>,
}

impl AppState {
    /// State for a platform, with limits from its configuration.
    pub fn new(platform: Arc<Platform>) -> AppState {
        let config = platform.config().clone();
        let per_second =
            std::num::NonZeroU32::new(config.integrity.page_monitor.csp_reports_per_second)
                .unwrap_or(std::num::NonZeroU32::MIN);
        let burst = per_second
            .saturating_mul(std::num::NonZeroU32::new(2).unwrap_or(std::num::NonZeroU32::MIN));
        AppState {
            csp_reports: Arc::new(governor::RateLimiter::direct(
                governor::Quota::per_second(per_second).allow_burst(burst),
            )),
            metrics: crate::telemetry::prometheus(),
            limits: config.limits(),
            max_body_bytes: config.server.max_body_bytes,
            body_timeout: Duration::from_secs(config.server.body_timeout_seconds),
            assets: Arc::default(),
            recovery: Arc::default(),
            runs: Arc::default(),
            tokens: Arc::new(crate::token_cache::TokenCache::new(Duration::from_millis(
                config.server.token_trust_ms,
            ))),
            platform,
        }
    }

    /// The same state with an asset model (see `crate::assets::load`).
    pub fn with_assets(mut self, model: ensuresec_assets::AssetModel) -> AppState {
        self.assets = Arc::new(model);
        self
    }

    /// The same state with health probes and recovery actions (see `crate::assets::load_recovery`).
    pub fn with_recovery(mut self, config: ensuresec_recovery::config::RecoveryConfig) -> AppState {
        self.recovery = Arc::new(config);
        self
    }
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/events", post(events::post_events))
        .route("/v1/payments/score", post(payments::score))
        .route("/v1/payments/status", get(payments::status))
        .route("/v1/identity/challenge", post(identity::challenge))
        .route("/v1/identity/verify", post(identity::verify))
        .route("/v1/alerts", get(alerts::list_alerts))
        .route("/v1/incidents", get(incidents::list_incidents))
        .route(
            "/v1/incidents/{id}",
            get(incidents::get_incident).patch(response::set_status),
        )
        .route("/v1/incidents/{id}/steps", get(response::steps))
        .route(
            "/v1/incidents/{id}/steps/{step}/approve",
            post(response::approve),
        )
        .route(
            "/v1/incidents/{id}/steps/{step}/reject",
            post(response::reject),
        )
        .route(
            "/v1/incidents/{id}/breach-draft",
            get(response::breach_draft),
        )
        .route("/v1/approvals", get(response::approvals))
        .route("/v1/deadletters", get(response::dead_letters))
        .route("/v1/deadletters/{id}/replay", post(response::replay))
        .route(
            "/v1/failsafe",
            get(response::get_failsafe).put(response::put_failsafe),
        )
        .route("/v1/decisions", get(decisions::query).post(decisions::add))
        .route("/v1/decisions/stream", get(decisions::stream))
        .route("/v1/decisions/all", get(decisions::list_all))
        .route("/v1/decisions/{id}", delete(decisions::revoke))
        .route("/v1/stream", get(stream::stream))
        .route("/v1/assets", get(assets::list_assets))
        .route("/v1/assets/{id}", get(assets::get_asset))
        .route("/v1/assets/{id}/impact", get(assets::impact))
        .route("/v1/diagnosis", get(diagnosis::diagnosis))
        .route("/v1/recovery/plan", get(recovery::plan))
        .route("/v1/recovery/runs", post(recovery::start))
        .route("/v1/recovery/runs/latest", get(recovery::latest))
        .route(
            "/v1/ledger/checkpoint",
            get(ledger::checkpoint).post(ledger::publish),
        )
        .route("/v1/ledger/checkpoint/cosigned", get(ledger::cosigned))
        .route("/v1/ledger/key", get(ledger::key))
        .route("/v1/ledger/tile/{*path}", get(ledger::tile))
        .route("/v1/ledger/proof/inclusion", get(ledger::inclusion))
        .route("/v1/ledger/proof/consistency", get(ledger::consistency))
        .route("/v1/ledger/entries", get(ledger::entries))
        .route("/v1/ledger/receipt/{index}", get(ledger::receipt))
        .route("/v1/ledger/receipt/alert/{id}", get(ledger::alert_receipt))
        .route(
            "/v1/ledger/receipt/incident/{id}",
            get(ledger::incident_receipt),
        )
        .route("/v1/integrity/csp-report", post(integrity::csp_report))
        .route("/v1/integrity/pages", get(integrity::list_pages))
        .route(
            "/v1/integrity/pages/authorizations",
            post(integrity::authorize_script).delete(integrity::revoke_script),
        )
        .route("/v1/openapi.json", get(meta::openapi))
        .route("/v1/schema/{name}", get(meta::schema))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        // Our own limit applies to /v1/events; this one bounds every other route.
        .layer(axum::extract::DefaultBodyLimit::max(state.max_body_bytes))
        .with_state(state)
}
