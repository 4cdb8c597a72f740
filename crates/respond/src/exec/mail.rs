//! E-mail over SMTP with `lettre` and rustls.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Email, MailSender};
use crate::config::{SmtpConfig, SmtpTls};

/// The real SMTP client.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpMailer {
    /// A client for `config`; reads the password from its source.
    pub fn new(config: &SmtpConfig) -> Result<SmtpMailer, String> {
        let mut builder = match config.tls {
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            }
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| format!("respond.smtp.host: {e}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| format!("respond.smtp.host: {e}"))?,
        }
        .port(config.port)
        .timeout(Some(std::time::Duration::from_secs(config.timeout_seconds)));
        if let Some(user) = &config.username {
            let password = config
                .password
                .as_ref()
                .ok_or("respond.smtp.password: needed with `username`")?
                .read()
                .map_err(|e| format!("respond.smtp.password: {e}"))?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from = config
            .from
            .parse()
            .map_err(|e| format!("respond.smtp.from: {e}"))?;
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl MailSender for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        let to = email
            .to
            .parse()
            .map_err(|e| format!("recipient `{}`: {e}", email.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .message_id(Some(email.message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("smtp: {e}"))
    }
}
