//! Liveness, readiness and metrics: open to scrapers and orchestrators without a token, and
//! revealing nothing but counters.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ensuresec_pipeline::StoreHealth;

use crate::app::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive")))]
/// Liveness.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "The store answers and takes findings"),
        (status = 503, description = "The store does not answer, or refuses findings and detection waits for it")))]
/// Readiness: the store answers a query, and detection's last write of findings went through.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.platform.store_health() {
        StoreHealth::Writing => {}
        StoreHealth::Retrying { .. } => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "store refuses findings; detection waits\n",
            );
        }
        StoreHealth::GaveUp { .. } => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "store refused findings; stopping\n",
            );
        }
    }
    match state.platform.store().max_ids().await {
        Ok(_) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format")))]
/// Prometheus metrics.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(fraud) = state.platform.fraud() {
        let s = fraud.status();
        metrics::gauge!("ensuresec_fraud_entities").set(s.entities as f64);
        metrics::gauge!("ensuresec_fraud_state_bytes").set(s.state_bytes as f64);
        metrics::gauge!("ensuresec_fraud_unscored_events").set(s.unscored_events as f64);
        metrics::gauge!("ensuresec_fraud_repeated").set(s.repeated as f64);
        metrics::gauge!("ensuresec_fraud_expired").set(s.expired as f64);
        metrics::gauge!("ensuresec_fraud_evicted").set(s.evicted as f64);
        metrics::gauge!("ensuresec_fraud_model_refused").set(s.model_refused as f64);
        metrics::gauge!("ensuresec_fraud_exchange_rates_refused")
            .set(s.exchange_rates_refused as f64);
        if let Some(day) = s.exchange_rates_date {
            let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp();
            metrics::gauge!("ensuresec_fraud_exchange_rates_date_seconds").set(midnight as f64);
        }
        metrics::gauge!("ensuresec_fraud_journaled").set(s.journaled as f64);
        metrics::gauge!("ensuresec_fraud_journal_dropped").set(s.journal_dropped as f64);
        metrics::gauge!("ensuresec_fraud_saves_from_journal").set(s.saves_from_journal as f64);
    }
    if let Some(rings) = state.platform.fraud_rings() {
        use ensuresec_fraud::journal::Kept as _;
        let r = rings.stats();
        metrics::gauge!("ensuresec_fraud_ring_journaled").set(rings.journaled() as f64);
        metrics::gauge!("ensuresec_fraud_ring_journal_dropped").set(rings.journal_dropped() as f64);
        metrics::gauge!("ensuresec_fraud_ring_saves_from_journal")
            .set(rings.saves_from_journal() as f64);
        metrics::gauge!("ensuresec_fraud_ring_nodes").set(r.nodes as f64);
        metrics::gauge!("ensuresec_fraud_ring_payments").set(r.payments as f64);
        // How often the older generation was forgotten: how far back the graph remembers.
        metrics::gauge!("ensuresec_fraud_ring_rotations").set(r.rotations as f64);
        // Payments not linked: more entities than a generation holds.
        metrics::gauge!("ensuresec_fraud_ring_dropped").set(r.dropped as f64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
