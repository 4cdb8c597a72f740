//! Training: fit boosters on the earlier part of the data, choose on the later part, calibrate
//! on it, then fit the chosen boosters again on every row. The split is by time, never
//! shuffled, so the validation figures are what the model would have done on payments it had
//! not seen.
//!
//! The model is the mean of a few boosters ("members") that differ only in the seed of their
//! column and row sampling, each making its own choice of candidate. One booster's ranking of
//! rare frauds depends a lot on which columns and rows its early trees happened to see; the
//! mean does not.
//! On the public data set's training part the mean of three ranked held-out rows better than
//! one booster in each of three time-ordered folds (bench/RESULTS.md); it walks three times the
//! trees per score.
//!
//! The booster is `forust-ml`'s histogram gradient boosting, grown leaf by leaf with a small
//! step, as LightGBM is used on fraud data: many small trees, stopped where the ranking of the
//! held-out rows (average precision) is best. A self-tuning booster (`perpetual`) was used
//! before; its own stopping rules kept it 0.02–0.07 PR-AUC below a tuned LightGBM on the public
//! data set whatever its one knob was set to (bench/RESULTS.md).

use forust_ml::gradientbooster::GrowPolicy;
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};

use crate::compiled::StoredTrees;
use crate::dataset::Dataset;
use crate::metrics::ranking;
use crate::model::{Candidate, FORMAT, Member, Model, TrainingSummary, VERSION};
use crate::platt::Platt;

/// Fewest fraud rows needed in each part.
pub const MIN_POSITIVES: usize = 5;

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Share of the (time-ordered) rows kept back for the choice and the calibration: the
    /// latest.
    pub validation_fraction: f64,
    /// Step size of every tree: small steps and many trees rank best, at the cost of time.
    pub learning_rate: f32,
    /// The candidates' most leaves per tree; the one that ranks the validation rows best is
    /// kept.
    pub leaves: Vec<usize>,
    /// Most trees per candidate.
    pub max_trees: usize,
    /// A candidate stops growing after this many trees without a better validation log-loss.
    pub patience: usize,
    /// Threads to train with (`None`: all cores).
    pub threads: Option<usize>,
    /// Boosters averaged into the model, each with its own sampling seed.
    pub members: usize,
    /// Seed of the first member's column and row sampling (the next members take the next
    /// seeds), for repeatable models.
    pub seed: u64,
    /// After the choice, fit each chosen booster again on every row, with as many trees (the
    /// calibration stays the one fitted on held-out rows). On by default: the latest rows
    /// carry the latest fraud patterns, and on the public data set's training part it ranked
    /// the following rows better in every case tried (bench/RESULTS.md).
    pub refit: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            validation_fraction: 0.2,
            learning_rate: 0.05,
            leaves: vec![15, 31, 63],
            max_trees: 3000,
            patience: 300,
            threads: None,
            members: 3,
            seed: 0,
            refit: true,
        }
    }
}

/// The candidates' leaves per tree that training accepts, in words.
const LEAVES_ALLOWED: &str = "one or more values, each between 2 and 4096";

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// An option is out of range.
    #[error("option `{name}` must be {allowed}")]
    Option {
        /// The option's field name.
        name: &'static str,
        /// Its allowed values, in words.
        allowed: &'static str,
    },
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
    let o = options;
    let range = |holds: bool, name, allowed| match holds {
        true => Ok(()),
        false => Err(TrainError::Option { name, allowed }),
    };
    let leaves_in_range = o.leaves.iter().all(|l| (2..=4096).contains(l));
    range(
        (0.05..=0.5).contains(&o.validation_fraction),
        "validation_fraction",
        "between 0.05 and 0.5",
    )?;
    range(
        (0.001..=1.0).contains(&o.learning_rate),
        "learning_rate",
        "between 0.001 and 1",
    )?;
    range(
        !o.leaves.is_empty() && leaves_in_range,
        "leaves",
        LEAVES_ALLOWED,
    )?;
    range(
        (1..=100_000).contains(&o.max_trees),
        "max_trees",
        "between 1 and 100000",
    )?;
    range(o.patience > 0, "patience", "at least 1")?;
    range((1..=16).contains(&o.members), "members", "between 1 and 16")?;
    // Member m samples with seed + m, which must not run past the largest seed.
    let last_seed = o.seed.checked_add(o.members as u64 - 1);
    range(
        last_seed.is_some(),
        "seed",
        "such that seed + members - 1 (the last member's seed) fits in 64 bits",
    )?;
    let cut = data.rows - ((data.rows as f64 * options.validation_fraction) as usize).max(1);
    let fit = data.slice(0..cut);
    let validation = data.slice(cut..data.rows);
    check_part("fit", &fit)?;
    check_part("validation", &validation)?;

    let mut members = Vec::with_capacity(options.members);
    let mut stored = Vec::with_capacity(options.members);
    // The members' mean margin on the validation rows, as fitted: what is calibrated.
    let mut margins = vec![0.0; validation.rows];
    for m in 0..options.members {
        let seed = options.seed + m as u64;
        let (member, chosen, trees) = fit_member(data, &fit, &validation, seed, options)?;
        for (mean, margin) in margins.iter_mut().zip(&chosen.margins) {
            *mean += margin / options.members as f64;
        }
        members.push(member);
        stored.push(trees);
    }
    let trees = StoredTrees::mean(stored);
    let fitted_on = if options.refit { data } else { &fit };

    let mut model = Model {
        format: FORMAT.into(),
        version: VERSION,
        features: data.names.clone(),
        calibration: Platt::fit(&margins, &validation.y),
        training: TrainingSummary {
            fit_rows: fitted_on.rows,
            fit_positives: fitted_on.positives(),
            validation_rows: validation.rows,
            validation_positives: validation.positives(),
            validation_pr_auc: ranking(&margins, &validation.y).pr_auc,
            learning_rate: options.learning_rate,
            trees: trees.trees.len(),
            refit: options.refit,
            members,
        },
        trees,
        compiled: Default::default(),
    };
    model.compile().map_err(TrainError::Booster)?;
    Ok(model)
}

/// One member: every candidate fitted on `fit` with sampling `seed`, the one that ranks
/// `validation` best kept (and fitted again on all of `data` when refitting), with its record
/// and its margins on `validation` as fitted.
fn fit_member(
    data: &Dataset,
    fit: &Dataset,
    validation: &Dataset,
    seed: u64,
    options: &TrainOptions,
) -> Result<(Member, Chosen, StoredTrees), TrainError> {
    let mut candidates = Vec::new();
    let mut best: Option<(Chosen, usize, GradientBooster)> = None;
    for &leaves in &options.leaves {
        let booster = fit_booster(
            fit,
            Some(validation),
            leaves,
            options.max_trees,
            seed,
            options,
        )?;
        let chosen = best_prefix(&booster, validation);
        candidates.push(Candidate {
            leaves,
            trees: chosen.trees,
            validation_pr_auc: chosen.pr_auc,
        });
        if best
            .as_ref()
            .is_none_or(|(b, _, _)| chosen.pr_auc > b.pr_auc)
        {
            best = Some((chosen, leaves, booster));
        }
    }
    let (chosen, leaves, booster) = best.ok_or(TrainError::Option {
        name: "leaves",
        allowed: LEAVES_ALLOWED,
    })?;
    // The chosen candidate as fitted, or fitted again on every row with as many trees.
    let booster = match options.refit {
        true => fit_booster(data, None, leaves, chosen.trees, seed, options)?,
        false => booster,
    };
    let trees = StoredTrees::from_forust(&booster, chosen.trees).map_err(TrainError::Booster)?;
    let member = Member {
        seed,
        leaves,
        trees: trees.trees.len(),
        validation_pr_auc: chosen.pr_auc,
        candidates,
    };
    Ok((member, chosen, trees))
}

/// The best number of trees of one fitted candidate.
struct Chosen {
    /// Trees kept.
    trees: usize,
    /// Validation PR-AUC with that many.
    pr_auc: f64,
    /// Validation margins with that many (what the calibration is fitted on).
    margins: Vec<f64>,
}

/// The number of `booster`'s first trees that ranks `validation` best (average precision, the
/// target metric), found by adding one tree's predictions at a time.
fn best_prefix(booster: &GradientBooster, validation: &Dataset) -> Chosen {
    let matrix = Matrix::new(&validation.x, validation.rows, validation.names.len());
    let mut margins = vec![booster.base_score; validation.rows];
    let mut best = Chosen {
        trees: 0,
        pr_auc: f64::NEG_INFINITY,
        margins: margins.clone(),
    };
    for (t, tree) in booster.trees.iter().enumerate() {
        for (m, v) in margins
            .iter_mut()
            .zip(tree.predict(&matrix, true, &booster.missing))
        {
            *m += v;
        }
        let pr_auc = ranking(&margins, &validation.y).pr_auc;
        if pr_auc > best.pr_auc {
            best.trees = t + 1;
            best.pr_auc = pr_auc;
            best.margins.copy_from_slice(&margins);
        }
    }
    best
}

/// A booster with at most `leaves` leaves per tree and sampling `seed`, fitted on every
/// row of `data`: `trees` trees, or fewer when `validation` is given and its log-loss stops
/// improving.
fn fit_booster(
    data: &Dataset,
    validation: Option<&Dataset>,
    leaves: usize,
    trees: usize,
    seed: u64,
    options: &TrainOptions,
) -> Result<GradientBooster, TrainError> {
    let mut booster = GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(trees)
        .set_learning_rate(options.learning_rate)
        .set_max_leaves(leaves)
        // Leaf-wise growth: `leaves` bounds the tree, not its depth.
        .set_max_depth(leaves)
        .set_min_leaf_weight(1.0)
        .set_l2(1.0)
        .set_colsample_bytree(0.8)
        // Each tree sees a fresh random 80 % of the rows (seeded like the columns): the members
        // then differ in their rows too, and their mean ranked every one of the three later
        // slices of the public data set's training part better (bench/RESULTS.md).
        .set_subsample(0.8)
        .set_sample_method(SampleMethod::Random)
        .set_seed(seed)
        .set_initialize_base_score(true)
        .set_num_threads(options.threads);
    booster.grow_policy = GrowPolicy::LossGuide;
    let y = |d: &Dataset| -> Vec<f64> { d.y.iter().map(|l| f64::from(u8::from(*l))).collect() };
    let matrix = Matrix::new(&data.x, data.rows, data.names.len());
    let fitted = match validation {
        Some(v) => {
            booster = booster
                .set_evaluation_metric(Some(Metric::LogLoss))
                .set_early_stopping_rounds(Some(options.patience));
            let vy = y(v);
            let weights = vec![1.0; v.rows];
            let eval = Matrix::new(&v.x, v.rows, v.names.len());
            booster.fit_unweighted(&matrix, &y(data), Some(vec![(eval, &vy, &weights)]))
        }
        None => booster.fit_unweighted(&matrix, &y(data), None),
    };
    fitted.map_err(|e| TrainError::Booster(e.to_string()))?;
    Ok(booster)
}
