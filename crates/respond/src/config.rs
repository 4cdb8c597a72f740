//! `[respond]` in `ensuresec.toml`: playbooks, webhook targets, SMTP, the firewall and the
//! delivery policy. Secrets are never in the file (it is recorded in the audit log at every
//! start): they are named by an environment variable or a file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[respond]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// Run playbooks and serve decisions.
    pub enabled: bool,
    /// Load the shipped playbooks.
    pub default_playbooks: bool,
    /// More playbook files (YAML).
    pub playbook_files: Vec<PathBuf>,
    /// Attempts per delivery before it becomes a dead letter.
    pub max_attempts: u32,
    /// First retry delay; each further retry doubles it (capped at an hour).
    pub retry_base_seconds: u64,
    /// Most e-mails to one recipient per hour; further ones are not sent (and recorded so).
    pub email_per_recipient_per_hour: u64,
    /// `[[respond.webhooks]]`
    pub webhooks: Vec<WebhookTarget>,
    /// `[respond.smtp]`
    pub smtp: Option<SmtpConfig>,
    /// `[respond.firewall]`
    pub firewall: FirewallConfig,
}

impl Default for RespondConfig {
    fn default() -> Self {
        RespondConfig {
            enabled: true,
            default_playbooks: true,
            playbook_files: Vec::new(),
            max_attempts: 8,
            retry_base_seconds: 2,
            email_per_recipient_per_hour: 5,
            webhooks: Vec::new(),
            smtp: None,
            firewall: FirewallConfig::default(),
        }
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// An environment variable holding it.
    #[serde(default)]
    pub env: Option<String>,
    /// A file holding it (trailing newline ignored).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl SecretSource {
    /// Reads the secret; the error names the source, never the value.
    pub fn read(&self) -> Result<String, String> {
        let value = match (&self.env, &self.file) {
            (Some(var), None) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?
            }
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            _ => return Err("give exactly one of `env` or `file`".into()),
        };
        if value.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(value)
    }
}

/// `[[respond.webhooks]]`: a receiver of signed webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// The name playbooks use (`webhook.target`).
    pub name: String,
    /// Where to POST (https, or http on a trusted network).
    pub url: String,
    /// The HMAC key.
    pub secret: SecretSource,
}

/// How SMTP connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain (a relay on localhost only).
    None,
    /// STARTTLS, required.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `[respond.smtp]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// TLS mode.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The sender address.
    pub from: String,
    /// User name, when the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password source, with `username`.
    #[serde(default)]
    pub password: Option<SecretSource>,
    /// Time allowed for one message, in seconds.
    #[serde(default = "smtp_timeout")]
    pub timeout_seconds: u64,
}

fn smtp_timeout() -> u64 {
    30
}

/// `[respond.firewall]`: banned addresses pushed into nftables sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirewallConfig {
    /// Off by default: it needs root (CAP_NET_ADMIN).
    pub enabled: bool,
    /// The command and its leading arguments (`["nft"]`, or a wrapper such as
    /// `["ip", "netns", "exec", "shop", "nft"]`).
    pub command: Vec<String>,
    /// The `inet` table holding the sets `banned4` and `banned6` and a dropping input chain.
    pub table: String,
}

impl Default for FirewallConfig {
    fn default() -> Self {
        FirewallConfig {
            enabled: false,
            command: vec!["nft".into()],
            table: "ensuresec".into(),
        }
    }
}

impl RespondConfig {
    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err("respond.max_attempts: must be 1 to 100".into());
        }
        if self.retry_base_seconds == 0 || self.retry_base_seconds > 3600 {
            return Err("respond.retry_base_seconds: must be 1 to 3600".into());
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                return Err(format!("respond.webhooks[{i}].url: must be an http(s) URL"));
            }
            if self.webhooks[..i].iter().any(|x| x.name == w.name) {
                return Err(format!(
                    "respond.webhooks[{i}].name: `{}` is used twice",
                    w.name
                ));
            }
        }
        if self.firewall.enabled {
            if self.firewall.command.is_empty() {
                return Err("respond.firewall.command: must name the nft program".into());
            }
            if self.firewall.table.is_empty()
                || !self
                    .firewall
                    .table
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err("respond.firewall.table: letters, digits, `_` or `-`".into());
            }
        }
        Ok(())
    }
}
