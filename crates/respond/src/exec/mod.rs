//! The executors that talk to the outside: webhooks over HTTPS, e-mail over SMTP, nftables
//! through `nft`, restores through the integrity module. Each sits behind a small trait so that the engine can be driven without them;
//! the real ones are what the platform runs and what the tests talk to through real peers.

pub mod firewall;
pub mod mail;
pub mod webhook;

use async_trait::async_trait;

/// Sends one webhook attempt.
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// POSTs `body` to `url` with `headers`; `Err` carries a message for the dead-letter list.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: String,
        timeout: std::time::Duration,
    ) -> Result<(), String>;
}

/// An e-mail to send.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Email {
    /// The recipient.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// A stable Message-ID, so that a resent message is recognisably the same.
    pub message_id: String,
}

/// Sends one e-mail.
#[async_trait]
pub trait MailSender: Send + Sync + 'static {
    /// Hands `email` to the SMTP server.
    async fn send(&self, email: &Email) -> Result<(), String>;
}

/// Mirrors bans into a packet filter.
#[async_trait]
pub trait Firewall: Send + Sync + 'static {
    /// Blocks `value` (an address or CIDR range) for `seconds`.
    async fn block(&self, value: &str, seconds: u64) -> Result<(), String>;
    /// Lifts the block on `value`.
    async fn unblock(&self, value: &str) -> Result<(), String>;
}

/// Puts the monitored web root back to its signed baseline. The platform that owns the integrity
/// state implements it; the engine only calls it for an `integrity_restore` step.
#[async_trait]
pub trait Restorer: Send + Sync + 'static {
    /// Restores `path` (relative to the root) or everything that differs; `Ok` carries a
    /// summary for the step's note.
    async fn restore(&self, path: Option<&str>) -> Result<String, String>;
}
