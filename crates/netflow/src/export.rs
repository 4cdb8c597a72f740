//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets into flow records.
//!
//! One [`ExportDecoder`] per listener: it keeps the v9/IPFIX templates each exporter announced,
//! keyed by exporter address, observation domain (source id) and template id. Bounded: at most
//! `max_templates` templates (new ones beyond are refused and counted), at most 128 fields per
//! template, and every read is bounds-checked. A data set whose template is unknown yet (the
//! exporter sends templates every few minutes) is skipped and counted, not an error.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::DateTime;
use ensuresec_model::event::NetworkFlow;

use crate::bytes::{Reader, uint};
use crate::{FlowRecord, tcp_flags_text, transport_of};

/// Why an export packet was refused. Decoding the next packet is always possible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Shorter than its header or its declared contents.
    #[error("export packet: truncated {0}")]
    Truncated(&'static str),
    /// Not version 5, 9 or 10.
    #[error("export packet: unsupported version {0}")]
    Version(u16),
    /// A length field that cannot be right.
    #[error("export packet: bad length in {0}")]
    BadLength(&'static str),
}

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportConfig {
    /// Most templates kept, all exporters together.
    pub max_templates: usize,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            max_templates: 4096,
        }
    }
}

/// What the decoder did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Packets decoded.
    pub packets: u64,
    /// Flow records produced.
    pub records: u64,
    /// Data sets skipped because their template was unknown.
    pub unknown_template: u64,
    /// Templates refused because the cache was full.
    pub templates_refused: u64,
    /// Records without addresses (options data, other templates), skipped.
    pub records_skipped: u64,
}

const MAX_FIELDS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldSpec {
    id: u16,
    enterprise: bool,
    /// 65535: variable length (IPFIX).
    len: u16,
}

type TemplateKey = (IpAddr, u32, u16);

/// The stateful decoder.
#[derive(Debug, Default)]
pub struct ExportDecoder {
    config: ExportConfig,
    templates: HashMap<TemplateKey, Vec<FieldSpec>>,
    stats: ExportStats,
}

impl ExportDecoder {
    /// A decoder with no templates yet.
    pub fn new(config: ExportConfig) -> Self {
        ExportDecoder {
            config,
            templates: HashMap::new(),
            stats: ExportStats::default(),
        }
    }

    /// What it did so far.
    pub fn stats(&self) -> ExportStats {
        self.stats
    }

    /// Templates held.
    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    /// Decodes one UDP payload from `exporter`, appending its flows to `out`.
    pub fn decode(
        &mut self,
        exporter: IpAddr,
        packet: &[u8],
        out: &mut Vec<FlowRecord>,
    ) -> Result<(), ExportError> {
        let version = Reader::new(packet)
            .u16()
            .ok_or(ExportError::Truncated("header"))?;
        let before = out.len();
        let result = match version {
            5 => v5(packet, out),
            9 => self.v9(exporter, packet, out),
            10 => self.ipfix(exporter, packet, out),
            v => Err(ExportError::Version(v)),
        };
        self.stats.packets += 1;
        self.stats.records += (out.len() - before) as u64;
        result
    }

    fn v9(
        &mut self,
        exporter: IpAddr,
        packet: &[u8],
        out: &mut Vec<FlowRecord>,
    ) -> Result<(), ExportError> {
        let mut r = Reader::new(packet);
        let header = r.take(20).ok_or(ExportError::Truncated("v9 header"))?;
        let mut h = Reader::new(header);
        let (_, _) = (h.u16(), h.u16());
        let uptime = h.u32().unwrap_or(0);
        let secs = h.u32().unwrap_or(0);
        let _seq = h.u32();
        let source_id = h.u32().unwrap_or(0);
        let export_ms = i64::from(secs) * 1000;
        while r.remaining() >= 4 {
            let id = r.u16().ok_or(ExportError::Truncated("flowset"))?;
            let len = usize::from(r.u16().ok_or(ExportError::Truncated("flowset"))?);
            if len < 4 {
                return Err(ExportError::BadLength("flowset"));
            }
            let body = r
                .take(len - 4)
                .ok_or(ExportError::Truncated("flowset body"))?;
            match id {
                0 => self.templates_from(exporter, source_id, body, false)?,
                1 => {} // Options templates: their data describes the exporter, not flows.
                256.. => self.data(
                    exporter,
                    source_id,
                    id,
                    body,
                    Times::V9 { uptime, export_ms },
                    out,
                ),
                _ => {}
            }
        }
        Ok(())
    }

    fn ipfix(
        &mut self,
        exporter: IpAddr,
        packet: &[u8],
        out: &mut Vec<FlowRecord>,
    ) -> Result<(), ExportError> {
        let mut r = Reader::new(packet);
        let header = r.take(16).ok_or(ExportError::Truncated("ipfix header"))?;
        let mut h = Reader::new(header);
        let _version = h.u16();
        let length = usize::from(h.u16().unwrap_or(0));
        let export_secs = h.u32().unwrap_or(0);
        let _seq = h.u32();
        let domain = h.u32().unwrap_or(0);
        if length < 16 || length > packet.len() {
            return Err(ExportError::BadLength("ipfix message"));
        }
        let mut r = Reader::new(
            packet
                .get(16..length)
                .ok_or(ExportError::BadLength("ipfix message"))?,
        );
        while r.remaining() >= 4 {
            let id = r.u16().ok_or(ExportError::Truncated("set"))?;
            let len = usize::from(r.u16().ok_or(ExportError::Truncated("set"))?);
            if len < 4 {
                return Err(ExportError::BadLength("set"));
            }
            let body = r.take(len - 4).ok_or(ExportError::Truncated("set body"))?;
            match id {
                2 => self.templates_from(exporter, domain, body, true)?,
                3 => {}
                256.. => self.data(
                    exporter,
                    domain,
                    id,
                    body,
                    Times::Ipfix {
                        export_ms: i64::from(export_secs) * 1000,
                    },
                    out,
                ),
                _ => {}
            }
        }
        Ok(())
    }

    fn templates_from(
        &mut self,
        exporter: IpAddr,
        domain: u32,
        body: &[u8],
        ipfix: bool,
    ) -> Result<(), ExportError> {
        let mut r = Reader::new(body);
        while r.remaining() >= 4 {
            let id = r.u16().ok_or(ExportError::Truncated("template"))?;
            let count = usize::from(r.u16().ok_or(ExportError::Truncated("template"))?);
            if id < 256 {
                // Padding at the end of a set reads as id 0.
                break;
            }
            if count > MAX_FIELDS {
                return Err(ExportError::BadLength("template field count"));
            }
            let mut fields = Vec::with_capacity(count);
            for _ in 0..count {
                let raw_id = r.u16().ok_or(ExportError::Truncated("template field"))?;
                let len = r.u16().ok_or(ExportError::Truncated("template field"))?;
                let enterprise = ipfix && raw_id & 0x8000 != 0;
                if enterprise {
                    r.u32().ok_or(ExportError::Truncated("enterprise number"))?;
                }
                if len == 0 || (len == u16::MAX && !ipfix) {
                    return Err(ExportError::BadLength("template field"));
                }
                fields.push(FieldSpec {
                    id: raw_id & if ipfix { 0x7fff } else { 0xffff },
                    enterprise,
                    len,
                });
            }
            let key = (exporter, domain, id);
            if !self.templates.contains_key(&key)
                && self.templates.len() >= self.config.max_templates
            {
                self.stats.templates_refused += 1;
                continue;
            }
            self.templates.insert(key, fields);
        }
        Ok(())
    }

    fn data(
        &mut self,
        exporter: IpAddr,
        domain: u32,
        id: u16,
        body: &[u8],
        times: Times,
        out: &mut Vec<FlowRecord>,
    ) {
        let Some(fields) = self.templates.get(&(exporter, domain, id)) else {
            self.stats.unknown_template += 1;
            return;
        };
        let min_len: usize = fields
            .iter()
            .map(|f| {
                if f.len == u16::MAX {
                    1
                } else {
                    usize::from(f.len)
                }
            })
            .sum();
        if min_len == 0 {
            return;
        }
        let mut r = Reader::new(body);
        while r.remaining() >= min_len {
            let mut rec = Partial::default();
            for f in fields {
                let len = if f.len == u16::MAX {
                    match r.u8() {
                        Some(255) => r.u16().map(usize::from),
                        other => other.map(usize::from),
                    }
                } else {
                    Some(usize::from(f.len))
                };
                let Some(value) = len.and_then(|l| r.take(l)) else {
                    return; // Truncated record at the end of the set: nothing more to read.
                };
                if !f.enterprise {
                    rec.set(f.id, value);
                }
            }
            match rec.finish(times) {
                Some(flow) => out.push(flow),
                None => self.stats.records_skipped += 1,
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Times {
    V9 { uptime: u32, export_ms: i64 },
    Ipfix { export_ms: i64 },
}

#[derive(Debug, Default)]
struct Partial {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    flags: u8,
    packets: u64,
    bytes: u64,
    first_uptime: Option<u32>,
    last_uptime: Option<u32>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
}

fn ipv4(v: &[u8]) -> Option<IpAddr> {
    <[u8; 4]>::try_from(v)
        .ok()
        .map(|b| IpAddr::V4(Ipv4Addr::from(b)))
}

fn ipv6(v: &[u8]) -> Option<IpAddr> {
    <[u8; 16]>::try_from(v)
        .ok()
        .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
}

impl Partial {
    /// Information element ids shared by NetFlow v9 and IPFIX.
    fn set(&mut self, id: u16, v: &[u8]) {
        let n = || uint(v);
        match id {
            1 | 85 => self.bytes = n().unwrap_or(0),
            2 | 86 => self.packets = n().unwrap_or(0),
            4 => self.protocol = n().unwrap_or(0) as u8,
            6 => self.flags = n().unwrap_or(0) as u8,
            7 => self.src_port = n().unwrap_or(0) as u16,
            11 => self.dst_port = n().unwrap_or(0) as u16,
            8 => self.src = ipv4(v),
            12 => self.dst = ipv4(v),
            27 => self.src = ipv6(v),
            28 => self.dst = ipv6(v),
            22 => self.first_uptime = n().map(|x| x as u32),
            21 => self.last_uptime = n().map(|x| x as u32),
            150 => {
                self.start_ms = n()
                    .and_then(|s| i64::try_from(s).ok())
                    .map(|s| s.saturating_mul(1000))
            }
            151 => {
                self.end_ms = n()
                    .and_then(|s| i64::try_from(s).ok())
                    .map(|s| s.saturating_mul(1000))
            }
            152 => self.start_ms = n().and_then(|s| i64::try_from(s).ok()),
            153 => self.end_ms = n().and_then(|s| i64::try_from(s).ok()),
            _ => {}
        }
    }

    fn finish(self, times: Times) -> Option<FlowRecord> {
        let (src, dst) = (self.src?, self.dst?);
        let (start, end) = match times {
            Times::V9 { uptime, export_ms } => {
                let at = |u: Option<u32>| {
                    u.map(|u| export_ms - i64::from(uptime.wrapping_sub(u) as i32))
                };
                (
                    at(self.first_uptime).unwrap_or(export_ms),
                    at(self.last_uptime),
                )
            }
            Times::Ipfix { export_ms } => (self.start_ms.unwrap_or(export_ms), self.end_ms),
        };
        Some(FlowRecord {
            start: DateTime::from_timestamp_millis(start).unwrap_or_default(),
            flow: NetworkFlow {
                src_ip: src,
                src_port: self.src_port,
                dst_ip: dst,
                dst_port: self.dst_port,
                transport: transport_of(self.protocol),
                packets: self.packets,
                bytes: self.bytes,
                duration_ms: end.and_then(|e| u64::try_from(e - start).ok()),
                tcp_flags: (self.protocol == 6).then(|| tcp_flags_text(self.flags)),
            },
        })
    }
}

/// NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records.
fn v5(packet: &[u8], out: &mut Vec<FlowRecord>) -> Result<(), ExportError> {
    let mut r = Reader::new(packet);
    let header = r.take(24).ok_or(ExportError::Truncated("v5 header"))?;
    let mut h = Reader::new(header);
    let _version = h.u16();
    let count = usize::from(h.u16().unwrap_or(0));
    let uptime = h.u32().unwrap_or(0);
    let secs = h.u32().unwrap_or(0);
    let nsecs = h.u32().unwrap_or(0);
    if count > 30 {
        return Err(ExportError::BadLength("v5 count"));
    }
    if r.remaining() < count * 48 {
        return Err(ExportError::Truncated("v5 records"));
    }
    let export_ms = i64::from(secs) * 1000 + i64::from(nsecs / 1_000_000);
    for _ in 0..count {
        let rec = r.take(48).ok_or(ExportError::Truncated("v5 record"))?;
        let mut f = Reader::new(rec);
        let src = f.take(4).and_then(ipv4);
        let dst = f.take(4).and_then(ipv4);
        let _nexthop = f.u32();
        let (_input, _output) = (f.u16(), f.u16());
        let packets = f.u32().unwrap_or(0);
        let bytes = f.u32().unwrap_or(0);
        let first = f.u32().unwrap_or(0);
        let last = f.u32().unwrap_or(0);
        let src_port = f.u16().unwrap_or(0);
        let dst_port = f.u16().unwrap_or(0);
        let _pad = f.u8();
        let flags = f.u8().unwrap_or(0);
        let protocol = f.u8().unwrap_or(0);
        let (Some(src), Some(dst)) = (src, dst) else {
            continue;
        };
        let start = export_ms - i64::from(uptime.wrapping_sub(first) as i32);
        out.push(FlowRecord {
            start: DateTime::from_timestamp_millis(start).unwrap_or_default(),
            flow: NetworkFlow {
                src_ip: src,
                src_port,
                dst_ip: dst,
                dst_port,
                transport: transport_of(protocol),
                packets: u64::from(packets),
                bytes: u64::from(bytes),
                duration_ms: Some(u64::from(last.wrapping_sub(first))),
                tcp_flags: (protocol == 6).then(|| tcp_flags_text(flags)),
            },
        });
    }
    Ok(())
}
