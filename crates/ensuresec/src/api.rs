//! A small JSON client for the admin commands (`incidents`, `decisions`, `deadletters`) that
//! talk to a running server with a bearer token.

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::Value;

/// Where the server is and how to authenticate; flattened into each admin command.
#[derive(clap::Args, Clone)]
pub struct Remote {
    /// The server.
    #[arg(
        long,
        env = "ENSURESEC_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// API token (read scope to list, admin scope to change).
    #[arg(long, env = "ENSURESEC_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A PEM CA certificate to trust for an HTTPS server with a private CA.
    #[arg(long, env = "ENSURESEC_CA_CERT", global = true)]
    pub ca_cert: Option<std::path::PathBuf>,
}

impl Remote {
    /// Sends one request and returns the JSON answer; a refusal becomes an error with the
    /// server's message.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let token = self
            .token
            .as_deref()
            .context("a token is needed: --token or ENSURESEC_TOKEN")?;
        let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
        if let Some(path) = &self.ca_cert {
            builder = builder.add_root_certificate(crate::tls::client_root(path)?);
        }
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let mut req = builder.build()?.request(method, &url).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "server answered {status}: {}",
                value["error"]["message"].as_str().unwrap_or("no message")
            );
        }
        Ok(value)
    }
}

/// A cell for a table: strings without quotes, other JSON as text, null as empty.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints `items` as a table of `columns` (JSON keys), or as JSON lines with `json`.
pub fn print_items(items: &[Value], columns: &[&str], json: bool) {
    if json {
        for i in items {
            println!("{i}");
        }
        return;
    }
    let mut table = comfy_table::Table::new();
    table.set_header(columns.to_vec());
    for i in items {
        table.add_row(columns.iter().map(|c| cell(&i[*c])).collect::<Vec<_>>());
    }
    println!("{table}");
}
