//! Flows from pcap and pcapng captures, read with `pcap-parser` from any `Read`.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};

use crate::FlowRecord;
use crate::flow_table::{FlowTable, FlowTableConfig, FlowTableStats};
use crate::packet::{Link, parse};

/// Why a capture could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Neither a pcap nor a pcapng file.
    #[error("capture: not a pcap or pcapng file")]
    NotACapture,
    /// A block is malformed or the file ends inside one; flows up to there were exported.
    #[error("capture: malformed or truncated block after {packets} packets")]
    Malformed {
        /// Packets read before it.
        packets: u64,
    },
    /// The reader failed.
    #[error("capture: read error after {packets} packets")]
    Read {
        /// Packets read before it.
        packets: u64,
    },
}

/// What reading a capture did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packet records read.
    pub packets: u64,
    /// Captured bytes in them.
    pub bytes: u64,
    /// Packets that were not IP or too short for an IP header.
    pub skipped: u64,
    /// Packets of an interface whose link type is not supported.
    pub unsupported_link: u64,
    /// The flow table's counters.
    pub table: FlowTableStats,
}

/// Reads a whole capture and returns its flows (in export order) and counters. A capture that
/// breaks off midway returns the error; `on_flows` has then received every flow up to there.
pub fn read_capture<R: Read>(
    reader: R,
    config: FlowTableConfig,
    mut on_flows: impl FnMut(&mut Vec<FlowRecord>),
) -> Result<CaptureStats, CaptureError> {
    let mut source = create_reader(1 << 20, reader).map_err(|_| CaptureError::NotACapture)?;
    let mut table = FlowTable::new(config);
    let mut stats = CaptureStats::default();
    let mut out = Vec::new();
    // pcapng: one link type and time resolution per interface, in order of description.
    let mut interfaces: Vec<(Option<Link>, u64, i64)> = Vec::new();
    let mut legacy: (Option<Link>, bool) = (None, false);
    let mut last_ms = 0i64;
    loop {
        match source.next() {
            Ok((offset, block)) => {
                let packet: Option<(Option<Link>, i64, &[u8], u64)> = match &block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = (
                            Link::from_linktype(h.network.0),
                            h.is_nanosecond_precision(),
                        );
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let sub_ms = if legacy.1 {
                            i64::from(b.ts_usec) / 1_000_000
                        } else {
                            i64::from(b.ts_usec) / 1000
                        };
                        let data = b.data.get(..b.caplen as usize).unwrap_or(b.data);
                        Some((
                            legacy.0,
                            i64::from(b.ts_sec) * 1000 + sub_ms,
                            data,
                            u64::from(b.origlen),
                        ))
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        interfaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push((
                            Link::from_linktype(idb.linktype.0),
                            idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            idb.ts_offset(),
                        ));
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let (link, resolution, offset_s) = interfaces
                            .get(epb.if_id as usize)
                            .copied()
                            .unwrap_or((None, 1_000_000, 0));
                        let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let ms = i64::try_from(u128::from(ts) * 1000 / u128::from(resolution))
                            .unwrap_or(i64::MAX);
                        let data = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                        Some((
                            link,
                            ms.saturating_add(offset_s.saturating_mul(1000)),
                            data,
                            u64::from(epb.origlen),
                        ))
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let link = interfaces.first().and_then(|i| i.0);
                        // No timestamp: it takes the capture's latest time, which keeps flows in order.
                        Some((link, last_ms, spb.data, u64::from(spb.origlen)))
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                if let Some((link, time_ms, data, wire_len)) = packet {
                    stats.packets += 1;
                    stats.bytes += data.len() as u64;
                    match link {
                        None => stats.unsupported_link += 1,
                        Some(link) => match parse(link, data) {
                            Some(info) => table.add(&info, wire_len, time_ms, &mut out),
                            None => stats.skipped += 1,
                        },
                    }
                    last_ms = time_ms;
                }
                source.consume(offset);
                if !out.is_empty() {
                    on_flows(&mut out);
                    out.clear();
                }
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if source.refill().is_err() {
                    return finish(
                        table,
                        stats,
                        out,
                        on_flows,
                        Some(CaptureError::Read {
                            packets: stats.packets,
                        }),
                    );
                }
                if source.reader_exhausted()
                    && matches!(source.next(), Err(PcapError::Incomplete(_)))
                {
                    return finish(
                        table,
                        stats,
                        out,
                        on_flows,
                        Some(CaptureError::Malformed {
                            packets: stats.packets,
                        }),
                    );
                }
            }
            Err(PcapError::ReadError) => {
                return finish(
                    table,
                    stats,
                    out,
                    on_flows,
                    Some(CaptureError::Read {
                        packets: stats.packets,
                    }),
                );
            }
            Err(_) => {
                return finish(
                    table,
                    stats,
                    out,
                    on_flows,
                    Some(CaptureError::Malformed {
                        packets: stats.packets,
                    }),
                );
            }
        }
    }
    finish(table, stats, out, on_flows, None)
}

fn finish(
    mut table: FlowTable,
    mut stats: CaptureStats,
    mut out: Vec<FlowRecord>,
    mut on_flows: impl FnMut(&mut Vec<FlowRecord>),
    error: Option<CaptureError>,
) -> Result<CaptureStats, CaptureError> {
    table.flush(&mut out);
    if !out.is_empty() {
        on_flows(&mut out);
    }
    stats.table = table.stats();
    match error {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

/// Reads a whole capture into a vector of flows (small captures, tests).
pub fn flows_from_capture<R: Read>(
    reader: R,
    config: FlowTableConfig,
) -> Result<(Vec<FlowRecord>, CaptureStats), CaptureError> {
    let mut all = Vec::new();
    let stats = read_capture(reader, config, |batch| all.append(batch))?;
    Ok((all, stats))
}
