//! Flows from pcap and pcapng captures, and from a capture to an alert.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use common::{pcap, pcapng, tcp, udp};
use ensuresec_behaviour::{RuleSet, ScenarioDetector};
use ensuresec_model::event::Transport;
use ensuresec_model::{Detector, EntityKind};
use ensuresec_netflow::flow_table::FlowTableConfig;
use ensuresec_netflow::pcap::{CaptureError, flows_from_capture};

const T0: u64 = 1_795_000_000_000;

fn handshake_and_dns() -> Vec<(u64, Vec<u8>)> {
    vec![
        (
            T0,
            tcp([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443, true, false, 0),
        ),
        (
            T0 + 1,
            tcp([10, 0, 0, 2], [10, 0, 0, 1], 443, 40000, true, true, 0),
        ),
        (
            T0 + 2,
            tcp([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443, false, true, 100),
        ),
        (T0 + 5, udp([10, 0, 0, 1], [9, 9, 9, 9], 5353, 53, 40)),
    ]
}

#[test]
fn packets_become_unidirectional_flows_in_both_formats() {
    for (name, file) in [
        ("pcap", pcap(&handshake_and_dns())),
        ("pcapng", pcapng(&handshake_and_dns())),
    ] {
        let (flows, stats) = flows_from_capture(&file[..], FlowTableConfig::default()).expect(name);
        assert_eq!(stats.packets, 4, "{name}");
        assert_eq!(flows.len(), 3, "{name}: client→server, server→client, dns");
        let c2s = &flows[0].flow;
        assert_eq!(
            (c2s.src_port, c2s.dst_port, c2s.packets),
            (40000, 443, 2),
            "{name}"
        );
        assert_eq!(c2s.tcp_flags.as_deref(), Some("SA"), "{name}");
        assert_eq!(c2s.bytes, 54 + 154, "{name}: wire bytes of both frames");
        assert_eq!(flows[0].start.timestamp_millis() as u64, T0, "{name}");
        assert_eq!(flows[2].flow.transport, Transport::Udp, "{name}");
        assert_eq!(flows[2].flow.tcp_flags, None, "{name}");
    }
}

#[test]
fn idle_flows_are_exported_and_a_full_table_exports_packets_alone() {
    let mut packets = Vec::new();
    for i in 0..10u64 {
        packets.push((
            T0 + i * 100,
            tcp([10, 0, 1, i as u8], [10, 0, 0, 2], 1000, 80, true, false, 0),
        ));
    }
    let config = FlowTableConfig {
        max_flows: 4,
        idle_timeout_ms: 1000,
        ..FlowTableConfig::default()
    };
    let (flows, stats) = flows_from_capture(&pcap(&packets)[..], config).expect("capture");
    assert_eq!(flows.len(), 10, "nothing is lost");
    assert_eq!(stats.table.table_full, 6);
}

#[test]
fn broken_captures_are_errors_not_panics() {
    assert!(matches!(
        flows_from_capture(&b"not a capture at all"[..], FlowTableConfig::default()),
        Err(CaptureError::NotACapture)
    ));
    let mut file = pcap(&handshake_and_dns());
    file.truncate(file.len() - 10);
    assert!(flows_from_capture(&file[..], FlowTableConfig::default()).is_err());
}

#[test]
fn a_captured_port_scan_raises_the_port_scan_alert() {
    let packets: Vec<(u64, Vec<u8>)> = (1..=200u16)
        .map(|p| {
            (
                T0 + u64::from(p),
                tcp([198, 51, 100, 7], [10, 0, 0, 2], 50000, p, true, false, 0),
            )
        })
        .collect();
    let (flows, _) =
        flows_from_capture(&pcap(&packets)[..], FlowTableConfig::default()).expect("capture");
    let rules = RuleSet::builtin().expect("shipped rules");
    let mut d = ScenarioDetector::new(EntityKind::Ip, &rules.rules);
    let mut alerts = Vec::new();
    for f in flows {
        d.on_event(&f.into_event("pcap:test"), &mut alerts);
    }
    assert!(
        alerts
            .iter()
            .any(|a| a.rule_id == "port-scan" && a.entity.value == "198.51.100.7"),
        "{alerts:#?}"
    );
}
