//! `[integrity]` of `ensuresec.toml`: which root is monitored, where its state is kept, and how
//! `serve` watches it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `[integrity]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrityConfig {
    /// The shop's code or web root. Without it, `serve` monitors nothing and the CLI wants the
    /// root on its command line.
    pub root: Option<PathBuf>,
    /// State folder (baseline, copy store, quarantine, journal) [default: DATA_DIR/integrity].
    pub state_dir: Option<PathBuf>,
    /// Ignore patterns for the first baseline (later ones keep the signed baseline's).
    pub ignore: Vec<String>,
    /// Pinned verifier key the baseline must be signed with; without it the key in the state
    /// folder is trusted.
    pub verifier_key: Option<String>,
    /// Scan new and modified files with the shipped YARA rules (web shells, skimmers).
    pub builtin_rules: bool,
    /// More YARA rule files, or folders of `.yar`/`.yara` files.
    pub rules: Vec<PathBuf>,
    /// The asset name put on file-change events (the asset model's id of the web server).
    pub asset: Option<String>,
    /// Watch the root in real time in `serve` (inotify).
    pub watch: bool,
    /// Full rescans in `serve`, in seconds (0: never); they catch what a watch can miss.
    pub scan_interval_seconds: u64,
    /// How long changes to one path are gathered before they are checked, in milliseconds
    /// (an editor's save is several events).
    pub settle_milliseconds: u64,
    /// Payment pages `serve` fetches on a schedule (`[[integrity.pages]]`).
    pub pages: Vec<crate::pages::config::PageConfig>,
    /// Settings of the page monitor (`[integrity.page_monitor]`).
    pub page_monitor: crate::pages::config::PageMonitorConfig,
}

impl Default for IntegrityConfig {
    fn default() -> Self {
        IntegrityConfig {
            root: None,
            state_dir: None,
            ignore: Vec::new(),
            verifier_key: None,
            builtin_rules: true,
            rules: Vec::new(),
            asset: None,
            watch: true,
            scan_interval_seconds: 3600,
            settle_milliseconds: 100,
            pages: Vec::new(),
            page_monitor: Default::default(),
        }
    }
}

impl IntegrityConfig {
    /// The state folder, given the data directory.
    pub fn state_dir(&self, data_dir: &Path) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("integrity"))
    }

    /// Checks values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.settle_milliseconds > 10_000 {
            return Err((
                "integrity.settle_milliseconds",
                "must be at most 10000".into(),
            ));
        }
        if self.ignore.len() > crate::header::MAX_IGNORE {
            return Err((
                "integrity.ignore",
                format!("at most {} patterns", crate::header::MAX_IGNORE),
            ));
        }
        crate::ignore::Ignore::new(&self.ignore)
            .map_err(|e| ("integrity.ignore", e.to_string()))?;
        crate::pages::config::validate(&self.pages, &self.page_monitor)
    }
}
