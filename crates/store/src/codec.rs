//! How a batch of events is stored: its NDJSON (the client's own lines when it sent NDJSON, so
//! nothing is re-encoded and what was received is what is kept), compressed with LZ4.

use chrono::{DateTime, Utc};
use ensuresec_model::Event;

use crate::StoreError;

/// The codec name stored with each batch, so that others can be added later.
pub(crate) const LZ4_NDJSON: &str = "lz4-ndjson";

/// Compresses a batch. `raw_ndjson`, when given, must be NDJSON whose non-blank lines are exactly
/// `events`, in order.
pub(crate) fn encode(events: &[Event], raw_ndjson: Option<&[u8]>) -> Result<Vec<u8>, StoreError> {
    match raw_ndjson {
        Some(raw) => Ok(lz4_flex::compress_prepend_size(raw)),
        None => {
            let mut ndjson = Vec::with_capacity(events.len() * 400);
            for e in events {
                serde_json::to_writer(&mut ndjson, e).map_err(|source| StoreError::Encode {
                    what: "event",
                    source,
                })?;
                ndjson.push(b'\n');
            }
            Ok(lz4_flex::compress_prepend_size(&ndjson))
        }
    }
}

/// Decompresses a batch stored at `first_seq` and returns its events with their sequence
/// numbers, `ingest_time` set to the batch's.
pub(crate) fn decode(
    codec: &str,
    body: &[u8],
    first_seq: u64,
    ingest_time: DateTime<Utc>,
) -> Result<Vec<(u64, Event)>, StoreError> {
    let corrupt = |message: String| StoreError::CorruptBatch { first_seq, message };
    if codec != LZ4_NDJSON {
        return Err(corrupt(format!("unknown codec `{codec}`")));
    }
    let ndjson = lz4_flex::decompress_size_prepended(body).map_err(|e| corrupt(e.to_string()))?;
    let mut out = Vec::new();
    for line in ndjson.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let seq = first_seq + out.len() as u64;
        let mut event: Event =
            serde_json::from_slice(line).map_err(|source| StoreError::Corrupt {
                what: "event",
                id: seq,
                source,
            })?;
        event.ingest_time = Some(ingest_time);
        out.push((seq, event));
    }
    Ok(out)
}
