//! Zeek `conn.log` lines into flows, in Zeek's TSV format (with its `#fields` header) or as JSON
//! lines.
//!
//! Mapping: the originator is the flow's source; packets and bytes are the originator's
//! (`orig_pkts`, `orig_ip_bytes`), so that floods and amplification show from their sender; TCP
//! flags come from the originator's letters in `history` (`S`, `A`, `D` as push, `F`, `R`), or
//! from `conn_state` `S0`/`REJ` (a SYN only) when there is no history.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::DateTime;
use ensuresec_model::event::NetworkFlow;

use crate::{FlowRecord, tcp_flags_text, transport_of};

/// Why a line was refused; the next line can always be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZeekError {
    /// A data line came before any `#fields` header.
    #[error("zeek: data before the #fields header")]
    NoHeader,
    /// A needed field is missing or empty (`-`).
    #[error("zeek: `{0}` is missing")]
    Missing(&'static str),
    /// A field does not parse.
    #[error("zeek: bad `{0}`")]
    Bad(&'static str),
    /// A JSON line that is not JSON.
    #[error("zeek: {0}")]
    Json(String),
}

/// Reads a conn.log line by line, remembering the TSV header.
#[derive(Debug, Default)]
pub struct ConnLogReader {
    fields: Option<HashMap<String, usize>>,
}

const MAX_FIELDS: usize = 256;

impl ConnLogReader {
    /// A reader that has seen no header yet.
    pub fn new() -> Self {
        ConnLogReader::default()
    }

    /// Reads one line: `Ok(None)` for headers, comments and blank lines.
    pub fn line(&mut self, line: &str) -> Result<Option<FlowRecord>, ZeekError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(None);
        }
        if line.starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| ZeekError::Json(e.to_string()))?;
            let get = |k: &str| -> Option<String> {
                v.get(k).and_then(|x| match x {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            return record(&get).map(Some);
        }
        if let Some(rest) = line.strip_prefix("#fields") {
            let names: HashMap<String, usize> = rest
                .split('\t')
                .filter(|s| !s.is_empty())
                .take(MAX_FIELDS)
                .enumerate()
                .map(|(i, n)| (n.to_string(), i))
                .collect();
            self.fields = Some(names);
            return Ok(None);
        }
        if line.starts_with('#') {
            return Ok(None);
        }
        let fields = self.fields.as_ref().ok_or(ZeekError::NoHeader)?;
        let cols: Vec<&str> = line.split('\t').take(MAX_FIELDS).collect();
        let get = |k: &str| -> Option<String> {
            fields
                .get(k)
                .and_then(|i| cols.get(*i))
                .filter(|v| **v != "-" && !v.is_empty())
                .map(|v| v.to_string())
        };
        record(&get).map(Some)
    }
}

fn record(get: &dyn Fn(&str) -> Option<String>) -> Result<FlowRecord, ZeekError> {
    let ts: f64 = get("ts")
        .ok_or(ZeekError::Missing("ts"))?
        .parse()
        .map_err(|_| ZeekError::Bad("ts"))?;
    if !ts.is_finite() || ts.abs() > 1e11 {
        return Err(ZeekError::Bad("ts"));
    }
    let ip = |k: &'static str| -> Result<IpAddr, ZeekError> {
        get(k)
            .ok_or(ZeekError::Missing(k))?
            .parse()
            .map_err(|_| ZeekError::Bad(k))
    };
    let num = |k: &'static str| -> Result<u64, ZeekError> {
        get(k).map_or(Ok(0), |v| v.parse().map_err(|_| ZeekError::Bad(k)))
    };
    let port = |k: &'static str| -> Result<u16, ZeekError> {
        get(k).map_or(Ok(0), |v| v.parse().map_err(|_| ZeekError::Bad(k)))
    };
    let protocol = match get("proto").as_deref() {
        Some("tcp") => 6,
        Some("udp") => 17,
        Some("icmp") => 1,
        _ => 0,
    };
    let mut flags = 0u8;
    match get("history") {
        Some(h) => {
            for c in h.chars().filter(char::is_ascii_uppercase) {
                flags |= match c {
                    'F' => 0x01,
                    'S' => 0x02,
                    'R' => 0x04,
                    'D' => 0x08,
                    'A' => 0x10,
                    _ => 0,
                };
            }
        }
        None => {
            if matches!(get("conn_state").as_deref(), Some("S0" | "REJ")) {
                flags = 0x02;
            }
        }
    }
    let duration: Option<f64> = get("duration")
        .and_then(|d| d.parse().ok())
        .filter(|d: &f64| d.is_finite() && *d >= 0.0);
    Ok(FlowRecord {
        start: DateTime::from_timestamp_millis((ts * 1000.0) as i64).ok_or(ZeekError::Bad("ts"))?,
        flow: NetworkFlow {
            src_ip: ip("id.orig_h")?,
            src_port: port("id.orig_p")?,
            dst_ip: ip("id.resp_h")?,
            dst_port: port("id.resp_p")?,
            transport: transport_of(protocol),
            packets: num("orig_pkts")?,
            bytes: num("orig_ip_bytes")?,
            duration_ms: duration.map(|d| (d * 1000.0).min(u64::MAX as f64) as u64),
            tcp_flags: (protocol == 6).then(|| tcp_flags_text(flags)),
        },
    })
}
