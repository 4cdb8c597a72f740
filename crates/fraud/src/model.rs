//! The trained model: a gradient-boosted tree ensemble (the mean of boosters fitted with
//! `forust-ml`, stored in our own tree format), the Platt calibration fitted on the time-later
//! validation part, and the feature names it expects, in one versioned JSON file.

use serde::{Deserialize, Serialize};

use crate::compiled::{CompiledTrees, StoredTrees};
use crate::error::FileError;
use crate::platt::{Platt, sigmoid};

/// The `format` field of every model file.
pub const FORMAT: &str = "ensuresec-fraud-model";
/// The file layout version this build writes and reads.
pub const VERSION: u32 = 3;
/// Largest model file accepted.
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// What the model was trained on, for the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSummary {
    /// Rows the boosters were fitted on (every row when they were refitted after the choice).
    pub fit_rows: usize,
    /// Fraud rows among them.
    pub fit_positives: usize,
    /// Time-later rows the choice and the calibration were made on.
    pub validation_rows: usize,
    /// Fraud rows among them.
    pub validation_positives: usize,
    /// Area under the precision-recall curve on the validation rows of the members' mean (the
    /// margins the calibration was fitted on).
    pub validation_pr_auc: f64,
    /// Step size of every tree.
    pub learning_rate: f32,
    /// Trees in the model, all members together.
    pub trees: usize,
    /// Whether the boosters were fitted again on every row after the choice.
    pub refit: bool,
    /// The boosters averaged into the model.
    pub members: Vec<Member>,
}

/// One booster of the model: its own sampling seed, its own choice of candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Seed of its column and row sampling.
    pub seed: u64,
    /// The chosen most leaves per tree.
    pub leaves: usize,
    /// Its trees.
    pub trees: usize,
    /// Its own PR-AUC on the validation rows.
    pub validation_pr_auc: f64,
    /// Every candidate it tried, with its figure on the validation rows.
    pub candidates: Vec<Candidate>,
}

/// One candidate of the choice made on the validation rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// Most leaves per tree.
    pub leaves: usize,
    /// Trees kept: the count with the best validation PR-AUC.
    pub trees: usize,
    /// That PR-AUC.
    pub validation_pr_auc: f64,
}

/// A loaded model.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version, [`VERSION`].
    pub version: u32,
    /// Feature names, in the booster's column order.
    pub features: Vec<String>,
    /// Margin → probability.
    pub calibration: Platt,
    /// How it was trained.
    pub training: TrainingSummary,
    /// The tree ensemble. Scoring one row reads the compiled copy made when the model was
    /// loaded or trained, so changed trees need [`Model::compile`] again.
    pub trees: StoredTrees,
    /// The trees as one flat array: what [`Model::predict`] walks.
    #[serde(skip)]
    pub(crate) compiled: CompiledTrees,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("features", &self.features)
            .field("calibration", &self.calibration)
            .field("training", &self.training)
            .finish_non_exhaustive()
    }
}

/// One scored row.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Calibrated fraud probability.
    pub probability: f64,
    /// Calibrated log-odds.
    pub log_odds: f64,
    /// Each feature's share of the log-odds (Saabas path attribution), in column order; they
    /// sum with `bias` to `log_odds`.
    pub contributions: Vec<f64>,
    /// The log-odds of a payment with no feature information.
    pub bias: f64,
}

impl Model {
    /// Parses and checks a model file; `file` names it in errors.
    pub fn from_json(file: &str, text: &str) -> Result<Model, FileError> {
        // Format and version first, so that a file of another layout is refused by them rather
        // than by the first field this build does not know.
        #[derive(Deserialize)]
        struct Header {
            format: String,
            version: u32,
        }
        let header: Header =
            serde_json::from_str(text).map_err(|e| FileError::new(file, e.to_string()))?;
        if header.format != FORMAT {
            return Err(FileError::new(file, format!("`format`: not `{FORMAT}`")));
        }
        if header.version != VERSION {
            return Err(FileError::new(
                file,
                format!(
                    "`version`: {} is not {VERSION}, the one this build reads (train the model again)",
                    header.version
                ),
            ));
        }
        let model: Model =
            serde_json::from_str(text).map_err(|e| FileError::new(file, e.to_string()))?;
        if model.features.is_empty() {
            return Err(FileError::new(file, "`features`: empty"));
        }
        let mut names = std::collections::HashSet::new();
        if let Some(twice) = model.features.iter().find(|n| !names.insert(n.as_str())) {
            return Err(FileError::new(
                file,
                format!("`features`: `{twice}` is listed twice"),
            ));
        }
        let mut model = model;
        model
            .compile()
            .map_err(|e| FileError::new(file, format!("`trees`: {e}")))?;
        Ok(model)
    }

    /// Compiles the trees for [`Model::predict`] (done by loading and training).
    pub fn compile(&mut self) -> Result<(), String> {
        self.compiled = CompiledTrees::compile(&self.trees, self.features.len())?;
        Ok(())
    }

    /// Reads and loads the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Model, FileError> {
        let name = path.display().to_string();
        let text =
            crate::read_limited(path, MAX_FILE_BYTES).map_err(|m| FileError::new(&name, m))?;
        Model::from_json(&name, &text)
    }

    /// The file contents.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Scores one row (values in [`Model::features`] order, `NaN` for unknown) and explains it.
    pub fn predict(&self, row: &[f64]) -> Prediction {
        let cols = self.features.len();
        let mut contributions = vec![0.0; cols + 1];
        let margin = self.compiled.explain(row, &mut contributions);
        let raw_bias = contributions[cols];
        contributions.truncate(cols);
        for c in &mut contributions {
            *c *= self.calibration.a;
        }
        let log_odds = self.calibration.log_odds(margin);
        Prediction {
            probability: sigmoid(log_odds),
            log_odds,
            contributions,
            bias: self.calibration.log_odds(raw_bias),
        }
    }

    /// Raw margins of many rows at once (column-major, as in [`crate::Dataset`]).
    pub fn margins(&self, x: &[f64], rows: usize) -> Vec<f64> {
        let cols = self.features.len();
        let mut row = vec![0.0; cols];
        (0..rows)
            .map(|r| {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = x[c * rows + r];
                }
                self.compiled.margin(&row)
            })
            .collect()
    }

    /// Calibrated probabilities of many rows.
    pub fn probabilities(&self, x: &[f64], rows: usize) -> Vec<f64> {
        self.margins(x, rows)
            .into_iter()
            .map(|m| sigmoid(self.calibration.log_odds(m)))
            .collect()
    }
}
