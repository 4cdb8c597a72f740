//! `[[integrity.pages]]` and `[integrity.page_monitor]`: which payment pages `serve` fetches, how
//! often, and what counts as a defacement.

use serde::{Deserialize, Serialize};

/// Most pages one configuration may monitor: each is fetched with its scripts on a schedule.
pub const MAX_PAGES: usize = 100;

/// One monitored page: a checkout, payment or login page (PCI DSS 6.4.3 / 11.6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    /// The page's URL (`http` or `https`).
    pub url: String,
    /// Seconds between fetches [default: 300].
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    300
}

/// `[integrity.page_monitor]`: settings shared by every monitored page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PageMonitorConfig {
    /// Below this similarity (0 to 1) of visible text or structure with the previous fetch, the
    /// page counts as defaced.
    pub deface_threshold: f64,
    /// An unauthorised script alerts again after this many seconds while it stays on the page
    /// (0: at every fetch).
    pub reminder_seconds: u64,
    /// Largest page body read, in bytes.
    pub max_page_bytes: usize,
    /// Largest script body read, in bytes (a larger one is hashed over its first bytes and
    /// flagged as cut).
    pub max_script_bytes: usize,
    /// Most external scripts fetched per page.
    pub max_scripts: usize,
    /// Seconds allowed for one request.
    pub timeout_seconds: u64,
    /// CSP violation reports `serve` accepts per second, all browsers together (more are
    /// answered 429 and counted); the burst allowed is twice as many.
    pub csp_reports_per_second: u32,
}

impl Default for PageMonitorConfig {
    fn default() -> Self {
        PageMonitorConfig {
            deface_threshold: 0.5,
            reminder_seconds: 3600,
            max_page_bytes: 4 << 20,
            max_script_bytes: 4 << 20,
            max_scripts: 100,
            timeout_seconds: 20,
            csp_reports_per_second: 50,
        }
    }
}

/// Checks the pages and settings; the error names the key.
pub fn validate(
    pages: &[PageConfig],
    settings: &PageMonitorConfig,
) -> Result<(), (&'static str, String)> {
    if pages.len() > MAX_PAGES {
        return Err(("integrity.pages", format!("at most {MAX_PAGES} pages")));
    }
    for (i, p) in pages.iter().enumerate() {
        let url = url::Url::parse(&p.url)
            .map_err(|e| ("integrity.pages.url", format!("[{i}] `{}`: {e}", p.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err((
                "integrity.pages.url",
                format!("[{i}] `{}`: must be http or https", p.url),
            ));
        }
        if !(1..=86_400).contains(&p.interval) {
            return Err((
                "integrity.pages.interval",
                format!("[{i}]: must be 1 to 86400 seconds"),
            ));
        }
    }
    if !(0.0..=1.0).contains(&settings.deface_threshold) {
        return Err((
            "integrity.page_monitor.deface_threshold",
            "must be between 0 and 1".into(),
        ));
    }
    if settings.max_page_bytes == 0 || settings.max_page_bytes > 64 << 20 {
        return Err((
            "integrity.page_monitor.max_page_bytes",
            "must be 1 to 67108864".into(),
        ));
    }
    if settings.max_script_bytes == 0 || settings.max_script_bytes > 64 << 20 {
        return Err((
            "integrity.page_monitor.max_script_bytes",
            "must be 1 to 67108864".into(),
        ));
    }
    if settings.max_scripts > 1000 {
        return Err((
            "integrity.page_monitor.max_scripts",
            "must be at most 1000".into(),
        ));
    }
    if !(1..=300).contains(&settings.timeout_seconds) {
        return Err((
            "integrity.page_monitor.timeout_seconds",
            "must be 1 to 300".into(),
        ));
    }
    if !(1..=10_000).contains(&settings.csp_reports_per_second) {
        return Err((
            "integrity.page_monitor.csp_reports_per_second",
            "must be 1 to 10000".into(),
        ));
    }
    Ok(())
}
