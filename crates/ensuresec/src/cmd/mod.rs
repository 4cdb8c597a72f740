//! One module per subcommand.

pub mod audit;
pub mod certify;
pub mod config;
pub mod deadletters;
pub mod decisions;
pub mod delivery;
pub mod diagnose;
pub mod foreign;
pub mod fraud;
pub mod gateway;
pub mod identity;
pub mod incidents;
pub mod ingest;
pub mod integrity;
pub mod integrity_pages;
pub mod ledger;
pub mod rules;
pub mod scan;
pub mod schema;
pub mod serve;
pub mod serve_ages;
pub mod simulate;
pub mod token;
pub mod users;
pub mod verify;
pub mod witness;

use std::path::{Path, PathBuf};

use anyhow::Context;
use ensuresec_server::config::Config;

/// Loads the configuration: `file` (or `./ensuresec.toml` when present), then the environment,
/// then a `--data-dir` flag.
pub fn load_config(file: Option<&Path>, data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let default = Path::new("ensuresec.toml");
    let file = file.or_else(|| default.exists().then_some(default));
    let mut config = Config::load(file, std::env::vars()).context("configuration")?;
    if let Some(dir) = data_dir {
        config.storage.data_dir = dir;
    }
    Ok(config)
}

/// What a start of the pipeline says when it detected events the last run had stored but not
/// detected (`serve` and `ingest --offline` both start one); nothing when there were none.
pub fn resumed_line(platform: &ensuresec_server::Platform) -> Option<String> {
    let events = platform.resumed_events();
    (events > 0).then(|| {
        format!("detection resumed over {events} events stored but not detected before the restart")
    })
}
