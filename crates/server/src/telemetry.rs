//! Metrics: one Prometheus recorder per process, installed on first use.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus handle; installs the recorder the first time.
pub fn prometheus() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            // Summaries (p50, p99…) cover the last three minutes: three buckets of one minute.
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_bucket_duration(std::time::Duration::from_secs(60)) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "keeping the default summary window");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a library user's); ours then renders
            // nothing, which `/metrics` shows rather than hides.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}
