//! Configuration: `ensuresec.toml` (optional; every key has a default), then `ENSURESEC_*`
//! environment variables, then command-line flags. Raw → validated: unknown keys are errors, and
//! every error names the file, line and key (or the variable).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a bad key or value.
    #[error("{path}: line {line}, column {column}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// An environment variable has a bad value or names an unknown key.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong.
        message: String,
    },
    /// The values parse but do not make sense together.
    #[error("{key}: {message}")]
    Invalid {
        /// The key, as `section.key`.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Where and how long data is kept.
    pub storage: StorageConfig,
    /// Limits on ingested events.
    pub ingest: IngestConfig,
    /// Detection workers.
    pub pipeline: PipelineSection,
    /// Which detection rules run.
    pub detection: DetectionConfig,
    /// How alerts are grouped into incidents.
    pub correlation: CorrelationConfig,
    /// The demo traffic of `serve --demo`.
    pub demo: DemoConfig,
    /// The tamper-evident audit log.
    pub ledger: crate::ledger::LedgerConfig,
    /// Event sources `serve` runs besides the HTTP API.
    pub sources: SourcesConfig,
    /// The asset model incidents are mapped onto.
    pub assets: AssetsConfig,
    /// Health probes and recovery actions of the assets (`GET /v1/diagnosis`).
    pub recovery: RecoveryConfig,
    /// Response and mitigation: playbooks, webhooks, e-mail, firewall.
    pub respond: ensuresec_respond::RespondConfig,
    /// Web integrity: the monitored root, its state and how `serve` watches it.
    pub integrity: ensuresec_integrity::config::IntegrityConfig,
    /// Payment fraud scoring and fraud rings.
    pub fraud: crate::fraud::FraudConfig,
    /// Age verification with SD-JWT credentials.
    pub identity: crate::identity::IdentityConfig,
    /// `[gateway]`: read and validated by the gateway (crates/gateway) — started in-process by
    /// `serve` when the section has no `[gateway.serve]` link, else by a separate
    /// `ensuresec gateway`; not recorded here, since it may hold the gateway's token.
    #[serde(skip_serializing)]
    pub gateway: Option<toml::Table>,
}

/// `[assets]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetsConfig {
    /// The asset model (`assets.yaml`, see docs/ontology.md); without it, `serve --demo` uses
    /// the reference shop's model and plain `serve` has no assets.
    pub file: Option<PathBuf>,
}

/// `[recovery]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryConfig {
    /// Probes and recovery actions (`recovery.yaml`, see docs/recovery.md); without it,
    /// diagnosis uses the open incidents only.
    pub file: Option<PathBuf>,
}

/// `[sources]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    /// `[[sources.access_log]]`: web server access logs followed live.
    pub access_log: Vec<AccessLogConfig>,
    /// `[[sources.flow_export]]`: NetFlow v5/v9 and IPFIX collectors on UDP.
    pub flow_export: Vec<FlowExportConfig>,
    /// `[[sources.mqtt]]`: MQTT brokers where scanners, trackers, lockers and doors publish.
    pub mqtt: Vec<MqttConfig>,
}

/// `[[sources.mqtt]]`: a broker to subscribe to (docs/delivery.md). Messages are events in the
/// shape of `POST /v1/events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `HOST:PORT` of the broker.
    pub broker: String,
    /// Topic filters to subscribe to.
    #[serde(default = "default_mqtt_topics")]
    pub topics: Vec<String>,
    /// The client id; the broker keeps this client's session (and its unacknowledged messages)
    /// under it.
    #[serde(default = "default_mqtt_client")]
    pub client_id: String,
    /// User name, when the broker wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Where the password is (`{ env = "…" }` or `{ file = "…" }`).
    #[serde(default)]
    pub password: Option<ensuresec_respond::config::SecretSource>,
    /// Longest a received message waits before it is ingested, in milliseconds.
    #[serde(default = "default_mqtt_flush")]
    pub flush_interval_milliseconds: u64,
    /// Most events ingested at once.
    #[serde(default = "default_flow_batch")]
    pub max_batch_events: usize,
    /// Largest message accepted, in bytes.
    #[serde(default = "default_mqtt_message")]
    pub max_message_bytes: usize,
    /// Connect over TLS (`tls = {}` trusts the platform's roots).
    #[serde(default)]
    pub tls: Option<MqttTlsConfig>,
}

/// `tls` of `[[sources.mqtt]]`: the connection to the broker over TLS (rustls), so that the
/// password and the messages do not cross the network in clear.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTlsConfig {
    /// The CA (PEM) the broker's certificate must chain to; without it, the platform's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A client certificate to present, when the broker wants one (mutual TLS).
    #[serde(default)]
    pub client: Option<ensuresec_gateway::config::TlsConfig>,
}

fn default_mqtt_topics() -> Vec<String> {
    vec!["ensuresec/#".into()]
}

fn default_mqtt_client() -> String {
    "ensuresec".into()
}

fn default_mqtt_flush() -> u64 {
    200
}

fn default_mqtt_message() -> usize {
    1 << 20
}

/// `[[sources.flow_export]]`: a UDP port receiving NetFlow v5, v9 or IPFIX export packets (the
/// version is read from each packet).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowExportConfig {
    /// Address and UDP port to receive on, e.g. `0.0.0.0:2055` (NetFlow) or `0.0.0.0:4739`
    /// (IPFIX).
    pub listen: SocketAddr,
    /// Longest a received flow waits before it is handed to detection, in milliseconds.
    #[serde(default = "default_flow_flush")]
    pub flush_interval_milliseconds: u64,
    /// Most flows handed to detection at once.
    #[serde(default = "default_flow_batch")]
    pub max_batch_flows: usize,
}

fn default_flow_flush() -> u64 {
    1000
}

fn default_flow_batch() -> usize {
    5000
}

/// `[[sources.access_log]]`: one access-log file followed live (rotation-safe; resumes from the
/// offset stored under the data directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogConfig {
    /// The log file.
    pub path: PathBuf,
    /// `auto` (detected per file), `combined`, `common`, `nginx-json`, `caddy-json` or
    /// `json-lines`.
    #[serde(default = "auto")]
    pub format: String,
    /// Where to start the first time (no stored offset): `beginning` or `end`.
    #[serde(default)]
    pub read_from: crate::access_log::ReadFrom,
    /// How often to look for new lines, in milliseconds.
    #[serde(default = "default_poll")]
    pub poll_interval_milliseconds: u64,
}

fn auto() -> String {
    "auto".into()
}

fn default_poll() -> u64 {
    500
}

impl AccessLogConfig {
    /// The fixed format, or `None` for auto-detection.
    pub fn log_format(&self) -> Option<ensuresec_webattack::logs::LogFormat> {
        ensuresec_webattack::logs::LogFormat::from_name(&self.format)
    }
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Time allowed to read a request body, in seconds.
    pub body_timeout_seconds: u64,
    /// Serve HTTPS with these PEM files instead of plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Reverse proxies in front of the server (addresses or CIDR ranges) whose `Forwarded` /
    /// `X-Forwarded-For` headers are believed for the client's address; none by default, so
    /// the address is the connection's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long an API token found valid is trusted without reading the token table again, in
    /// milliseconds: a revoked token is refused at most this long after; 0 reads the table on
    /// every request (at most [`MAX_TOKEN_TRUST_MS`]).
    pub token_trust_ms: u64,
}

/// The longest `[server] token_trust_ms`: a revocation should not wait longer than a minute.
pub const MAX_TOKEN_TRUST_MS: u64 = 60_000;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 16 * 1024 * 1024,
            body_timeout_seconds: 30,
            tls: None,
            trusted_proxies: Vec::new(),
            token_trust_ms: 1_000,
        }
    }
}

/// `[server.tls]`: certificate chain and private key, PEM.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the embedded database.
    pub data_dir: PathBuf,
    /// How long raw events are kept, in hours (alerts and incidents are kept).
    pub event_retention_hours: u64,
    /// Read connections in the pool.
    pub readers: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./ensuresec-data"),
            event_retention_hours: 72,
            readers: 4,
        }
    }
}

/// `[ingest]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Longest event (NDJSON line), in bytes.
    pub max_line_bytes: usize,
    /// Most events per request.
    pub max_batch_events: usize,
    /// How far ahead of the server's clock an event may be, in seconds.
    pub max_future_skew_seconds: i64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        let l = ensuresec_model::Limits::default();
        IngestConfig {
            max_line_bytes: l.max_line_bytes,
            max_batch_events: l.max_batch_events,
            max_future_skew_seconds: l.max_future_skew_seconds,
        }
    }
}

/// `[pipeline]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Detection worker threads; 0 means one per core.
    pub partitions: usize,
    /// Batches queued per worker before ingest waits.
    pub queue_batches: Option<usize>,
}

/// `[detection]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    /// Run the threshold rules shipped with ensuresec.
    pub default_rules: bool,
    /// More threshold rule files (YAML).
    pub rule_files: Vec<PathBuf>,
    /// The anomaly model for unknown threats (per-address behaviour, Half-Space Trees).
    pub anomaly: bool,
    /// Seasonal volume baselines per endpoint (floods and sudden drops).
    pub baselines: bool,
    /// The web-attack detector (`[detection.web]`).
    pub web: WebDetectionConfig,
    /// The delivery detectors (`[detection.delivery]`).
    pub delivery: DeliveryDetectionConfig,
}

/// `[detection.delivery]`: cold chain, route, custody, courier, claim, sensor and badge rules
/// (docs/delivery.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryDetectionConfig {
    /// Run them.
    pub enabled: bool,
    /// A rules file replacing the shipped `delivery.yaml`.
    pub rules: Option<PathBuf>,
}

impl Default for DeliveryDetectionConfig {
    fn default() -> Self {
        DeliveryDetectionConfig {
            enabled: true,
            rules: None,
        }
    }
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            default_rules: true,
            rule_files: vec![],
            anomaly: true,
            baselines: true,
            web: WebDetectionConfig::default(),
            delivery: DeliveryDetectionConfig::default(),
        }
    }
}

/// `[detection.web]`: the web-attack detector on `http_request` events (CRS-style rules).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebDetectionConfig {
    /// Run it.
    pub enabled: bool,
    /// Paranoia level 1–4: higher levels add rules that catch more and misfire more.
    pub paranoia_level: u8,
    /// Anomaly score at which a request raises an alert (CRS default 5: one critical rule).
    pub inbound_threshold: u32,
    /// A directory of extra rule files (`*.yaml`), loaded beside the shipped rules.
    pub rules_dir: Option<PathBuf>,
    /// Rule ids to switch off (false-positive tuning).
    pub disabled_rules: Vec<String>,
}

impl Default for WebDetectionConfig {
    fn default() -> Self {
        WebDetectionConfig {
            enabled: true,
            paranoia_level: 1,
            inbound_threshold: 5,
            rules_dir: None,
            disabled_rules: vec![],
        }
    }
}

/// `[correlation]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// An alert joins an incident about the same entity seen within this many seconds.
    pub group_window_seconds: u64,
    /// Most incidents the correlator keeps in memory.
    pub max_tracked_incidents: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            group_window_seconds: 3600,
            max_tracked_incidents: 100_000,
        }
    }
}

/// `[demo]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Simulated events per second.
    pub rate: f64,
    /// Random seed.
    pub seed: u64,
    /// Simulator scenario.
    pub scenario: String,
    /// Attack campaigns per simulated hour (frequent, so that a demo shows incidents soon).
    pub campaigns_per_hour: f64,
    /// Also simulate the pharmacy's deliveries (couriers, trackers, claims, badges, with the
    /// delivery day's attacks), day after day beside the shop traffic.
    pub deliveries: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            rate: 20.0,
            seed: 42,
            scenario: "mixed".into(),
            campaigns_per_hour: 30.0,
            deliveries: true,
        }
    }
}

/// Environment variables that are shortcuts for a key.
const SHORTCUTS: &[(&str, &str, &str)] = &[
    ("ENSURESEC_LISTEN", "server", "listen"),
    ("ENSURESEC_DATA_DIR", "storage", "data_dir"),
];

/// Variables read elsewhere, not configuration keys.
const NOT_KEYS: &[&str] = &[
    "ENSURESEC_ADMIN_TOKEN",
    "ENSURESEC_TOKEN",
    "ENSURESEC_LOG",
    "ENSURESEC_SERVER",
];

impl Config {
    /// Loads the file (if any), then applies `ENSURESEC_*` variables from `env`:
    /// `ENSURESEC_SECTION__KEY=value` sets `section.key`, `ENSURESEC_A__B__KEY` sets `a.b.key`
    /// (values parse as TOML, else as text).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                // Deserialising the typed config first gives errors with a line for bad keys.
                parse_typed(path, &text)?;
                text.parse::<toml::Table>()
                    .map_err(|e| file_error(path, &text, &e))?
            }
            None => toml::Table::new(),
        };
        let mut from_env = Vec::new();
        for (var, value) in env {
            let Some(rest) = var.strip_prefix("ENSURESEC_") else {
                continue;
            };
            if NOT_KEYS.contains(&var.as_str()) {
                continue;
            }
            let path: Vec<String> = match SHORTCUTS.iter().find(|(v, _, _)| *v == var) {
                Some((_, s, k)) => vec![s.to_string(), k.to_string()],
                None => {
                    let parts: Vec<String> =
                        rest.split("__").map(str::to_ascii_lowercase).collect();
                    if parts.len() < 2 || parts.iter().any(String::is_empty) {
                        return Err(ConfigError::Env {
                            var,
                            message: "not a known variable; use ENSURESEC_SECTION__KEY".into(),
                        });
                    }
                    parts
                }
            };
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            if let Some((key, sections)) = path.split_last() {
                let mut here = &mut table;
                for section in sections {
                    let entry = here
                        .entry(section.clone())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    let toml::Value::Table(t) = entry else {
                        return Err(ConfigError::Env {
                            var,
                            message: format!("`{section}` is not a section"),
                        });
                    };
                    here = t;
                }
                here.insert(key.clone(), parsed);
            }
            from_env.push(var);
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| match from_env.as_slice() {
                    [] => ConfigError::Invalid {
                        key: "config",
                        message: e.message().to_string(),
                    },
                    vars => ConfigError::Env {
                        var: vars.join(", "),
                        message: e.message().to_string(),
                    },
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks a file alone, as `ensuresec config check` does.
    pub fn check_file(path: &Path) -> Result<Config, ConfigError> {
        Config::load(Some(path), std::iter::empty())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| ConfigError::Invalid {
            key,
            message: message.into(),
        };
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if self.server.token_trust_ms > MAX_TOKEN_TRUST_MS {
            return Err(invalid(
                "server.token_trust_ms",
                &format!("must be at most {MAX_TOKEN_TRUST_MS} (a minute)"),
            ));
        }
        if self.ingest.max_line_bytes < 256
            || self.ingest.max_line_bytes > self.server.max_body_bytes
        {
            return Err(invalid(
                "ingest.max_line_bytes",
                "must be between 256 and server.max_body_bytes",
            ));
        }
        if self.ingest.max_batch_events == 0 {
            return Err(invalid("ingest.max_batch_events", "must be positive"));
        }
        if self.storage.event_retention_hours == 0 {
            return Err(invalid("storage.event_retention_hours", "must be positive"));
        }
        if self.correlation.group_window_seconds == 0 {
            return Err(invalid(
                "correlation.group_window_seconds",
                "must be positive",
            ));
        }
        if !(self.demo.rate > 0.0 && self.demo.rate <= 1_000_000.0) {
            return Err(invalid(
                "demo.rate",
                "must be between 0 and 1000000 events per second",
            ));
        }
        if let Err((key, message)) = self.ledger.validate() {
            return Err(ConfigError::Invalid { key, message });
        }
        if let Err((key, message)) = self.integrity.validate() {
            return Err(ConfigError::Invalid { key, message });
        }
        if let Err((key, message)) = self.fraud.validate() {
            return Err(ConfigError::Invalid { key, message });
        }
        if let Err((key, message)) = self.identity.validate() {
            return Err(ConfigError::Invalid { key, message });
        }
        if !(1..=4).contains(&self.detection.web.paranoia_level) {
            return Err(invalid(
                "detection.web.paranoia_level",
                "must be between 1 and 4",
            ));
        }
        if self.detection.web.inbound_threshold == 0 {
            return Err(invalid(
                "detection.web.inbound_threshold",
                "must be at least 1",
            ));
        }
        for source in &self.sources.access_log {
            if source.format != "auto" && source.log_format().is_none() {
                return Err(invalid(
                    "sources.access_log.format",
                    "must be one of auto, combined, common, nginx-json, caddy-json, json-lines",
                ));
            }
            if source.poll_interval_milliseconds == 0 {
                return Err(invalid(
                    "sources.access_log.poll_interval_milliseconds",
                    "must be positive",
                ));
            }
        }
        for source in &self.sources.flow_export {
            if source.flush_interval_milliseconds == 0 {
                return Err(invalid(
                    "sources.flow_export.flush_interval_milliseconds",
                    "must be positive",
                ));
            }
            if !(1..=100_000).contains(&source.max_batch_flows) {
                return Err(invalid(
                    "sources.flow_export.max_batch_flows",
                    "must be between 1 and 100000",
                ));
            }
        }
        for source in &self.sources.mqtt {
            if source
                .broker
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                return Err(invalid("sources.mqtt.broker", "must be HOST:PORT"));
            }
            if source.topics.is_empty() || source.topics.iter().any(|t| t.is_empty()) {
                return Err(invalid(
                    "sources.mqtt.topics",
                    "must name at least one non-empty topic filter",
                ));
            }
            if source.client_id.is_empty() || source.client_id.len() > 128 {
                return Err(invalid(
                    "sources.mqtt.client_id",
                    "must be 1 to 128 characters",
                ));
            }
            if source.flush_interval_milliseconds == 0 {
                return Err(invalid(
                    "sources.mqtt.flush_interval_milliseconds",
                    "must be positive",
                ));
            }
            if !(1..=100_000).contains(&source.max_batch_events) {
                return Err(invalid(
                    "sources.mqtt.max_batch_events",
                    "must be between 1 and 100000",
                ));
            }
            if !(1024..=16 << 20).contains(&source.max_message_bytes) {
                return Err(invalid(
                    "sources.mqtt.max_message_bytes",
                    "must be between 1 KiB and 16 MiB",
                ));
            }
            if source.password.is_some() && source.username.is_none() {
                return Err(invalid("sources.mqtt.password", "needs `username` too"));
            }
        }
        if ensuresec_simulator::Scenario::named(&self.demo.scenario).is_err() {
            return Err(invalid(
                "demo.scenario",
                "must be one of shop, sqli, xss, credential-stuffing, card-testing, mixed",
            ));
        }
        Ok(())
    }

    /// The ingest limits as the decoder takes them.
    pub fn limits(&self) -> ensuresec_model::Limits {
        ensuresec_model::Limits {
            max_line_bytes: self.ingest.max_line_bytes,
            max_batch_events: self.ingest.max_batch_events,
            max_future_skew_seconds: self.ingest.max_future_skew_seconds,
            max_labels: ensuresec_model::Limits::default().max_labels,
        }
    }
}

fn parse_typed(path: &Path, text: &str) -> Result<Config, ConfigError> {
    toml::from_str::<Config>(text).map_err(|e| file_error(path, text, &e))
}

fn file_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    ConfigError::File {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn web_detection_is_on_at_paranoia_1_by_default() {
        let c = Config::load(None, env(&[])).expect("defaults are valid");
        assert!(c.detection.web.enabled);
        assert_eq!(c.detection.web.paranoia_level, 1);
        assert_eq!(c.detection.web.inbound_threshold, 5);
        assert_eq!(c.detection.web.rules_dir, None);
    }

    #[test]
    fn nested_sections_from_file_and_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("e.toml");
        std::fs::write(
            &file,
            "[detection.web]\nparanoia_level = 2\nrules_dir = \"/etc/ensuresec/web\"\n",
        )
        .expect("write");
        let c = Config::load(
            Some(&file),
            env(&[("ENSURESEC_DETECTION__WEB__INBOUND_THRESHOLD", "10")]),
        )
        .expect("valid");
        assert_eq!(c.detection.web.paranoia_level, 2);
        assert_eq!(c.detection.web.inbound_threshold, 10);
        assert_eq!(
            c.detection.web.rules_dir.as_deref(),
            Some(Path::new("/etc/ensuresec/web"))
        );
        let e = Config::load(
            None,
            env(&[("ENSURESEC_DETECTION__WEB__PARANOIA_LEVEL", "7")]),
        )
        .expect_err("out of range");
        assert!(
            e.to_string().contains("detection.web.paranoia_level"),
            "{e}"
        );
        let e = Config::load(None, env(&[("ENSURESEC_DETECTION__WEB__COLOUR", "1")]))
            .expect_err("unknown key");
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn token_trust_is_a_second_by_default_and_at_most_a_minute() {
        let c = Config::load(None, env(&[])).expect("defaults are valid");
        assert_eq!(c.server.token_trust_ms, 1_000);
        let c = Config::load(None, env(&[("ENSURESEC_SERVER__TOKEN_TRUST_MS", "0")]))
            .expect("0: read on every request");
        assert_eq!(c.server.token_trust_ms, 0);
        let e = Config::load(None, env(&[("ENSURESEC_SERVER__TOKEN_TRUST_MS", "60001")]))
            .expect_err("over a minute");
        assert!(e.to_string().contains("server.token_trust_ms"), "{e}");
    }

    #[test]
    fn a_gateway_section_is_left_to_the_gateway_and_not_recorded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "[gateway.serve]\nurl = \"http://127.0.0.1:1\"\ntoken = \"es_secret\"\n",
        )
        .expect("write");
        let c = Config::load(Some(&file), env(&[])).expect("serve accepts [gateway]");
        assert!(c.gateway.is_some());
        let recorded = serde_json::to_string(&c).expect("serialise");
        assert!(!recorded.contains("es_secret"), "{recorded}");
    }

    #[test]
    fn access_log_sources() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("s.toml");
        std::fs::write(
            &file,
            "[[sources.access_log]]\npath = \"/var/log/nginx/access.log\"\n\n[[sources.access_log]]\npath = \"/var/log/caddy.log\"\nformat = \"caddy-json\"\nread_from = \"end\"\n",
        )
        .expect("write");
        let c = Config::load(Some(&file), env(&[])).expect("valid");
        let s = &c.sources.access_log;
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].format, "auto");
        assert_eq!(s[0].log_format(), None);
        assert_eq!(s[0].read_from, crate::access_log::ReadFrom::Beginning);
        assert_eq!(
            s[1].log_format(),
            Some(ensuresec_webattack::logs::LogFormat::CaddyJson)
        );
        assert_eq!(s[1].read_from, crate::access_log::ReadFrom::End);
        std::fs::write(
            &file,
            "[[sources.access_log]]\npath = \"/x\"\nformat = \"apache\"\n",
        )
        .expect("write");
        let e = Config::load(Some(&file), env(&[])).expect_err("bad format");
        assert!(e.to_string().contains("sources.access_log.format"), "{e}");
        std::fs::write(&file, "[[sources.access_log]]\nformat = \"auto\"\n").expect("write");
        let e = Config::load(Some(&file), env(&[])).expect_err("no path");
        assert!(e.to_string().contains("path"), "{e}");
    }
}
