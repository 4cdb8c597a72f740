//! Fetching a monitored page and its external scripts over HTTP(S) (`reqwest` with rustls), with
//! size limits, into an [`Inventory`]. The scripts' contents are hashed so that a skimmer
//! injected into an existing script file is seen, and checked against their SRI attribute.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256, Sha384, Sha512};
use url::Url;

use super::config::PageMonitorConfig;
use super::inventory::{self, Inventory, SECURITY_HEADERS};
use crate::error::IntegrityError;

/// Fetches pages and their scripts.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: PageMonitorConfig,
}

fn fetch_error(url: &str, message: impl std::fmt::Display) -> IntegrityError {
    IntegrityError::Fetch {
        url: url.to_owned(),
        message: message.to_string(),
    }
}

/// A body read up to a limit.
struct Body {
    bytes: Vec<u8>,
    cut: bool,
}

impl Fetcher {
    /// A fetcher with the settings' limits and timeout.
    pub fn new(settings: &PageMonitorConfig) -> Result<Fetcher, IntegrityError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!(
                "ensuresec-page-monitor/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| fetch_error("(client)", e))?;
        Ok(Fetcher {
            client,
            settings: settings.clone(),
        })
    }

    async fn get(
        &self,
        url: &str,
        max: usize,
    ) -> Result<(reqwest::Response, Body), IntegrityError> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| fetch_error(url, e))?;
        let mut body = Body {
            bytes: Vec::new(),
            cut: false,
        };
        while let Some(chunk) = response.chunk().await.map_err(|e| fetch_error(url, e))? {
            let room = max - body.bytes.len();
            if chunk.len() > room {
                body.bytes.extend_from_slice(&chunk[..room]);
                body.cut = true;
                break;
            }
            body.bytes.extend_from_slice(&chunk);
        }
        Ok((response, body))
    }

    /// Fetches a page and its external scripts and inventories them.
    pub async fn inventory(
        &self,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<Inventory, IntegrityError> {
        let parsed = Url::parse(url).map_err(|e| fetch_error(url, e))?;
        let (response, body) = self.get(url, self.settings.max_page_bytes).await?;
        if body.cut {
            return Err(IntegrityError::Limit {
                what: format!("{url}: page bytes"),
                limit: self.settings.max_page_bytes as u64,
            });
        }
        let mut headers = BTreeMap::new();
        for name in SECURITY_HEADERS {
            let values: Vec<&str> = response
                .headers()
                .get_all(*name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if !values.is_empty() {
                headers.insert((*name).to_owned(), values.join(", "));
            }
        }
        let final_url = response.url().clone();
        let mut inv = inventory::parse(
            &final_url,
            response.status().as_u16(),
            headers,
            &body.bytes,
            now,
        );
        if final_url != parsed {
            // Recorded under the configured URL; a redirect is visible in the structure anyway.
            inv.url = url.to_owned();
        }
        for (i, script) in inv.scripts.iter_mut().enumerate() {
            let Some(src) = script.src.clone() else {
                continue;
            };
            if i >= self.settings.max_scripts {
                script.note = Some("not fetched: over max_scripts".into());
                continue;
            }
            if !(src.starts_with("https://") || src.starts_with("http://")) {
                script.note = Some("not fetched: not http(s)".into());
                continue;
            }
            match self.get(&src, self.settings.max_script_bytes).await {
                Ok((r, b)) if r.status().is_success() => {
                    script.sha256 = Some(inventory::sha256_hex(&b.bytes));
                    if b.cut {
                        script.note = Some(format!(
                            "hashed over its first {} bytes",
                            self.settings.max_script_bytes
                        ));
                    } else {
                        script.sri_valid = script
                            .integrity
                            .as_deref()
                            .map(|i| sri_matches(i, &b.bytes));
                    }
                }
                Ok((r, _)) => script.note = Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => script.note = Some(e.to_string()),
            }
        }
        Ok(inv)
    }
}

/// Whether content matches a Subresource Integrity attribute: any of its `sha256-`, `sha384-`
/// or `sha512-` digests (browsers use the strongest; a match on any listed one is how the
/// attribute is written for rotation).
pub fn sri_matches(integrity: &str, content: &[u8]) -> bool {
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    integrity.split_ascii_whitespace().any(|token| {
        let token = token.split('?').next().unwrap_or(token);
        match token.split_once('-') {
            Some(("sha256", d)) => d == b64(&Sha256::digest(content)),
            Some(("sha384", d)) => d == b64(&Sha384::digest(content)),
            Some(("sha512", d)) => d == b64(&Sha512::digest(content)),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_is_checked_against_the_content() {
        let content = b"alert(1)";
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha384::digest(content));
        assert!(sri_matches(&format!("sha384-{digest}"), content));
        assert!(sri_matches(
            &format!("sha256-AAAA sha384-{digest}"),
            content
        ));
        assert!(!sri_matches(&format!("sha384-{digest}"), b"alert(2)"));
        assert!(!sri_matches("md5-abc", content));
    }
}
