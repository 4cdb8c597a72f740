//! Training: fit the booster on the earlier part of the data, calibrate on the later part, and
//! report how well it ranks the later part. The split is by time, never shuffled, so the
//! validation figures are what the model would have done on payments it had not seen.

use perpetual::PerpetualBooster;
use perpetual::objective::Objective;

use crate::dataset::Dataset;
use crate::metrics::ranking;
use crate::model::{FORMAT, Model, TrainingSummary, VERSION};
use crate::platt::Platt;

/// Fewest fraud rows needed in each part.
pub const MIN_POSITIVES: usize = 5;

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Share of the (time-ordered) rows kept back for calibration and validation: the latest.
    pub validation_fraction: f64,
    /// The booster's budget: higher fits more trees (0.5 to 2 is sensible).
    pub budget: f32,
    /// Threads to train with (`None`: all cores).
    pub threads: Option<usize>,
    /// Seed of the booster's sampling, for repeatable models.
    pub seed: u64,
    /// Weight the rare fraud rows up while fitting (the booster's automatic class weights).
    /// On by default: without it the booster stopped early on the public data set and ranked
    /// far worse (bench/RESULTS.md).
    pub balance_classes: bool,
    /// After calibrating, fit the booster again on every row (the calibration stays the one
    /// fitted on held-out rows). Off by default: not yet shown to help.
    pub refit: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            validation_fraction: 0.2,
            budget: 1.0,
            threads: None,
            seed: 0,
            balance_classes: true,
            refit: false,
        }
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The options are out of range.
    #[error("option `{0}` is out of range")]
    Option(&'static str),
    /// One part of the split has too few fraud or genuine rows to learn or calibrate from.
    #[error(
        "the {part} part has {positives} fraud and {negatives} genuine rows: need at least {MIN_POSITIVES} of each"
    )]
    TooFew {
        /// `fit` or `validation`.
        part: &'static str,
        /// Fraud rows in it.
        positives: usize,
        /// Genuine rows in it.
        negatives: usize,
    },
    /// The booster refused.
    #[error("booster: {0}")]
    Booster(String),
}

fn check_part(part: &'static str, d: &Dataset) -> Result<(), TrainError> {
    let positives = d.positives();
    let negatives = d.rows - positives;
    if positives < MIN_POSITIVES || negatives < MIN_POSITIVES {
        return Err(TrainError::TooFew {
            part,
            positives,
            negatives,
        });
    }
    Ok(())
}

/// Trains a calibrated model on `data` (rows in time order).
pub fn train(data: &Dataset, options: &TrainOptions) -> Result<Model, TrainError> {
    if !(0.05..=0.5).contains(&options.validation_fraction) {
        return Err(TrainError::Option("validation_fraction"));
    }
    if !(0.05..=5.0).contains(&options.budget) {
        return Err(TrainError::Option("budget"));
    }
    let cut = data.rows - ((data.rows as f64 * options.validation_fraction) as usize).max(1);
    let fit = data.slice(0..cut);
    let validation = data.slice(cut..data.rows);
    check_part("fit", &fit)?;
    check_part("validation", &validation)?;

    let booster = fit_booster(&fit, options)?;

    let mut model = Model {
        format: FORMAT.into(),
        version: VERSION,
        features: data.names.clone(),
        calibration: Platt::IDENTITY,
        training: TrainingSummary {
            fit_rows: fit.rows,
            fit_positives: fit.positives(),
            validation_rows: validation.rows,
            validation_positives: validation.positives(),
            validation_pr_auc: f64::NAN,
            budget: options.budget,
        },
        booster,
        compiled: Default::default(),
    };
    let margins = model.margins(&validation.x, validation.rows);
    model.calibration = Platt::fit(&margins, &validation.y);
    model.training.validation_pr_auc = ranking(&margins, &validation.y).pr_auc;
    if options.refit {
        model.booster = fit_booster(data, options)?;
        model.training.fit_rows = data.rows;
        model.training.fit_positives = data.positives();
    }
    model.compile().map_err(TrainError::Booster)?;
    Ok(model)
}

/// A booster fitted on every row of `data`.
fn fit_booster(data: &Dataset, options: &TrainOptions) -> Result<PerpetualBooster, TrainError> {
    let mut booster = PerpetualBooster::default()
        .set_objective(Objective::LogLoss)
        .set_budget(options.budget)
        .set_num_threads(options.threads)
        .set_seed(options.seed);
    booster.cfg.auto_class_weights = options.balance_classes;
    let y: Vec<f64> = data.y.iter().map(|l| f64::from(u8::from(*l))).collect();
    let matrix = perpetual::Matrix::new(&data.x, data.rows, data.names.len());
    booster
        .fit(&matrix, &y, None, None)
        .map_err(|e| TrainError::Booster(e.to_string()))?;
    Ok(booster)
}
