//! Loading the asset model for `serve`: the configured file, or the reference shop's model for
//! the demo, or none.

use std::io::Read as _;
use std::path::Path;

use ensuresec_assets::{AssetModel, AssetModelError, MAX_FILE_BYTES, SHOP_MODEL, SHOP_MODEL_NAME};

/// Why the asset model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file was refused (the message names file, line and key).
    #[error(transparent)]
    Model(#[from] AssetModelError),
    /// The recovery file was refused (the message names file, line and key).
    #[error(transparent)]
    Recovery(#[from] ensuresec_recovery::RecoveryError),
}

/// The model in `file` when given; otherwise the shipped shop model when `demo`, else empty.
pub fn load(file: Option<&Path>, demo: bool) -> Result<AssetModel, AssetsError> {
    let Some(path) = file else {
        return Ok(if demo {
            AssetModel::from_yaml(SHOP_MODEL_NAME, SHOP_MODEL)?
        } else {
            AssetModel::default()
        });
    };
    let text = read_limited(path, MAX_FILE_BYTES)?;
    Ok(AssetModel::from_yaml(&path.display().to_string(), &text)?)
}

/// The health probes and recovery actions in `file`, checked against `model`; none without a
/// file.
pub fn load_recovery(
    file: Option<&Path>,
    model: &AssetModel,
) -> Result<ensuresec_recovery::config::RecoveryConfig, AssetsError> {
    let Some(path) = file else {
        return Ok(Default::default());
    };
    let text = read_limited(path, ensuresec_recovery::config::MAX_FILE_BYTES)?;
    let graph = ensuresec_recovery::DepGraph::from_model(model);
    Ok(ensuresec_recovery::config::RecoveryConfig::from_yaml(
        &path.display().to_string(),
        &text,
        &graph,
    )?)
}

/// The file's text, read up to one byte over `limit` (enough for the parser to refuse it).
fn read_limited(path: &Path, limit: usize) -> Result<String, AssetsError> {
    let read = |source| AssetsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(limit as u64 + 1)
        .read_to_string(&mut text)
        .map_err(read)?;
    Ok(text)
}
