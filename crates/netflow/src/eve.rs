//! Suricata EVE JSON: `alert` records become `external_alert` events (which the pipeline turns
//! into our alerts), `flow` records become flows; other event types are recognised and left to
//! the caller.
//!
//! Mapping: an alert keeps its addresses (`src_ip` is the `ip` entity: for inbound alerts, the
//! attacker); EVE severity 1 is high, 2 medium, 3 low, anything else info; the tool is
//! `suricata`, so the alert's rule id becomes `suricata:<signature_id>`. A flow's packets and bytes are both directions summed (EVE flows
//! are bidirectional), its flags the TCP flags seen.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ensuresec_model::event::{ExternalAlert, NetworkFlow};
use ensuresec_model::{Event, EventData, Severity};
use serde::Deserialize;

use crate::{FlowRecord, tcp_flags_text, transport_of};

/// Why an EVE line was refused; the next line can always be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EveError {
    /// Not JSON, or fields of the wrong type.
    #[error("eve: {0}")]
    Json(String),
    /// A field the record type needs is missing.
    #[error("eve: `{0}` is missing")]
    Missing(&'static str),
    /// The timestamp does not parse.
    #[error("eve: bad timestamp `{0}`")]
    Time(String),
}

/// One mapped EVE record.
#[derive(Debug, Clone, PartialEq)]
pub enum EveRecord {
    /// An IDS alert.
    Alert(Box<AlertRecord>),
    /// A flow.
    Flow(FlowRecord),
    /// Another event type (dns, http, tls, stats…), by name.
    Other(String),
}

/// An IDS alert as our `external_alert` payload, with the time Suricata saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// When the matching packet was seen.
    pub time: DateTime<Utc>,
    /// The alert.
    pub alert: ExternalAlert,
}

impl AlertRecord {
    /// The alert as an ensuresec event from `source` (e.g. `suricata:eve.json`).
    pub fn into_event(self, source: &str) -> Event {
        Event {
            time: self.time,
            ingest_time: None,
            source: source.to_string(),
            labels: Default::default(),
            data: EventData::ExternalAlert(self.alert),
        }
    }
}

#[derive(Deserialize)]
struct Line {
    timestamp: Option<String>,
    event_type: Option<String>,
    src_ip: Option<IpAddr>,
    src_port: Option<u16>,
    dest_ip: Option<IpAddr>,
    dest_port: Option<u16>,
    proto: Option<String>,
    alert: Option<EveAlert>,
    flow: Option<EveFlow>,
    tcp: Option<EveTcp>,
}

#[derive(Deserialize)]
struct EveAlert {
    action: Option<String>,
    signature_id: Option<u64>,
    rev: Option<u64>,
    signature: Option<String>,
    category: Option<String>,
    severity: Option<u8>,
}

#[derive(Deserialize)]
struct EveFlow {
    pkts_toserver: Option<u64>,
    pkts_toclient: Option<u64>,
    bytes_toserver: Option<u64>,
    bytes_toclient: Option<u64>,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct EveTcp {
    tcp_flags: Option<String>,
}

/// Suricata writes `2024-05-01T10:00:00.123456+0000`; RFC 3339 is accepted too.
fn time(text: &str) -> Result<DateTime<Utc>, EveError> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| EveError::Time(text.chars().take(64).collect()))
}

fn protocol_number(proto: Option<&str>) -> u8 {
    match proto.map(str::to_ascii_uppercase).as_deref() {
        Some("TCP") => 6,
        Some("UDP") => 17,
        Some("ICMP") => 1,
        Some("IPV6-ICMP") | Some("ICMPV6") => 58,
        _ => 0,
    }
}

/// Maps one EVE JSON line.
pub fn parse_line(line: &str) -> Result<EveRecord, EveError> {
    let l: Line = serde_json::from_str(line).map_err(|e| EveError::Json(e.to_string()))?;
    let kind = l
        .event_type
        .clone()
        .ok_or(EveError::Missing("event_type"))?;
    match kind.as_str() {
        "alert" => {
            let a = l.alert.ok_or(EveError::Missing("alert"))?;
            let at = time(
                l.timestamp
                    .as_deref()
                    .ok_or(EveError::Missing("timestamp"))?,
            )?;
            let src = l.src_ip.ok_or(EveError::Missing("src_ip"))?;
            let sid = a
                .signature_id
                .ok_or(EveError::Missing("alert.signature_id"))?;
            let severity = match a.severity {
                Some(1) => Severity::High,
                Some(2) => Severity::Medium,
                Some(3) => Severity::Low,
                _ => Severity::Info,
            };
            Ok(EveRecord::Alert(Box::new(AlertRecord {
                time: at,
                alert: ExternalAlert {
                    tool: "suricata".into(),
                    signature_id: sid.to_string(),
                    signature: a
                        .signature
                        .filter(|s| !s.trim().is_empty())
                        .unwrap_or_else(|| format!("Suricata signature {sid}")),
                    severity,
                    category: a.category,
                    revision: a.rev,
                    action: a.action,
                    src_ip: Some(src),
                    src_port: l.src_port,
                    dst_ip: l.dest_ip,
                    dst_port: l.dest_port,
                    protocol: l.proto,
                },
            })))
        }
        "flow" => {
            let f = l.flow.ok_or(EveError::Missing("flow"))?;
            let start = time(
                f.start
                    .as_deref()
                    .or(l.timestamp.as_deref())
                    .ok_or(EveError::Missing("flow.start"))?,
            )?;
            let end = f.end.as_deref().map(time).transpose()?;
            let protocol = protocol_number(l.proto.as_deref());
            let flags = l
                .tcp
                .and_then(|t| t.tcp_flags)
                .and_then(|h| u8::from_str_radix(h.trim_start_matches("0x"), 16).ok());
            Ok(EveRecord::Flow(FlowRecord {
                start,
                flow: NetworkFlow {
                    src_ip: l.src_ip.ok_or(EveError::Missing("src_ip"))?,
                    src_port: l.src_port.unwrap_or(0),
                    dst_ip: l.dest_ip.ok_or(EveError::Missing("dest_ip"))?,
                    dst_port: l.dest_port.unwrap_or(0),
                    transport: transport_of(protocol),
                    packets: f
                        .pkts_toserver
                        .unwrap_or(0)
                        .saturating_add(f.pkts_toclient.unwrap_or(0)),
                    bytes: f
                        .bytes_toserver
                        .unwrap_or(0)
                        .saturating_add(f.bytes_toclient.unwrap_or(0)),
                    duration_ms: end
                        .and_then(|e| u64::try_from((e - start).num_milliseconds()).ok()),
                    tcp_flags: (protocol == 6).then(|| tcp_flags_text(flags.unwrap_or(0))),
                },
            }))
        }
        _ => Ok(EveRecord::Other(kind)),
    }
}
