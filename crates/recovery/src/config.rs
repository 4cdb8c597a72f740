//! `recovery.yaml`: the health probes of assets and the library of recovery actions, as data.
//! Parsing is strict (unknown keys are errors with line and column); validation errors name the
//! line of the offending probe or action and the key.
//!
//! ```yaml
//! probes:
//!   - asset: web-frontend
//!     http: { url: "http://127.0.0.1:8080/", expect_status: 200, body_contains: "checkout.js" }
//!   - asset: order-db
//!     tcp: { address: "127.0.0.1:5432" }
//!   - asset: sensor-gateway
//!     heartbeat: { source: sensor-gateway, max_age_seconds: 300 }
//! actions:
//!   - asset: order-db
//!     steps:
//!       - restart: { command: [systemctl, restart, postgresql] }
//! verify: { timeout_seconds: 30, interval_ms: 500 }
//! ```

use schemars::JsonSchema;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::RecoveryError;
use crate::graph::DepGraph;

/// Largest recovery file accepted.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most probes, and most assets with actions, in one file.
pub const MAX_ENTRIES: usize = 10_000;
/// Most steps of one asset and most arguments of one command.
const MAX_STEPS: usize = 32;
const MAX_ARGS: usize = 64;
/// Longest probe time-out and verification wait.
const MAX_TIMEOUT_MS: u64 = 60_000;
const MAX_VERIFY_SECONDS: u64 = 3_600;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfig {
    /// Health checks of assets.
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    /// What to do to bring an asset back.
    #[serde(default)]
    pub actions: Vec<AssetActions>,
    /// How long and how often a step's result is re-probed.
    #[serde(default)]
    pub verify: VerifySettings,
}

/// One health check of one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawProbe", into = "RawProbe")]
pub struct ProbeSpec {
    /// The asset it checks.
    pub asset: String,
    /// What it does.
    pub check: Check,
    /// How long it may take, in milliseconds.
    pub timeout_ms: u64,
}

/// The file's shape of a probe: one key per kind of check (serde cannot refuse unknown keys
/// of a flattened enum).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    asset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heartbeat: Option<HeartbeatCheck>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

impl TryFrom<RawProbe> for ProbeSpec {
    type Error = String;

    fn try_from(raw: RawProbe) -> Result<Self, Self::Error> {
        let check = match (raw.http, raw.tcp, raw.heartbeat) {
            (Some(h), None, None) => Check::Http(h),
            (None, Some(t), None) => Check::Tcp(t),
            (None, None, Some(b)) => Check::Heartbeat(b),
            _ => {
                return Err(format!(
                    "probe of `{}` must have exactly one of http, tcp, heartbeat",
                    raw.asset
                ));
            }
        };
        Ok(ProbeSpec {
            asset: raw.asset,
            check,
            timeout_ms: raw.timeout_ms,
        })
    }
}

impl From<ProbeSpec> for RawProbe {
    fn from(p: ProbeSpec) -> Self {
        let (mut http, mut tcp, mut heartbeat) = (None, None, None);
        match p.check {
            Check::Http(h) => http = Some(h),
            Check::Tcp(t) => tcp = Some(t),
            Check::Heartbeat(b) => heartbeat = Some(b),
        }
        RawProbe {
            asset: p.asset,
            http,
            tcp,
            heartbeat,
            timeout_ms: p.timeout_ms,
        }
    }
}

fn default_timeout_ms() -> u64 {
    3_000
}

/// The kinds of health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// An HTTP GET.
    Http(HttpCheck),
    /// A TCP connect.
    Tcp(TcpCheck),
    /// Freshness of the last event from a sensor or partner.
    Heartbeat(HeartbeatCheck),
}

/// An HTTP GET: healthy when the status matches and the body contains the text (if given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The URL.
    pub url: String,
    /// The expected status.
    #[serde(default = "default_status")]
    pub expect_status: u16,
    /// Text the body must contain (a script tag, a version string).
    #[serde(default)]
    pub body_contains: Option<String>,
}

/// A TCP connect: healthy when it is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// `host:port`.
    pub address: String,
}

/// Healthy when the last event from `source` is at most `max_age_seconds` old.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatCheck {
    /// The name events arrive under.
    pub source: String,
    /// Oldest acceptable last event.
    pub max_age_seconds: u64,
}

fn default_status() -> u16 {
    200
}

/// The recovery actions of one asset, in the order they run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetActions {
    /// The asset.
    pub asset: String,
    /// Its steps (each a one-key map: `- restart: { command: [...] }`).
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub steps: Vec<Action>,
}

/// One recovery action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "RecoveryAction")]
pub enum Action {
    /// Put files back from the integrity baseline (tampered rewritten, planted quarantined).
    RestoreFiles {
        /// The integrity state folder holding the baseline.
        state_dir: PathBuf,
        /// Only this file or folder (relative to the baseline's root); everything without it.
        #[serde(default)]
        path: Option<String>,
        /// The public key the baseline must be signed with (hex), when one is configured.
        #[serde(default)]
        verifier_key: Option<String>,
    },
    /// Revoke and rotate a key or token.
    RotateSecret(CommandSpec),
    /// Clear a compromised set of sessions.
    ClearSessions(CommandSpec),
    /// Restart a service.
    Restart(CommandSpec),
    /// Fail over to a standby.
    FailOver(CommandSpec),
    /// Re-enable a route that the fail-safe took down.
    ReenableRoute(CommandSpec),
}

impl Action {
    /// The action's name as written in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Action::RestoreFiles { .. } => "restore_files",
            Action::RotateSecret(_) => "rotate_secret",
            Action::ClearSessions(_) => "clear_sessions",
            Action::Restart(_) => "restart",
            Action::FailOver(_) => "fail_over",
            Action::ReenableRoute(_) => "reenable_route",
        }
    }

    /// The command it runs, for the actions that run one.
    pub fn command(&self) -> Option<&CommandSpec> {
        match self {
            Action::RestoreFiles { .. } => None,
            Action::RotateSecret(c)
            | Action::ClearSessions(c)
            | Action::Restart(c)
            | Action::FailOver(c)
            | Action::ReenableRoute(c) => Some(c),
        }
    }
}

/// A configured command: a program and its arguments, run without a shell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Program first, then arguments.
    pub command: Vec<String>,
    /// Folder it runs in.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Longest run before it is killed.
    #[serde(default = "default_command_seconds")]
    pub timeout_seconds: u64,
}

fn default_command_seconds() -> u64 {
    120
}

/// Re-probing after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySettings {
    /// How long an asset may take to come back after its steps.
    pub timeout_seconds: u64,
    /// Pause between probes while waiting.
    pub interval_ms: u64,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            timeout_seconds: 30,
            interval_ms: 500,
        }
    }
}

impl RecoveryConfig {
    /// Parses and validates `text`; `file` names it in errors; every asset named must be in
    /// `graph`.
    pub fn from_yaml(
        file: &str,
        text: &str,
        graph: &DepGraph,
    ) -> Result<RecoveryConfig, RecoveryError> {
        let fail = |line: usize, message: String| RecoveryError::Config {
            file: file.to_string(),
            line,
            message,
        };
        if text.len() > MAX_FILE_BYTES {
            return Err(fail(
                1,
                format!("{} bytes is over the limit of {MAX_FILE_BYTES}", text.len()),
            ));
        }
        let config: RecoveryConfig = serde_yaml_ng::from_str(text)
            .map_err(|e| fail(e.location().map_or(1, |l| l.line()), e.to_string()))?;
        if config.probes.len() > MAX_ENTRIES || config.actions.len() > MAX_ENTRIES {
            return Err(fail(
                1,
                format!("more than {MAX_ENTRIES} probes or action lists"),
            ));
        }
        for (i, p) in config.probes.iter().enumerate() {
            let line = nth_line(text, "probes", i);
            let key = |k: &str| format!("probes[{i}].{k}");
            if graph.index_of(&p.asset).is_none() {
                return Err(fail(
                    line,
                    format!("`{}`: no asset `{}` in the model", key("asset"), p.asset),
                ));
            }
            if p.timeout_ms == 0 || p.timeout_ms > MAX_TIMEOUT_MS {
                return Err(fail(
                    line,
                    format!("`{}` must be 1 to {MAX_TIMEOUT_MS}", key("timeout_ms")),
                ));
            }
            match &p.check {
                Check::Http(HttpCheck {
                    url, expect_status, ..
                }) => {
                    let parsed = reqwest::Url::parse(url)
                        .map_err(|e| fail(line, format!("`{}` `{url}`: {e}", key("http.url"))))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(fail(
                            line,
                            format!("`{}` must be http or https", key("http.url")),
                        ));
                    }
                    if !(100..=599).contains(expect_status) {
                        return Err(fail(
                            line,
                            format!("`{}` must be 100 to 599", key("http.expect_status")),
                        ));
                    }
                }
                Check::Tcp(TcpCheck { address }) => {
                    let ok = address.rsplit_once(':').is_some_and(|(host, port)| {
                        !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                    });
                    if !ok {
                        return Err(fail(
                            line,
                            format!("`{}` `{address}` must be HOST:PORT", key("tcp.address")),
                        ));
                    }
                }
                Check::Heartbeat(HeartbeatCheck {
                    source,
                    max_age_seconds,
                }) => {
                    if source.is_empty() || *max_age_seconds == 0 {
                        return Err(fail(
                            line,
                            format!(
                                "`{}` needs a source and a max_age_seconds above 0",
                                key("heartbeat")
                            ),
                        ));
                    }
                }
            }
        }
        for (i, a) in config.actions.iter().enumerate() {
            let line = nth_line(text, "actions", i);
            if graph.index_of(&a.asset).is_none() {
                return Err(fail(
                    line,
                    format!("`actions[{i}].asset`: no asset `{}` in the model", a.asset),
                ));
            }
            if a.steps.is_empty() || a.steps.len() > MAX_STEPS {
                return Err(fail(
                    line,
                    format!("`actions[{i}].steps` must have 1 to {MAX_STEPS} steps"),
                ));
            }
            for (j, s) in a.steps.iter().enumerate() {
                if let Some(c) = s.command()
                    && (c.command.is_empty()
                        || c.command.len() > MAX_ARGS
                        || c.command[0].is_empty()
                        || c.timeout_seconds == 0)
                {
                    return Err(fail(
                        line,
                        format!(
                            "`actions[{i}].steps[{j}].{}.command` must name a program (at most {MAX_ARGS} arguments) with a timeout above 0",
                            s.name()
                        ),
                    ));
                }
            }
        }
        if config.verify.timeout_seconds == 0
            || config.verify.timeout_seconds > MAX_VERIFY_SECONDS
            || config.verify.interval_ms == 0
        {
            return Err(fail(
                nth_line(text, "verify", 0),
                format!(
                    "`verify.timeout_seconds` must be 1 to {MAX_VERIFY_SECONDS} and `verify.interval_ms` above 0"
                ),
            ));
        }
        Ok(config)
    }

    /// The probes of one asset.
    pub fn probes_of<'a>(&'a self, asset: &'a str) -> impl Iterator<Item = &'a ProbeSpec> + 'a {
        self.probes.iter().filter(move |p| p.asset == asset)
    }

    /// The recovery actions of one asset.
    pub fn actions_of(&self, asset: &str) -> &[Action] {
        self.actions
            .iter()
            .find(|a| a.asset == asset)
            .map_or(&[], |a| a.steps.as_slice())
    }
}

/// The 1-based line of the `n`-th list item under the top-level `section:` (the section's line
/// when the item is not found, 1 when not even that is).
fn nth_line(text: &str, section: &str, n: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| l.trim_end() == format!("{section}:"))
    else {
        return 1;
    };
    let mut count = 0;
    for (k, l) in lines.iter().enumerate().skip(start + 1) {
        if !l.starts_with(' ')
            && !l.starts_with('-')
            && !l.trim().is_empty()
            && !l.trim_start().starts_with('#')
        {
            break;
        }
        if l.trim_start().starts_with("- ") && indent(l) == item_indent(&lines[start + 1..]) {
            if count == n {
                return k + 1;
            }
            count += 1;
        }
    }
    start + 1
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

fn item_indent(lines: &[&str]) -> usize {
    lines
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or(0, |l| indent(l))
}
