//! `ensuresec ingest`: NDJSON events from files or stdin, to a server or through an in-process
//! pipeline, with a progress bar and a summary.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use comfy_table::Table;
use ensuresec_model::decode_batch;
use ensuresec_server::Platform;
use ensuresec_store::{Appended, BatchKey, Resend};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::foreign::{InputFormat, convert, ndjson_batches};
use crate::client::{EventsClient, PostError, Posted, events_client};

/// Arguments of `ensuresec ingest`.
#[derive(clap::Args)]
pub struct Args {
    /// NDJSON files; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Server to send to.
    #[arg(
        long,
        env = "ENSURESEC_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// API token with the ingest scope.
    #[arg(long, env = "ENSURESEC_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A PEM CA certificate to trust for an HTTPS server with a private CA.
    #[arg(long, env = "ENSURESEC_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Run the pipeline in this process on the data directory instead of sending to a server.
    #[arg(long)]
    offline: bool,
    /// Configuration file for --offline [default: ./ensuresec.toml when present].
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data directory for --offline [default: ./ensuresec-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// What the inputs are: our NDJSON events, or a capture or log to convert into events.
    #[arg(long, value_enum, default_value = "ndjson")]
    format: InputFormat,
    /// Events per batch.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch_events: u64,
    /// Store every batch, also one whose lines the server (or the data directory) holds
    /// already. Without it each batch goes under a key made from its lines, so that running the
    /// same command again (after a failure, say) stores nothing twice.
    #[arg(long)]
    store_again: bool,
}

/// A batch read from one input, with where it started.
struct Chunk {
    body: Vec<u8>,
    first_line: usize,
}

/// Where batches go.
enum Target {
    Server(EventsClient),
    Local(Box<Platform>),
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let total_bytes: u64 = args
        .files
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let target = if args.offline {
        ensuresec_server::telemetry::prometheus();
        let config = super::load_config(args.config.as_deref(), args.data_dir.clone())?;
        let platform = Platform::start(&config)
            .await
            .context("starting the pipeline")?;
        if let Some(line) = super::resumed_line(&platform) {
            // Not `println`, which prints nothing when the bar is hidden (output not a terminal).
            bar.suspend(|| eprintln!("{line}"));
        }
        Target::Local(Box::new(platform))
    } else {
        let token = args.token.clone().context(
            "a token is needed to send to a server: --token or ENSURESEC_TOKEN (or use --offline)",
        )?;
        Target::Server(events_client(&args.server, token, args.ca_cert.as_deref())?)
    };
    let mut live = match &target {
        Target::Local(p) => Some(p.live().subscribe()),
        Target::Server(_) => None,
    };
    let (mut events, mut before, mut batches) = (0u64, 0u64, 0u64);
    let mut failure: Option<String> = None;
    'inputs: for path in &args.files {
        let name = path.display().to_string();
        let reader: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?)
        };
        let (mut chunks, label) = if args.format == InputFormat::Ndjson {
            let lines = BufReader::with_capacity(1 << 20, reader);
            (Chunks::Lines(lines, 0), name.clone())
        } else {
            let converted = convert(args.format, reader, &name)?;
            bar.inc(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
            for (kind, n) in &converted.skipped {
                eprintln!("{name}: {n} {kind} records are not events and were left out");
            }
            let batches = ndjson_batches(&converted.events, args.batch_events as usize)?;
            let label = format!("{name} (converted: numbers count events)");
            (Chunks::Converted(batches.into_iter()), label)
        };
        while let Some(chunk) = chunks
            .next(args.batch_events, &bar)
            .with_context(|| format!("reading {name}"))?
        {
            let result = match &target {
                Target::Server(client) => send(client, chunk, &label, args.store_again).await,
                Target::Local(platform) => {
                    ingest_local(platform, chunk, &label, args.store_again).await
                }
            };
            match result {
                Ok(posted) => {
                    if posted.before {
                        before += posted.events;
                    } else {
                        events += posted.events;
                    }
                    batches += 1;
                    bar.set_message(format!("{events} events"));
                }
                Err(message) => {
                    failure = Some(message);
                    break 'inputs;
                }
            }
        }
    }
    bar.finish_and_clear();
    let (mut alerts, mut incidents) = (None, None);
    if let Target::Local(platform) = target {
        (*platform).shutdown().await;
        let (mut a, mut i) = (0u64, 0u64);
        if let Some(rx) = live.as_mut() {
            while let Ok(f) = rx.try_recv() {
                a += f.alerts.len() as u64;
                i += f
                    .actions
                    .iter()
                    .filter(|x| x.kind == "incident_opened")
                    .count() as u64;
            }
        }
        alerts = Some(a);
        incidents = Some(i);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut table = Table::new();
    table.set_header([
        "events stored",
        "stored before",
        "batches",
        "seconds",
        "events/s",
        "alerts",
        "incidents opened",
    ]);
    let or_dash = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
    table.add_row([
        events.to_string(),
        before.to_string(),
        batches.to_string(),
        format!("{seconds:.2}"),
        format!("{:.0}", events as f64 / seconds.max(1e-9)),
        or_dash(alerts),
        or_dash(incidents),
    ]);
    eprintln!("{table}");
    match failure {
        Some(message) => {
            eprintln!("error: {message}");
            let rerun = if !args.store_again {
                "fix the input and run the same command again: what is stored is not stored twice"
            } else {
                "fix the input and resend from there"
            };
            eprintln!(
                "(the {} events before the failing batch are stored; {rerun})",
                events + before
            );
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The batches of one input: NDJSON lines read as they come, or events converted beforehand.
enum Chunks {
    /// NDJSON, with the number of lines read so far.
    Lines(BufReader<Box<dyn Read>>, usize),
    /// Converted events as NDJSON batches, each with the number of its first event.
    Converted(std::vec::IntoIter<(Vec<u8>, usize)>),
}

impl Chunks {
    /// The next batch of at most `max_events` events, if any.
    fn next(&mut self, max_events: u64, bar: &ProgressBar) -> std::io::Result<Option<Chunk>> {
        match self {
            Chunks::Lines(reader, line_no) => read_chunk(reader, line_no, max_events, bar),
            Chunks::Converted(batches) => Ok(batches
                .next()
                .map(|(body, first_line)| Chunk { body, first_line })),
        }
    }
}

/// Reads up to `max_events` non-blank lines.
fn read_chunk(
    reader: &mut impl BufRead,
    line_no: &mut usize,
    max_events: u64,
    bar: &ProgressBar,
) -> std::io::Result<Option<Chunk>> {
    let mut body = Vec::new();
    let first_line = *line_no + 1;
    let mut count = 0;
    let mut line = Vec::new();
    while count < max_events {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        *line_no += 1;
        bar.inc(n as u64);
        body.extend_from_slice(&line);
        if !line.ends_with(b"\n") {
            body.push(b'\n');
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            count += 1;
        }
    }
    Ok((!body.is_empty()).then_some(Chunk { body, first_line }))
}

async fn send(
    client: &EventsClient,
    chunk: Chunk,
    name: &str,
    store_again: bool,
) -> Result<Posted, String> {
    let posted = if store_again {
        client.post(chunk.body).await
    } else {
        client.post_by_content(chunk.body).await
    };
    posted.map_err(|e| match e {
        PostError::Refused {
            line: Some(l),
            message,
            ..
        } => {
            format!(
                "{name}:{}: {}",
                chunk.first_line + l - 1,
                strip_line(&message)
            )
        }
        other => format!("{name} (batch from line {}): {other}", chunk.first_line),
    })
}

/// The sender the batches of `--offline` are keyed for (online, the sender is the token's name).
const OFFLINE_SENDER: &str = "ingest --offline";

async fn ingest_local(
    platform: &Platform,
    chunk: Chunk,
    name: &str,
    store_again: bool,
) -> Result<Posted, String> {
    let config = platform.config();
    let events =
        decode_batch(&chunk.body, &config.limits(), platform.clock().now()).map_err(|e| match e
            .line()
        {
            Some(l) => format!(
                "{name}:{}: {}",
                chunk.first_line + l - 1,
                strip_line(&e.to_string())
            ),
            None => format!("{name} (batch from line {}): {e}", chunk.first_line),
        })?;
    let n = events.len() as u64;
    // Unless asked to store again, the same key as online: the hash of the batch's lines.
    let key = (!store_again).then(|| {
        let digest: [u8; 32] = Sha256::digest(&chunk.body).into();
        BatchKey {
            sender: OFFLINE_SENDER.to_string(),
            key: hex::encode(digest),
            digest,
        }
    });
    let appended = platform
        .ingestor()
        .ingest_batch(events, None, key.map_or(Resend::Unknown, Resend::Key))
        .await
        .map_err(|e| e.to_string())?;
    let before = matches!(appended, Appended::Earlier(_));
    Ok(Posted { events: n, before })
}

/// A decoder message without its own `line N:` prefix (we print the file's line instead).
fn strip_line(text: &str) -> String {
    match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
        _ => text.to_string(),
    }
}
