//! Network-level input for ensuresec: flow records from packet captures (pcap and pcapng),
//! NetFlow v5, v9 and IPFIX export packets, and the logs of tools users already run (Suricata EVE
//! JSON, Zeek `conn.log`), all turned into ensuresec events and alerts.
//!
//! Architecture invariants: pure library code. Nothing here opens a socket, reads the clock or
//! spawns; captures are read from any `Read` the caller hands in, export packets are byte slices
//! (the caller owns the UDP listener). Decoders are bounded and never panic on hostile input:
//! every length is checked, template caches and flow tables have limits, and hitting a limit is
//! counted in the decoder's statistics. Fuzz targets for every decoder are in `fuzz/`.

mod bytes;
pub mod eve;
pub mod export;
pub mod flow_table;
pub mod packet;
pub mod pcap;
pub mod zeek;

use chrono::{DateTime, Utc};
use ensuresec_model::event::NetworkFlow;
use ensuresec_model::{Event, EventData};

/// One flow with the time it started.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// When the flow's first packet was seen.
    pub start: DateTime<Utc>,
    /// The flow.
    pub flow: NetworkFlow,
}

impl FlowRecord {
    /// The flow as an ensuresec event from `source` (e.g. `netflow:192.0.2.1`, `pcap:file.pcap`).
    pub fn into_event(self, source: &str) -> Event {
        Event {
            time: self.start,
            ingest_time: None,
            source: source.to_string(),
            labels: Default::default(),
            data: EventData::NetworkFlow(self.flow),
        }
    }
}

/// TCP flag bits as letters, in the order `FSRPAUEC` (`S`, `SA`, `FPA`…), as events carry them.
pub fn tcp_flags_text(flags: u8) -> String {
    const LETTERS: [(u8, char); 8] = [
        (0x01, 'F'),
        (0x02, 'S'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, 'A'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'C'),
    ];
    LETTERS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// The transport of an IP protocol number.
pub fn transport_of(protocol: u8) -> ensuresec_model::event::Transport {
    use ensuresec_model::event::Transport;
    match protocol {
        6 => Transport::Tcp,
        17 => Transport::Udp,
        1 | 58 => Transport::Icmp,
        _ => Transport::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_letters() {
        assert_eq!(tcp_flags_text(0x02), "S");
        assert_eq!(tcp_flags_text(0x12), "SA");
        assert_eq!(tcp_flags_text(0x19), "FPA");
        assert_eq!(tcp_flags_text(0), "");
    }
}
