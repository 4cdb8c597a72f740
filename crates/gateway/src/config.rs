//! The `[gateway]` section of `ensuresec.toml`: strict (unknown keys are errors naming the line),
//! then validated (errors name the key and the limit).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ensuresec_respond::failsafe::FailSafeState;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;

/// The whole gateway configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// TLS termination; plain HTTP (HTTP/1.1 and HTTP/2 with prior knowledge) without it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Where the Combined Log Format access log goes: a file path, `-` for standard output;
    /// none when absent.
    #[serde(default)]
    pub access_log: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers are believed (addresses or CIDR
    /// ranges); the client address is the first untrusted hop from the right.
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// Request limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The web-attack engine's tuning.
    #[serde(default)]
    pub inspection: InspectionConfig,
    /// Where accounts and devices are read from, for decisions about them.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// The `ensuresec serve` that receives events and serves decisions and the fail-safe switch.
    #[serde(default)]
    pub serve: Option<ServeLink>,
    /// A local fail-safe position, used when no serve is linked or the serve's is unknown.
    #[serde(default)]
    pub failsafe: Option<FailSafeState>,
    /// Security headers added to responses.
    #[serde(default)]
    pub headers: HeadersConfig,
    /// Trust roots (PEM) for `https://` upstreams, instead of the platform's: for a shop behind
    /// a private CA.
    #[serde(default)]
    pub upstream_ca_file: Option<PathBuf>,
    /// Browser challenge (proof of work) for clients under a `captcha` decision.
    #[serde(default)]
    pub challenge: ChallengeConfig,
    /// Checkouts that need a proof of age for some products (verified by the platform's
    /// `[identity]` gate).
    #[serde(default)]
    pub age_gates: Vec<crate::age::AgeGateConfig>,
    /// Routes, matched by longest path prefix.
    pub routes: Vec<RouteConfig>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `[gateway.tls]`: certificate and key as PEM files, read again on SIGHUP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// `[gateway.limits]`: bounds against slow and oversized requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request head (request line and headers), in bytes; more gets 431.
    pub max_header_bytes: usize,
    /// Largest request body, in bytes; more gets 413.
    pub max_body_bytes: usize,
    /// Longest wait for a complete request head, in milliseconds (slowloris).
    pub header_read_timeout_ms: u64,
    /// Longest wait for the whole request body, in milliseconds.
    pub body_read_timeout_ms: u64,
    /// Longest wait for the upstream's response head, in milliseconds.
    pub upstream_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            upstream_timeout_ms: 30_000,
        }
    }
}

/// `[gateway.inspection]`: the CRS knobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectionConfig {
    /// Paranoia level 1–4.
    pub paranoia: u8,
    /// Inbound anomaly score at or above which a request counts as an attack (routes may
    /// override it).
    pub threshold: u32,
    /// Rule ids left out (false-positive tuning).
    pub disabled_rules: Vec<String>,
}

impl Default for InspectionConfig {
    fn default() -> Self {
        Self {
            paranoia: 1,
            threshold: 5,
            disabled_rules: Vec::new(),
        }
    }
}

/// `[gateway.identity]`: which cookie or header names the account and the device.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Cookie holding the account (or the session the shop maps to it).
    pub account_cookie: Option<String>,
    /// Header holding the account (set by an authenticating proxy in front).
    pub account_header: Option<String>,
    /// Cookie holding the device identifier.
    pub device_cookie: Option<String>,
    /// Header holding the device identifier.
    pub device_header: Option<String>,
}

/// `[gateway.serve]`: the platform this gateway reports to and takes orders from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeLink {
    /// Base URL, e.g. `https://ensuresec.internal:8443`.
    pub url: String,
    /// Bearer token with the `ingest` and `read` scopes (events, fail-safe switch).
    pub token: String,
    /// Bouncer key for the decision stream; decisions are not enforced without it.
    #[serde(default)]
    pub bouncer_key: Option<String>,
    /// How often decisions and the fail-safe switch are polled, in milliseconds.
    #[serde(default = "default_poll")]
    pub poll_interval_ms: u64,
    /// Longest an event waits before it is sent, in milliseconds.
    #[serde(default = "default_flush")]
    pub flush_interval_ms: u64,
    /// Most events per batch; also the queue bound (events beyond twice this are dropped and
    /// counted).
    #[serde(default = "default_batch")]
    pub max_batch_events: usize,
    /// Extra trust root (PEM) for a serve with a private certificate.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}

fn default_poll() -> u64 {
    250
}
fn default_flush() -> u64 {
    500
}
fn default_batch() -> usize {
    1000
}

/// `[gateway.headers]`: security headers set on every response (the upstream's own values win
/// for CSP, the rest are forced).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadersConfig {
    /// `Strict-Transport-Security` value, e.g. `max-age=31536000; includeSubDomains`.
    pub hsts: Option<String>,
    /// `Content-Security-Policy` value.
    pub csp: Option<String>,
    /// Add `X-Content-Type-Options: nosniff`.
    pub nosniff: bool,
    /// `Referrer-Policy` value, e.g. `strict-origin-when-cross-origin`.
    pub referrer_policy: Option<String>,
    /// Path where browsers post CSP violation reports; they become events and are not proxied.
    pub csp_report_path: Option<String>,
}

/// `[gateway.challenge]`: the proof-of-work page for clients under a `captcha` decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChallengeConfig {
    /// Leading zero bits the proof's SHA-256 must have: each bit doubles the work (16 takes a
    /// phone well under a second).
    pub difficulty_bits: u8,
    /// How long a challenge may take to solve, in seconds.
    pub token_seconds: u64,
    /// How long a solved challenge lets the client through (the pass cookie's life), in seconds.
    pub pass_seconds: u64,
    /// File with the HMAC key (at least 32 characters), shared by gateways behind one load
    /// balancer; a random key per process when absent (passes then end at restart).
    pub secret_file: Option<PathBuf>,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        Self {
            difficulty_bits: 16,
            token_seconds: 300,
            pass_seconds: 3600,
            secret_file: None,
        }
    }
}

/// What a route does with the engine's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectMode {
    /// Attacks get 403.
    Blocking,
    /// Attacks are logged and reported, and proxied.
    DetectionOnly,
    /// No inspection.
    Off,
}

/// `[[gateway.routes]]`: a path prefix and where it goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Path prefix, starting with `/`.
    pub prefix: String,
    /// Upstream base URL (`http://host:port` or `https://host:port`); the request path is
    /// appended as is.
    pub upstream: String,
    /// Inspection mode.
    #[serde(default = "default_mode")]
    pub mode: InspectMode,
    /// Fail-safe route group (`catalogue`, `checkout`, …).
    #[serde(default = "default_group")]
    pub group: String,
    /// Anomaly threshold for this route (default: `inspection.threshold`).
    #[serde(default)]
    pub threshold: Option<u32>,
    /// Requests per second allowed per client address; unlimited when absent.
    #[serde(default)]
    pub rate_limit_per_second: Option<u32>,
    /// Burst allowed above the rate (default: the rate).
    #[serde(default)]
    pub rate_limit_burst: Option<u32>,
}

fn default_mode() -> InspectMode {
    InspectMode::Blocking
}
fn default_group() -> String {
    "default".into()
}

/// Only the `[gateway]` section of a file that may hold other sections for `serve`.
#[derive(Deserialize)]
struct File {
    gateway: Option<GatewayConfig>,
}

fn invalid(key: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::Config {
        key: key.to_string(),
        message: message.into(),
    }
}

impl GatewayConfig {
    /// A one-route configuration, what `--listen ADDR --upstream URL` means.
    pub fn simple(listen: SocketAddr, upstream: &str) -> GatewayConfig {
        GatewayConfig {
            listen,
            tls: None,
            access_log: None,
            trusted_proxies: Vec::new(),
            limits: LimitsConfig::default(),
            inspection: InspectionConfig::default(),
            identity: IdentityConfig::default(),
            serve: None,
            failsafe: None,
            headers: HeadersConfig::default(),
            upstream_ca_file: None,
            challenge: ChallengeConfig::default(),
            age_gates: Vec::new(),
            routes: vec![RouteConfig {
                prefix: "/".into(),
                upstream: upstream.into(),
                mode: InspectMode::Blocking,
                group: default_group(),
                threshold: None,
                rate_limit_per_second: None,
                rate_limit_burst: None,
            }],
        }
    }

    /// Reads the `[gateway]` section of `path` (other sections are `serve`'s and ignored here).
    pub fn from_file(path: &Path) -> Result<GatewayConfig, GatewayError> {
        let text = std::fs::read_to_string(path).map_err(|source| GatewayError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        GatewayConfig::from_toml(path, &text)
    }

    /// Parses file text; errors name the file, the line and the key.
    pub fn from_toml(path: &Path, text: &str) -> Result<GatewayConfig, GatewayError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            GatewayError::File {
                path: path.to_path_buf(),
                line,
                message: e.message().to_string(),
            }
        })?;
        let config = file
            .gateway
            .ok_or_else(|| invalid("gateway", "the file has no [gateway] section"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense, naming the key.
    pub fn validate(&self) -> Result<(), GatewayError> {
        if self.routes.is_empty() {
            return Err(invalid("gateway.routes", "at least one route is needed"));
        }
        if self.routes.len() > 256 {
            return Err(invalid("gateway.routes", "at most 256 routes"));
        }
        for (i, r) in self.routes.iter().enumerate() {
            if !r.prefix.starts_with('/') {
                return Err(invalid(
                    &format!("gateway.routes[{i}].prefix"),
                    format!("`{}` must start with `/`", r.prefix),
                ));
            }
            crate::upstream::Upstream::parse(&r.upstream)
                .map_err(|m| invalid(&format!("gateway.routes[{i}].upstream"), m))?;
            if r.rate_limit_per_second == Some(0) || r.rate_limit_burst == Some(0) {
                return Err(invalid(
                    &format!("gateway.routes[{i}].rate_limit_per_second"),
                    "a rate limit must be at least 1",
                ));
            }
            if r.threshold == Some(0) {
                return Err(invalid(
                    &format!("gateway.routes[{i}].threshold"),
                    "must be at least 1",
                ));
            }
        }
        let l = &self.limits;
        if !(1024..=1024 * 1024).contains(&l.max_header_bytes) {
            return Err(invalid(
                "gateway.limits.max_header_bytes",
                "between 1024 and 1048576",
            ));
        }
        if l.max_body_bytes > 64 * 1024 * 1024 {
            return Err(invalid(
                "gateway.limits.max_body_bytes",
                "at most 67108864 (64 MiB): bodies are buffered for inspection",
            ));
        }
        for (key, v) in [
            (
                "gateway.limits.header_read_timeout_ms",
                l.header_read_timeout_ms,
            ),
            (
                "gateway.limits.body_read_timeout_ms",
                l.body_read_timeout_ms,
            ),
            ("gateway.limits.upstream_timeout_ms", l.upstream_timeout_ms),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if self.age_gates.len() > 64 {
            return Err(invalid("gateway.age_gates", "at most 64 age gates"));
        }
        for (i, g) in self.age_gates.iter().enumerate() {
            g.validate()
                .map_err(|m| invalid(&format!("gateway.age_gates[{i}]"), m))?;
        }
        if !(1..=4).contains(&self.inspection.paranoia) {
            return Err(invalid("gateway.inspection.paranoia", "between 1 and 4"));
        }
        if self.inspection.threshold == 0 {
            return Err(invalid(
                "gateway.inspection.threshold",
                "must be at least 1",
            ));
        }
        if let Some(s) = &self.serve {
            if !(s.url.starts_with("http://") || s.url.starts_with("https://")) {
                return Err(invalid(
                    "gateway.serve.url",
                    "must start with http:// or https://",
                ));
            }
            if s.token.is_empty() {
                return Err(invalid("gateway.serve.token", "must not be empty"));
            }
            if !(10..=60_000).contains(&s.poll_interval_ms) {
                return Err(invalid(
                    "gateway.serve.poll_interval_ms",
                    "between 10 and 60000",
                ));
            }
            if !(1..=100_000).contains(&s.max_batch_events) {
                return Err(invalid(
                    "gateway.serve.max_batch_events",
                    "between 1 and 100000",
                ));
            }
            if s.flush_interval_ms == 0 {
                return Err(invalid(
                    "gateway.serve.flush_interval_ms",
                    "must be at least 1",
                ));
            }
        }
        let ch = &self.challenge;
        if !(1..=28).contains(&ch.difficulty_bits) {
            return Err(invalid(
                "gateway.challenge.difficulty_bits",
                "between 1 and 28",
            ));
        }
        if !(10..=3600).contains(&ch.token_seconds) {
            return Err(invalid(
                "gateway.challenge.token_seconds",
                "between 10 and 3600",
            ));
        }
        if !(1..=7 * 24 * 3600).contains(&ch.pass_seconds) {
            return Err(invalid(
                "gateway.challenge.pass_seconds",
                "between 1 and 604800 (a week)",
            ));
        }
        if let Some(fs) = &self.failsafe {
            fs.validate().map_err(|m| invalid("gateway.failsafe", m))?;
        }
        if let Some(p) = &self.headers.csp_report_path
            && !p.starts_with('/')
        {
            return Err(invalid(
                "gateway.headers.csp_report_path",
                "must start with `/`",
            ));
        }
        for (key, v) in [
            ("gateway.headers.hsts", &self.headers.hsts),
            ("gateway.headers.csp", &self.headers.csp),
            (
                "gateway.headers.referrer_policy",
                &self.headers.referrer_policy,
            ),
        ] {
            if let Some(v) = v
                && http::HeaderValue::from_str(v).is_err()
            {
                return Err(invalid(key, "not a valid header value"));
            }
        }
        Ok(())
    }

    /// Whether `peer` is a trusted proxy.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_the_line() {
        let text = "[server]\nlisten = \"0.0.0.0:1\"\n[gateway]\nroutes = []\nbogus = 1\n";
        let err = GatewayConfig::from_toml(Path::new("g.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 5") && err.contains("bogus"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let text =
            "[gateway]\n[[gateway.routes]]\nprefix = \"shop\"\nupstream = \"http://127.0.0.1:1\"\n";
        let err = GatewayConfig::from_toml(Path::new("g.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gateway.routes[0].prefix"), "{err}");
    }

    #[test]
    fn a_full_section_parses() {
        let text = r#"
[gateway]
listen = "127.0.0.1:8443"
trusted_proxies = ["10.0.0.0/8"]
[gateway.failsafe]
groups = { checkout = "read_only" }
[[gateway.routes]]
prefix = "/checkout"
upstream = "http://127.0.0.1:9000"
mode = "detection_only"
group = "checkout"
rate_limit_per_second = 10
"#;
        let c = GatewayConfig::from_toml(Path::new("g.toml"), text).unwrap();
        assert_eq!(c.routes[0].mode, InspectMode::DetectionOnly);
        assert!(c.trusts("10.1.2.3".parse().unwrap()));
        assert!(!c.trusts("192.0.2.1".parse().unwrap()));
    }
}
