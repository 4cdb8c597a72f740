//! Webhooks over HTTP(S) with `reqwest` and rustls.

use async_trait::async_trait;

use super::WebhookSender;

/// The real webhook client.
pub struct HttpWebhooks(reqwest::Client);

impl HttpWebhooks {
    /// A client that does not follow redirects (a signed call goes where it was configured).
    pub fn new() -> Result<HttpWebhooks, String> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ensuresec/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(HttpWebhooks)
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl WebhookSender for HttpWebhooks {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: String,
        timeout: std::time::Duration,
    ) -> Result<(), String> {
        let mut req = self
            .0
            .post(url)
            .timeout(timeout)
            .header("content-type", "application/json");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let resp = req.body(body).send().await.map_err(|e| {
            // reqwest's message may carry the URL; it holds no secret (the key never travels).
            format!("request failed: {e}")
        })?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("receiver answered {status}"))
        }
    }
}
