//! `ensuresec fraud train|evaluate|score|inspect`: the payment fraud model and rules, and the
//! state files `serve` keeps, offline.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ensuresec_fraud::dataset::{Columns, Dataset};
use ensuresec_fraud::feedback::Replay;
use ensuresec_fraud::metrics::{at_thresholds, ranking};
use ensuresec_fraud::train::TrainError;
use ensuresec_fraud::{FraudService, Model, PaymentRequest, RuleSet, ServiceConfig, TrainOptions};

/// Longest NDJSON line `score` accepts (one payment request).
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Which CSV columns are the label and the time.
#[derive(clap::Args)]
pub struct CsvColumns {
    /// The 0/1 label column (1 = fraud).
    #[arg(long, default_value = "Class")]
    label: String,
    /// The time column, for ordering (not a feature).
    #[arg(long, default_value = "Time")]
    time: String,
    /// The file has no time column: rows are in time order already.
    #[arg(long, conflicts_with = "time")]
    no_time: bool,
}

impl CsvColumns {
    fn columns(&self) -> Columns {
        Columns {
            label: self.label.clone(),
            time: (!self.no_time).then(|| self.time.clone()),
        }
    }
}

/// Fraud subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Train a calibrated gradient-boosted model on labelled CSV (split by time: the latest
    /// rows choose among the candidates and calibrate; the chosen ones are then fitted again
    /// on every row; the model is the mean of a few such boosters) and write the model file.
    Train {
        /// Labelled data: a header, numeric feature columns, a label and a time column.
        data: PathBuf,
        #[command(flatten)]
        columns: CsvColumns,
        /// Where to write the model.
        #[arg(long, short, default_value = "fraud-model.json")]
        out: PathBuf,
        /// Share of the latest rows held back for the choice and the calibration.
        #[arg(long, default_value_t = 0.2)]
        validation: f64,
        /// Step size of every tree.
        #[arg(long, default_value_t = 0.05)]
        learning_rate: f32,
        /// Candidates' most leaves per tree, comma-separated; the best on validation is kept.
        #[arg(long, value_delimiter = ',', default_values_t = [15, 31, 63])]
        leaves: Vec<usize>,
        /// Most trees per candidate.
        #[arg(long, default_value_t = 3000)]
        max_trees: usize,
        /// Stop a candidate after this many trees without a better validation log-loss.
        #[arg(long, default_value_t = 300)]
        patience: usize,
        /// Boosters averaged into the model, each with its own column and row sampling (each
        /// costs its trees per score).
        #[arg(long, default_value_t = 3)]
        members: usize,
        /// Seed of the first member's column and row sampling (the next members take the next
        /// seeds): the same seed and data give the same model file; others show how much the
        /// figures owe to chance.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Training threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// Keep the chosen boosters as fitted on the earlier rows, instead of fitting them again
        /// on every row.
        #[arg(long)]
        no_refit: bool,
    },
    /// Score labelled CSV with a model, or replay labelled events (--events), and print
    /// ranking figures and precision/recall at the thresholds, as JSON.
    Evaluate {
        /// The model file [required with DATA; with --events: `[fraud] model`, else rules
        /// only].
        #[arg(long, short, required_unless_present = "events")]
        model: Option<PathBuf>,
        /// Labelled data with the model's feature columns.
        #[arg(required_unless_present = "events", conflicts_with = "events")]
        data: Option<PathBuf>,
        /// Events as NDJSON: payment_authorization events are scored in time order as the
        /// server would; chargeback and fraud_verdict events label them (the latest label
        /// wins).
        #[arg(long)]
        events: Option<PathBuf>,
        /// Configuration file whose `[fraud]` section gives rules, model and thresholds (with
        /// --events) [default: ./ensuresec.toml when present].
        #[arg(long, short, requires = "events")]
        config: Option<PathBuf>,
        #[command(flatten)]
        columns: CsvColumns,
        /// Rules file whose thresholds are reported [default: `[fraud] rules` with --events,
        /// else the shipped rules].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Also write one probability per row (in time order) to this file.
        #[arg(long, conflicts_with = "events")]
        predictions: Option<PathBuf>,
    },
    /// Score payment requests (NDJSON, one per line, in time order) and print one assessment
    /// per line.
    Score {
        /// The requests [default: standard input].
        input: Option<PathBuf>,
        /// Rules file [default: the shipped rules].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Model file over the online features [default: rules only].
        #[arg(long, short)]
        model: Option<PathBuf>,
        /// MaxMind DB City file placing client IP addresses (for the distance features).
        #[arg(long)]
        ip_locations: Option<PathBuf>,
        /// GeoNames postal-code file placing addresses that come without coordinates.
        #[arg(long)]
        postal_centroids: Option<PathBuf>,
        /// Exchange rates (YAML, or the ECB's reference rates as published when named
        /// `*.csv`): amounts counted in its reference currency.
        #[arg(long)]
        exchange_rates: Option<PathBuf>,
        /// Count amounts in this currency instead of the rates file's reference (it must be
        /// priced there): dollars from the ECB's euro rates, say.
        #[arg(long, requires = "exchange_rates")]
        exchange_rates_reference: Option<String>,
    },
    /// Check a state file `serve` keeps (the feature state or the ring graph) as a start would,
    /// and print what it holds as JSON; a file a start would refuse is refused with the reason.
    Inspect {
        /// The file (`fraud-state.bin`, `fraud-rings.bin`).
        file: PathBuf,
    },
}

/// Runs the subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train {
            data,
            columns,
            out,
            validation,
            learning_rate,
            leaves,
            max_trees,
            patience,
            members,
            seed,
            threads,
            no_refit,
        } => {
            let options = TrainOptions {
                validation_fraction: validation,
                learning_rate,
                leaves,
                max_trees,
                patience,
                members,
                seed,
                threads,
                refit: !no_refit,
            };
            train(&data, &columns.columns(), &out, &options)
        }
        Command::Evaluate {
            model,
            events: Some(events),
            config,
            rules,
            ..
        } => evaluate_events(&events, config.as_deref(), model, rules),
        Command::Evaluate {
            model: Some(model),
            data: Some(data),
            columns,
            rules,
            predictions,
            ..
        } => evaluate(
            &model,
            &data,
            &columns.columns(),
            rules.as_deref(),
            predictions.as_deref(),
        ),
        Command::Evaluate { .. } => {
            anyhow::bail!("evaluate needs --model and DATA, or --events")
        }
        Command::Score {
            input,
            rules,
            model,
            ip_locations,
            postal_centroids,
            exchange_rates,
            exchange_rates_reference,
        } => score(
            input.as_deref(),
            // The same loading as `serve`.
            &ServiceConfig {
                rules,
                model,
                ip_locations,
                postal_centroids,
                exchange_rates,
                exchange_rates_reference,
                ..ServiceConfig::default()
            },
        ),
        Command::Inspect { file } => inspect(&file),
    }
}

/// Reads a feature state or ring file whole, as `serve` does at start, and prints a summary.
/// No ceiling of a configuration applies: the feature state's reader refuses a count its file
/// cannot hold, and the ring graph's ceilings come from the file's size (an entity or payment
/// takes at least 13 bytes), so no room is made for counts that are not there.
fn inspect(path: &Path) -> anyhow::Result<ExitCode> {
    use ensuresec_fraud::journal::is_journal;
    use ensuresec_fraud::rings::{RingGraph, RingLimits};
    use ensuresec_fraud::{FeatureStore, StateLimits};
    use std::io::Read as _;
    let name = path.display().to_string();
    let open = || std::fs::File::open(path).with_context(|| format!("opening {name}"));
    let len = open()?.metadata()?.len();
    let mut head = Vec::new();
    open()?.take(32).read_to_end(&mut head)?;
    let summary = if FeatureStore::is_snapshot(&head) {
        let limits = StateLimits {
            max_entities: usize::MAX,
            reserved_entities: 0,
            ..StateLimits::default()
        };
        let store = FeatureStore::read_snapshot_file(&name, open()?, limits)?;
        let stats = store.stats();
        serde_json::json!({
            "file": name,
            "format": "fraud feature state",
            "entities": store
                .entities_by_kind()
                .into_iter()
                .map(|(kind, n)| (kind.to_string(), n.into()))
                .collect::<serde_json::Map<_, _>>(),
            "total": store.len(),
            // What its entities' time to live counts from.
            "newest_seen": store
                .newest()
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.to_rfc3339()),
            "expired": stats.expired,
            "evicted": stats.evicted,
            "journal_from": store.journal_from(),
            "recent_payments": store.recent_payments(),
        })
    } else if is_journal::<FeatureStore>(&head) {
        // Counted into an empty state, as a start would count it after its state file.
        let limits = StateLimits {
            max_entities: usize::MAX,
            reserved_entities: 0,
            ..StateLimits::default()
        };
        let mut store = FeatureStore::new(limits);
        let read = read_journal(&name, open()?, &mut store)?;
        serde_json::json!({
            "file": name,
            "format": "fraud journal",
            "records": read.records,
            "torn_bytes": read.torn_bytes,
            "entities": store.len(),
        })
    } else if is_journal::<RingGraph>(&head) {
        // Taken into an empty graph that forgets nothing.
        let mut graph = RingGraph::new(RingLimits {
            max_nodes: usize::MAX,
            max_payments: usize::MAX,
            max_age_seconds: None,
            ..RingLimits::default()
        });
        let read = read_journal(&name, open()?, &mut graph)?;
        let stats = graph.stats();
        serde_json::json!({
            "file": name,
            "format": "fraud ring journal",
            "records": read.records,
            "torn_bytes": read.torn_bytes,
            "entities": stats.nodes,
            "payments": stats.payments,
            "unknown_labels": stats.unknown_labels,
        })
    } else if RingGraph::is_snapshot(&head) {
        let most = usize::try_from(2 * (len / 13 + 1))?;
        let limits = RingLimits {
            max_nodes: most,
            max_payments: most,
            ..RingLimits::default()
        };
        let graph = RingGraph::read_snapshot(&name, open()?, limits)?;
        let mut summary = serde_json::to_value(graph.summary())?;
        summary["file"] = name.into();
        summary["format"] = "fraud ring graph".into();
        summary
    } else {
        anyhow::bail!(
            "{name}: neither a fraud feature state file, a fraud ring file nor a journal of either"
        );
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

/// Takes the journal file `name` read from `file` into `state`, allowing a torn end (what a
/// crash leaves) as the last file of a start does.
fn read_journal<S: ensuresec_fraud::journal::Journaled>(
    name: &str,
    file: std::fs::File,
    state: &mut S,
) -> anyhow::Result<ensuresec_fraud::journal::FileReplay> {
    ensuresec_fraud::journal::replay_file(std::io::BufReader::new(file), None, true, state)
        .map_err(|m| anyhow::anyhow!("{name}: {m}"))
}

fn read_data(path: &Path, columns: &Columns) -> anyhow::Result<Dataset> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Dataset::read_csv(
        &path.display().to_string(),
        std::io::BufReader::new(file),
        columns,
    )?)
}

fn load_rules(path: Option<&Path>) -> anyhow::Result<RuleSet> {
    Ok(match path {
        Some(p) => RuleSet::load(p)?,
        None => RuleSet::builtin()?,
    })
}

fn train(
    data: &Path,
    columns: &Columns,
    out: &Path,
    options: &TrainOptions,
) -> anyhow::Result<ExitCode> {
    let data = read_data(data, columns)?;
    let started = std::time::Instant::now();
    let model = ensuresec_fraud::train(&data, options).map_err(|e| match e {
        TrainError::Option { name, allowed } => anyhow::anyhow!("{} must be {allowed}", flag(name)),
        other => other.into(),
    })?;
    let seconds = started.elapsed().as_secs_f64();
    // Whole or not at all: `serve` may read the file while this writes it (a reload).
    ensuresec_durable::replace(out, 0o644, model.to_json()?.as_bytes())?;
    let summary = serde_json::json!({
        "model": out.display().to_string(),
        "features": model.features.len(),
        "training": model.training,
        "calibration": model.calibration,
        "train_seconds": seconds,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

/// The `fraud train` flag that sets the training option `name`, so that an error names what
/// the user typed.
fn flag(name: &str) -> String {
    match name {
        "validation_fraction" => "--validation".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

fn evaluate(
    model: &Path,
    data: &Path,
    columns: &Columns,
    rules: Option<&Path>,
    predictions: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let model = Model::load(model)?;
    let rules = load_rules(rules)?;
    let data = read_data(data, columns)?;
    anyhow::ensure!(
        data.names == model.features,
        "the data's feature columns {:?} are not the model's {:?}",
        data.names,
        model.features
    );
    // One row at a time with its explanation, as a scored payment is, on this one thread: the
    // model's own scoring speed, reported with the figures.
    let rows: Vec<Vec<f64>> = (0..data.rows).map(|r| data.row(r)).collect();
    let started = std::time::Instant::now();
    let scores: Vec<f64> = rows.iter().map(|r| model.predict(r).probability).collect();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = predictions {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        writeln!(out, "probability,label")?;
        for (s, l) in scores.iter().zip(&data.y) {
            writeln!(out, "{s},{}", u8::from(*l))?;
        }
        out.flush()?;
    }
    let report = serde_json::json!({
        "model": {
            "trees": model.trees.trees.len(),
            "nodes": model.trees.nodes(),
            "explained_rows_per_second_one_thread": (data.rows as f64 / seconds).round(),
        },
        "ranking": ranking(&scores, &data.y),
        "thresholds": at_thresholds(&scores, &data.y, &rules.thresholds),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// Longest event line `evaluate --events` accepts.
const MAX_EVENT_LINE_BYTES: usize = 1 << 20;

fn evaluate_events(
    events: &Path,
    config: Option<&Path>,
    model: Option<PathBuf>,
    rules: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config, None)?;
    let mut service = config.fraud.service_config();
    service.rules = rules.or(service.rules);
    service.model = model.or(service.model);
    let service = FraudService::open(&service)?;
    let file =
        std::fs::File::open(events).with_context(|| format!("opening {}", events.display()))?;
    let limits = ensuresec_model::Limits {
        max_line_bytes: MAX_EVENT_LINE_BYTES,
        ..config.limits()
    };
    // Offline files may hold any past time; only a time beyond every real clock is refused.
    let now = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let mut decoded = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", events.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        anyhow::ensure!(
            line.len() <= MAX_EVENT_LINE_BYTES,
            "{}: line {}: over {MAX_EVENT_LINE_BYTES} bytes",
            events.display(),
            n + 1
        );
        let mut batch = ensuresec_model::decode_batch(line.as_bytes(), &limits, now)
            .with_context(|| format!("{}: line {}", events.display(), n + 1))?;
        decoded.append(&mut batch);
    }
    // Stable: events of the same instant keep the file's order.
    decoded.sort_by_key(|e| e.time);
    let mut replay = Replay::new(&service);
    for event in &decoded {
        replay.observe(event);
    }
    println!("{}", serde_json::to_string_pretty(&replay.report())?);
    Ok(ExitCode::SUCCESS)
}

fn score(input: Option<&Path>, config: &ServiceConfig) -> anyhow::Result<ExitCode> {
    let service = FraudService::open(config)?;
    let reader: Box<dyn BufRead> = match input {
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        anyhow::ensure!(
            line.len() <= MAX_LINE_BYTES,
            "line {}: over {MAX_LINE_BYTES} bytes",
            n + 1
        );
        let request = PaymentRequest::from_json(line.as_bytes())
            .with_context(|| format!("line {}", n + 1))?;
        let assessment = service
            .score(&request)
            .with_context(|| format!("line {}", n + 1))?;
        writeln!(out, "{}", serde_json::to_string(&assessment)?)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
