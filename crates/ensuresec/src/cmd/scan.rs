//! `ensuresec scan FILE...`: access logs analysed offline by the web-attack engine, with a
//! progress bar and a readable summary, or OCSF Detection Findings as JSON lines.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ensuresec_webattack::logs::{self, LogFormat, LogRecord};
use ensuresec_webattack::{AttackClass, Engine, EngineConfig, SharedEngine, Verdict};
use indicatif::{ProgressBar, ProgressStyle};
use owo_colors::OwoColorize;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary for people.
    Text,
    /// One OCSF Detection Finding (class 2004) per flagged request, as JSON lines.
    Json,
}

/// Log formats, or auto-detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Guess from each file's first line.
    Auto,
    /// Combined Log Format (Apache/nginx default).
    Combined,
    /// Common Log Format.
    Common,
    /// nginx `escape=json`.
    NginxJson,
    /// Caddy's JSON access log.
    CaddyJson,
    /// Any JSON object per line.
    JsonLines,
}

impl LogFormatArg {
    fn fixed(self) -> Option<LogFormat> {
        match self {
            Self::Auto => None,
            Self::Combined => Some(LogFormat::Combined),
            Self::Common => Some(LogFormat::Common),
            Self::NginxJson => Some(LogFormat::NginxJson),
            Self::CaddyJson => Some(LogFormat::CaddyJson),
            Self::JsonLines => Some(LogFormat::JsonLines),
        }
    }
}

/// Arguments of `ensuresec scan`.
#[derive(clap::Args)]
pub struct Args {
    /// Access-log files (Combined/Common, nginx JSON, Caddy JSON, JSON lines).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output: a summary, or OCSF findings as JSON lines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Log format of the files.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Auto)]
    input_format: LogFormatArg,
    /// Paranoia level 1–4.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    paranoia: u8,
    /// Anomaly score at which a request is flagged.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    threshold: u32,
    /// A directory of extra rule files.
    #[arg(long)]
    rules_dir: Option<PathBuf>,
    /// Rows in each "top" table.
    #[arg(long, default_value_t = 10)]
    top: usize,
}

/// Bad lines kept as examples in the summary.
const BAD_SAMPLES: usize = 5;

#[derive(Default)]
struct Tally {
    requests: u64,
    flagged: u64,
    bad_lines: u64,
    bad_samples: Vec<String>,
    classes: BTreeMap<AttackClass, u64>,
    paths: HashMap<String, (u64, Vec<AttackClass>)>,
    sources: HashMap<String, (u64, Vec<AttackClass>)>,
    rules: HashMap<String, u64>,
}

impl Tally {
    fn add(&mut self, rec: &LogRecord, verdict: &Verdict) {
        self.flagged += 1;
        let mut classes: Vec<AttackClass> = verdict.findings.iter().map(|f| f.class).collect();
        classes.sort();
        classes.dedup();
        for c in &classes {
            *self.classes.entry(*c).or_default() += 1;
        }
        for f in &verdict.findings {
            *self.rules.entry(f.rule_id.clone()).or_default() += 1;
        }
        let path = rec.request.uri.split('?').next().unwrap_or("").to_owned();
        for (key, map) in [
            (path, &mut self.paths),
            (rec.client_ip.clone(), &mut self.sources),
        ] {
            let e = map.entry(key).or_default();
            e.0 += 1;
            for c in &classes {
                if !e.1.contains(c) {
                    e.1.push(*c);
                }
            }
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rules = ensuresec_webattack::rules::embedded_and_dir(args.rules_dir.as_deref())
        .context("loading the web-attack rules")?;
    let engine = SharedEngine::new(
        Engine::new(
            rules,
            EngineConfig {
                paranoia: args.paranoia,
                inbound_threshold: args.threshold,
                ..EngineConfig::default()
            },
        )
        .context("building the web-attack engine")?,
    );
    let started = Instant::now();
    let total: u64 = args
        .files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {wide_bar} {msg} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    let mut next_id = 1u64;
    for path in &args.files {
        scan_file(
            path,
            &args,
            &engine,
            &bar,
            &mut tally,
            &mut |alert_json| {
                writeln!(out, "{alert_json}")?;
                Ok(())
            },
            &mut next_id,
        )?;
    }
    bar.finish_and_clear();
    out.flush()?;
    drop(out);
    let seconds = started.elapsed().as_secs_f64();
    match args.format {
        Format::Json => eprintln!(
            "{} requests, {} flagged, {} unreadable lines, {seconds:.2} s",
            tally.requests, tally.flagged, tally.bad_lines
        ),
        Format::Text => print_summary(&tally, &args, seconds),
    }
    Ok(ExitCode::SUCCESS)
}

fn scan_file(
    path: &Path,
    args: &Args,
    engine: &SharedEngine,
    bar: &ProgressBar,
    tally: &mut Tally,
    emit: &mut dyn FnMut(String) -> anyhow::Result<()>,
    next_id: &mut u64,
) -> anyhow::Result<()> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
    // Requests whose logged time does not parse are dated by the file's modification time.
    let fallback: DateTime<Utc> = file
        .metadata()
        .and_then(|m| m.modified())
        .map(DateTime::<Utc>::from)
        .unwrap_or_default();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut format = args.input_format.fixed();
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {name}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let fmt = match format {
            Some(f) => f,
            None => {
                let f = logs::detect(&line).with_context(|| {
                    format!(
                        "{name}:{line_no}: cannot recognise the log format (use --input-format)"
                    )
                })?;
                format = Some(f);
                f
            }
        };
        let rec = match logs::parse_line(fmt, &line) {
            Ok(r) => r,
            Err(e) => {
                tally.bad_lines += 1;
                if tally.bad_samples.len() < BAD_SAMPLES {
                    tally.bad_samples.push(format!("{name}:{line_no}: {e}"));
                }
                continue;
            }
        };
        tally.requests += 1;
        let verdict = engine.engine().inspect(&rec.request);
        if !verdict.flagged {
            continue;
        }
        tally.add(&rec, &verdict);
        if tally.flagged.is_multiple_of(256) {
            bar.set_message(format!("{} flagged", tally.flagged));
        }
        if args.format == Format::Json {
            let time = logs::parse_time(&rec.time).unwrap_or(fallback);
            if let Some(mut alert) = engine.alert(&verdict, &rec.request, &rec.client_ip, time) {
                alert.id = *next_id;
                *next_id += 1;
                let mut finding =
                    ensuresec_model::ocsf::detection_finding(&alert, env!("CARGO_PKG_VERSION"));
                finding["unmapped"] = serde_json::json!({
                    "log": { "file": name, "line": line_no, "format": fmt.name() },
                    "http_status": rec.status,
                });
                emit(finding.to_string())?;
            }
        }
    }
    Ok(())
}

fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn classes_text(classes: &[AttackClass]) -> String {
    let mut names: Vec<&str> = classes.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    names.join(", ")
}

fn top_table(
    title: &str,
    map: &HashMap<String, (u64, Vec<AttackClass>)>,
    n: usize,
    clip: usize,
) -> Table {
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([title, "flagged requests", "classes"]);
    for (key, (count, classes)) in rows.into_iter().take(n) {
        let mut key = key.clone();
        if key.len() > clip {
            let mut end = clip;
            while !key.is_char_boundary(end) {
                end -= 1;
            }
            key.truncate(end);
            key.push('…');
        }
        t.add_row([
            Cell::new(key),
            Cell::new(count),
            Cell::new(classes_text(classes)),
        ]);
    }
    t
}

fn print_summary(t: &Tally, args: &Args, seconds: f64) {
    let colour = colour();
    let heading = |s: &str| {
        if colour {
            s.bold().underline().to_string()
        } else {
            s.to_owned()
        }
    };
    let pct = if t.requests == 0 {
        0.0
    } else {
        100.0 * t.flagged as f64 / t.requests as f64
    };
    let flagged = format!("{} flagged ({pct:.2} %)", t.flagged);
    println!(
        "{} {} requests in {} file(s), {}, {} unreadable lines — paranoia level {}, threshold {}, {seconds:.2} s ({:.0} requests/s)",
        heading("Scan:"),
        t.requests,
        args.files.len(),
        if colour && t.flagged > 0 {
            flagged.red().bold().to_string()
        } else {
            flagged
        },
        t.bad_lines,
        args.paranoia,
        args.threshold,
        t.requests as f64 / seconds.max(1e-9),
    );
    for s in &t.bad_samples {
        println!("  unreadable: {s}");
    }
    if t.flagged == 0 {
        println!("No attack found.");
        return;
    }
    println!("\n{}", heading("Attacks by class"));
    let mut classes = Table::new();
    classes
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["class", "flagged requests"]);
    let mut by_count: Vec<_> = t.classes.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (c, n) in by_count {
        classes.add_row([
            Cell::new(ensuresec_webattack::detector::class_title(*c)).fg(Color::Red),
            Cell::new(n),
        ]);
    }
    println!("{classes}");
    println!("\n{}", heading("Top attacked paths"));
    println!("{}", top_table("path", &t.paths, args.top, 80));
    println!("\n{}", heading("Top sources"));
    println!("{}", top_table("client", &t.sources, args.top, 60));
    println!("\n{}", heading("Top rules"));
    let mut rules: Vec<_> = t.rules.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut rt = Table::new();
    rt.load_preset(UTF8_FULL_CONDENSED)
        .set_header(["rule", "requests"]);
    for (id, n) in rules.into_iter().take(args.top) {
        rt.add_row([Cell::new(id), Cell::new(n)]);
    }
    println!("{rt}");
}
