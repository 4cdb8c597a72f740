//! Inputs of `ensuresec ingest` other than our own NDJSON: packet captures (pcap, pcapng),
//! Suricata EVE JSON and Zeek `conn.log`, turned into our events by `ensuresec_netflow`, then
//! written as NDJSON batches so that they take the same path (and the same validation) as any
//! other batch.

use std::io::{BufRead, BufReader, Read};

use anyhow::Context;
use ensuresec_model::Event;
use ensuresec_netflow::eve::{self, EveRecord};
use ensuresec_netflow::flow_table::FlowTableConfig;
use ensuresec_netflow::pcap::read_capture;
use ensuresec_netflow::zeek::ConnLogReader;

/// Longest EVE or conn.log line accepted; longer lines are refused with their line number.
const MAX_LINE_BYTES: usize = 1 << 20;

/// What `ensuresec ingest` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Our events, one JSON object per line (docs/events.md).
    Ndjson,
    /// A packet capture (pcap or pcapng): its flows become `network_flow` events.
    Pcap,
    /// Suricata EVE JSON: `flow` records become `network_flow` events, `alert` records
    /// `external_alert` events (raised as alerts by the pipeline).
    Eve,
    /// Zeek conn.log (TSV with its header, or JSON lines): connections become `network_flow` events.
    Zeek,
}

/// Events converted from one foreign input, with what was left out.
pub struct Converted {
    /// The events, in input order.
    pub events: Vec<Event>,
    /// Records recognised but not events (EVE DNS, HTTP, TLS… records), by kind.
    pub skipped: std::collections::BTreeMap<String, u64>,
}

/// Converts a whole foreign input named `name` into events.
pub fn convert(format: InputFormat, input: impl Read, name: &str) -> anyhow::Result<Converted> {
    let source = format!(
        "{}:{}",
        match format {
            InputFormat::Pcap => "pcap",
            InputFormat::Eve => "suricata",
            InputFormat::Zeek => "zeek",
            InputFormat::Ndjson => "ndjson",
        },
        std::path::Path::new(name)
            .file_name()
            .map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned())
    );
    let mut out = Converted {
        events: Vec::new(),
        skipped: Default::default(),
    };
    match format {
        InputFormat::Ndjson => anyhow::bail!("{name}: NDJSON needs no conversion"),
        InputFormat::Pcap => {
            let stats = read_capture(input, FlowTableConfig::default(), |flows| {
                out.events
                    .extend(flows.drain(..).map(|f| f.into_event(&source)));
            })
            .with_context(|| format!("{name}: not a readable capture"))?;
            if stats.skipped > 0 {
                out.skipped.insert("non-IP packets".into(), stats.skipped);
            }
            if stats.unsupported_link > 0 {
                out.skipped.insert(
                    "packets of unsupported link types".into(),
                    stats.unsupported_link,
                );
            }
        }
        InputFormat::Eve => each_line(input, name, |line| {
            match eve::parse_line(line)? {
                EveRecord::Flow(f) => out.events.push(f.into_event(&source)),
                EveRecord::Alert(a) => out.events.push(a.into_event(&source)),
                EveRecord::Other(kind) => *out.skipped.entry(kind).or_default() += 1,
            }
            Ok::<_, eve::EveError>(())
        })?,
        InputFormat::Zeek => {
            let mut reader = ConnLogReader::new();
            each_line(input, name, |line| {
                if let Some(f) = reader.line(line)? {
                    out.events.push(f.into_event(&source));
                }
                Ok::<_, ensuresec_netflow::zeek::ZeekError>(())
            })?;
        }
    }
    Ok(out)
}

/// Calls `each` on every line, naming the file and line of the first failure.
fn each_line<E: std::error::Error + Send + Sync + 'static>(
    input: impl Read,
    name: &str,
    mut each: impl FnMut(&str) -> Result<(), E>,
) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_line(&mut line)
            .with_context(|| format!("{name}:{}: cannot read", number + 1))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        if n > MAX_LINE_BYTES {
            anyhow::bail!("{name}:{number}: line longer than {MAX_LINE_BYTES} bytes");
        }
        if line.trim().is_empty() {
            continue;
        }
        each(&line).with_context(|| format!("{name}:{number}"))?;
    }
}

/// The events as NDJSON batches of at most `per_batch` events, each with its first event's
/// number (1-based), which stands in for a line number in error messages.
pub fn ndjson_batches(events: &[Event], per_batch: usize) -> anyhow::Result<Vec<(Vec<u8>, usize)>> {
    let mut out = Vec::new();
    for (i, chunk) in events.chunks(per_batch.max(1)).enumerate() {
        let mut body = Vec::new();
        for e in chunk {
            serde_json::to_writer(&mut body, e).context("encoding an event")?;
            body.push(b'\n');
        }
        out.push((body, i * per_batch + 1));
    }
    Ok(out)
}
