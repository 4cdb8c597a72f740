//! Suricata EVE and Zeek conn.log mapping.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use ensuresec_model::event::Transport;
use ensuresec_model::{EntityKind, Event, Severity};
use ensuresec_netflow::eve::{EveError, EveRecord, parse_line};
use ensuresec_netflow::zeek::{ConnLogReader, ZeekError};
use proptest::prelude::*;

const EVE_ALERT: &str = r#"{"timestamp":"2026-11-21T10:00:00.123456+0000","flow_id":1,"in_iface":"eth0","event_type":"alert","src_ip":"198.51.100.7","src_port":51000,"dest_ip":"203.0.113.10","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2010937,"rev":3,"signature":"ET SCAN Suspicious inbound to mySQL port 3306","category":"Potentially Bad Traffic","severity":2}}"#;
const EVE_FLOW: &str = r#"{"timestamp":"2026-11-21T10:00:05.000000+0000","event_type":"flow","src_ip":"198.51.100.7","src_port":51000,"dest_ip":"203.0.113.10","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":200,"bytes_toclient":120,"start":"2026-11-21T10:00:00.000000+0000","end":"2026-11-21T10:00:01.500000+0000","state":"closed"},"tcp":{"tcp_flags":"1b"}}"#;

#[test]
fn eve_alerts_become_external_alert_events() {
    let EveRecord::Alert(a) = parse_line(EVE_ALERT).expect("parses") else {
        panic!("not an alert")
    };
    assert_eq!(a.time.timestamp_subsec_millis(), 123);
    assert_eq!(a.alert.tool, "suricata");
    assert_eq!(a.alert.signature_id, "2010937");
    assert_eq!(a.alert.severity, Severity::Medium);
    assert_eq!(a.alert.dst_port, Some(443));
    let event = a.into_event("suricata:eve.json");
    assert_eq!(
        event.entity(EntityKind::Ip).map(|e| e.to_string()),
        Some("198.51.100.7".into())
    );
    // It is a valid event: it survives the JSON round trip every batch takes.
    let text = serde_json::to_string(&event).unwrap();
    assert!(text.contains(r#""type":"external_alert""#), "{text}");
    assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
}

#[test]
fn eve_flows_become_flows_and_other_types_are_named() {
    let EveRecord::Flow(f) = parse_line(EVE_FLOW).expect("parses") else {
        panic!("not a flow")
    };
    assert_eq!((f.flow.packets, f.flow.bytes), (5, 320));
    assert_eq!(f.flow.duration_ms, Some(1500));
    assert_eq!(f.flow.tcp_flags.as_deref(), Some("FSPA"));
    assert_eq!(
        parse_line(r#"{"event_type":"dns","timestamp":"x"}"#),
        Ok(EveRecord::Other("dns".into()))
    );
    assert_eq!(
        parse_line(r#"{"event_type":"alert"}"#),
        Err(EveError::Missing("alert"))
    );
    assert!(matches!(parse_line("{not json"), Err(EveError::Json(_))));
}

const CONN_LOG: &str = "#separator \\x09
#set_separator\t,
#path\tconn
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
1795000000.250000\tCx1\t198.51.100.7\t51000\t203.0.113.10\t443\ttcp\tssl\t1.5\t200\t120\tSF\tF\tT\t0\tShADadFf\t3\t320\t2\t200\t-
1795000001.000000\tCx2\t198.51.100.8\t51001\t203.0.113.10\t22\ttcp\t-\t-\t-\t-\tS0\tF\tT\t0\t-\t1\t60\t0\t0\t-
";

#[test]
fn zeek_tsv_lines_become_flows() {
    let mut r = ConnLogReader::new();
    let flows: Vec<_> = CONN_LOG
        .lines()
        .filter_map(|l| r.line(l).expect("valid line"))
        .collect();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].start.timestamp_millis(), 1_795_000_000_250);
    assert_eq!((flows[0].flow.packets, flows[0].flow.bytes), (3, 320));
    assert_eq!(flows[0].flow.tcp_flags.as_deref(), Some("FSPA"));
    assert_eq!(flows[0].flow.duration_ms, Some(1500));
    assert_eq!(
        flows[1].flow.tcp_flags.as_deref(),
        Some("S"),
        "S0 without history is a lone SYN"
    );
    assert_eq!(flows[1].flow.transport, Transport::Tcp);
}

#[test]
fn zeek_json_lines_and_errors() {
    let mut r = ConnLogReader::new();
    let f = r
        .line(r#"{"ts":1795000000.5,"id.orig_h":"2001:db8::1","id.orig_p":5353,"id.resp_h":"2001:db8::2","id.resp_p":53,"proto":"udp","orig_pkts":1,"orig_ip_bytes":80}"#)
        .expect("valid")
        .expect("a flow");
    assert_eq!(f.flow.transport, Transport::Udp);
    assert_eq!(f.flow.tcp_flags, None);
    assert_eq!(
        ConnLogReader::new().line("1\t2\t3"),
        Err(ZeekError::NoHeader)
    );
    let mut r = ConnLogReader::new();
    r.line("#fields\tts\tid.orig_h").expect("header");
    assert_eq!(r.line("nope\t1.2.3.4"), Err(ZeekError::Bad("ts")));
    assert_eq!(r.line("1.0\t1.2.3.4"), Err(ZeekError::Missing("id.resp_h")));
}

proptest! {
    #[test]
    fn hostile_lines_never_panic(line in "\\PC{0,300}") {
        let _ = parse_line(&line);
        let mut r = ConnLogReader::new();
        let _ = r.line("#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\thistory\torig_pkts\torig_ip_bytes");
        let _ = r.line(&line);
    }
}
