//! Packets into unidirectional flows (as NetFlow exports them): one entry per 5-tuple, exported
//! when idle, when active too long, or when the capture ends. Bounded: a full table first exports
//! its idle flows; if none are idle, the packet is exported as a flow of its own and counted.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::DateTime;
use ensuresec_model::event::NetworkFlow;

use crate::packet::PacketInfo;
use crate::{FlowRecord, tcp_flags_text, transport_of};

/// Flow-table settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowTableConfig {
    /// A flow with no packet for this long is exported (ms).
    pub idle_timeout_ms: i64,
    /// A flow older than this is exported and restarted (ms).
    pub active_timeout_ms: i64,
    /// Most flows held at once.
    pub max_flows: usize,
}

impl Default for FlowTableConfig {
    fn default() -> Self {
        FlowTableConfig {
            idle_timeout_ms: 15_000,
            active_timeout_ms: 60_000,
            max_flows: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    first_ms: i64,
    last_ms: i64,
    packets: u64,
    bytes: u64,
    flags: u8,
}

/// Counters of what the table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowTableStats {
    /// Packets added.
    pub packets: u64,
    /// Flows exported.
    pub flows: u64,
    /// Packets exported alone because the table was full of active flows.
    pub table_full: u64,
}

/// The table.
#[derive(Debug, Default)]
pub struct FlowTable {
    config: FlowTableConfig,
    flows: HashMap<Key, Entry>,
    next_scan_ms: i64,
    stats: FlowTableStats,
}

impl FlowTable {
    /// An empty table.
    pub fn new(config: FlowTableConfig) -> Self {
        FlowTable {
            config,
            flows: HashMap::new(),
            next_scan_ms: i64::MIN,
            stats: FlowTableStats::default(),
        }
    }

    /// What it did so far.
    pub fn stats(&self) -> FlowTableStats {
        self.stats
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether it holds no flow.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Adds a packet of `wire_len` bytes seen at `time_ms`; exported flows go to `out`.
    pub fn add(&mut self, p: &PacketInfo, wire_len: u64, time_ms: i64, out: &mut Vec<FlowRecord>) {
        self.stats.packets += 1;
        if time_ms >= self.next_scan_ms {
            self.expire(time_ms, out);
            self.next_scan_ms = time_ms.saturating_add(1000);
        }
        let key = Key {
            src: p.src,
            dst: p.dst,
            src_port: p.src_port,
            dst_port: p.dst_port,
            protocol: p.protocol,
        };
        if let Some(e) = self.flows.get_mut(&key) {
            if time_ms.saturating_sub(e.first_ms) >= self.config.active_timeout_ms {
                let done = *e;
                *e = Entry {
                    first_ms: time_ms,
                    last_ms: time_ms,
                    packets: 0,
                    bytes: 0,
                    flags: 0,
                };
                emit(&mut self.stats, &key, &done, out);
            }
            e.last_ms = e.last_ms.max(time_ms);
            e.packets += 1;
            e.bytes = e.bytes.saturating_add(wire_len);
            e.flags |= p.tcp_flags;
            return;
        }
        let entry = Entry {
            first_ms: time_ms,
            last_ms: time_ms,
            packets: 1,
            bytes: wire_len,
            flags: p.tcp_flags,
        };
        if self.flows.len() >= self.config.max_flows {
            self.expire(time_ms, out);
            if self.flows.len() >= self.config.max_flows {
                self.stats.table_full += 1;
                emit(&mut self.stats, &key, &entry, out);
                return;
            }
        }
        self.flows.insert(key, entry);
    }

    /// Exports flows idle or active past their timeouts at `now_ms`, oldest first.
    pub fn expire(&mut self, now_ms: i64, out: &mut Vec<FlowRecord>) {
        let c = self.config;
        let mut done: Vec<(Key, Entry)> = self
            .flows
            .iter()
            .filter(|(_, e)| {
                now_ms.saturating_sub(e.last_ms) >= c.idle_timeout_ms
                    || now_ms.saturating_sub(e.first_ms) >= c.active_timeout_ms
            })
            .map(|(k, e)| (*k, *e))
            .collect();
        // Same start time: a fixed order on the key, so that output never depends on hashing.
        done.sort_by_key(|(k, e)| (e.first_ms, k.src, k.dst, k.src_port, k.dst_port, k.protocol));
        for (k, e) in done {
            self.flows.remove(&k);
            emit(&mut self.stats, &k, &e, out);
        }
    }

    /// Exports every flow (end of capture), oldest first.
    pub fn flush(&mut self, out: &mut Vec<FlowRecord>) {
        self.expire(i64::MAX, out);
    }
}

fn emit(stats: &mut FlowTableStats, k: &Key, e: &Entry, out: &mut Vec<FlowRecord>) {
    stats.flows += 1;
    out.push(FlowRecord {
        start: DateTime::from_timestamp_millis(e.first_ms).unwrap_or_default(),
        flow: NetworkFlow {
            src_ip: k.src,
            src_port: k.src_port,
            dst_ip: k.dst,
            dst_port: k.dst_port,
            transport: transport_of(k.protocol),
            packets: e.packets,
            bytes: e.bytes,
            duration_ms: Some(u64::try_from(e.last_ms.saturating_sub(e.first_ms)).unwrap_or(0)),
            tcp_flags: (k.protocol == 6).then(|| tcp_flags_text(e.flags)),
        },
    });
}
