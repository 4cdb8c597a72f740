//! NetFlow v5, v9 and IPFIX decoding, including hostile packets.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::net::IpAddr;

use ensuresec_model::event::Transport;
use ensuresec_netflow::FlowRecord;
use ensuresec_netflow::export::{ExportConfig, ExportDecoder, ExportError};
use proptest::prelude::*;

const EXPORTER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
const SECS: u32 = 1_795_000_000;

fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend(x.to_be_bytes());
}
fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend(x.to_be_bytes());
}

fn v5(count: u16) -> Vec<u8> {
    let mut p = Vec::new();
    be16(&mut p, 5);
    be16(&mut p, count);
    be32(&mut p, 100_000); // uptime
    be32(&mut p, SECS);
    be32(&mut p, 0);
    be32(&mut p, 1);
    p.extend([0, 0, 0, 0]);
    for i in 0..count {
        p.extend([10, 0, 0, i as u8 + 1]);
        p.extend([10, 0, 0, 100]);
        p.extend([0; 8]);
        be32(&mut p, 3); // packets
        be32(&mut p, 180); // bytes
        be32(&mut p, 95_000); // first: 5 s before export
        be32(&mut p, 96_000);
        be16(&mut p, 40000 + i);
        be16(&mut p, 443);
        p.extend([0, 0x02, 6, 0]);
        p.extend([0; 8]);
    }
    p
}

fn decode(d: &mut ExportDecoder, p: &[u8]) -> (Vec<FlowRecord>, Result<(), ExportError>) {
    let mut out = Vec::new();
    let r = d.decode(EXPORTER, p, &mut out);
    (out, r)
}

#[test]
fn v5_records_carry_their_start_time_and_fields() {
    let mut d = ExportDecoder::new(ExportConfig::default());
    let (flows, r) = decode(&mut d, &v5(2));
    assert_eq!(r, Ok(()));
    assert_eq!(flows.len(), 2);
    let f = &flows[1].flow;
    assert_eq!(f.src_ip.to_string(), "10.0.0.2");
    assert_eq!(
        (f.src_port, f.dst_port, f.packets, f.bytes),
        (40001, 443, 3, 180)
    );
    assert_eq!(f.transport, Transport::Tcp);
    assert_eq!(f.tcp_flags.as_deref(), Some("S"));
    assert_eq!(f.duration_ms, Some(1000));
    assert_eq!(flows[0].start.timestamp(), i64::from(SECS) - 5);
}

#[test]
fn v5_with_a_lying_count_is_refused() {
    let mut d = ExportDecoder::new(ExportConfig::default());
    let mut p = v5(2);
    p[3] = 3; // claims three records, carries two
    assert_eq!(
        decode(&mut d, &p).1,
        Err(ExportError::Truncated("v5 records"))
    );
    p[3] = 31;
    assert_eq!(
        decode(&mut d, &p).1,
        Err(ExportError::BadLength("v5 count"))
    );
}

/// A v9 packet with a template flowset (id 256: src, dst, sport, dport, proto, bytes(4),
/// packets(2), first) and/or a data flowset of one record.
fn v9(template: bool, data: bool) -> Vec<u8> {
    let mut p = Vec::new();
    be16(&mut p, 9);
    be16(&mut p, 1);
    be32(&mut p, 100_000);
    be32(&mut p, SECS);
    be32(&mut p, 7);
    be32(&mut p, 42); // source id
    if template {
        let fields: [(u16, u16); 8] = [
            (8, 4),
            (12, 4),
            (7, 2),
            (11, 2),
            (4, 1),
            (1, 4),
            (2, 2),
            (22, 4),
        ];
        be16(&mut p, 0);
        be16(&mut p, (4 + 4 + fields.len() * 4) as u16);
        be16(&mut p, 256);
        be16(&mut p, fields.len() as u16);
        for (id, len) in fields {
            be16(&mut p, id);
            be16(&mut p, len);
        }
    }
    if data {
        be16(&mut p, 256);
        be16(&mut p, 4 + 23 + 1); // one record and one byte of padding
        p.extend([198, 51, 100, 9, 10, 0, 0, 100]);
        be16(&mut p, 123);
        be16(&mut p, 50000);
        p.push(17);
        be32(&mut p, 4800);
        be16(&mut p, 10);
        be32(&mut p, 99_000);
        p.push(0);
    }
    p
}

#[test]
fn v9_data_before_its_template_is_skipped_then_decoded() {
    let mut d = ExportDecoder::new(ExportConfig::default());
    let (flows, r) = decode(&mut d, &v9(false, true));
    assert_eq!((flows.len(), r), (0, Ok(())));
    assert_eq!(d.stats().unknown_template, 1);
    let (flows, r) = decode(&mut d, &v9(true, true));
    assert_eq!(r, Ok(()));
    assert_eq!(flows.len(), 1);
    let f = &flows[0].flow;
    assert_eq!(
        (f.src_port, f.dst_port, f.bytes, f.packets),
        (123, 50000, 4800, 10)
    );
    assert_eq!(f.transport, Transport::Udp);
    assert_eq!(flows[0].start.timestamp(), i64::from(SECS) - 1);
    // Templates are per exporter: another exporter's data is unknown.
    let mut out = Vec::new();
    d.decode(
        "192.0.2.2".parse().expect("address"),
        &v9(false, true),
        &mut out,
    )
    .expect("decodes");
    assert!(out.is_empty());
}

#[test]
fn the_template_cache_is_bounded_and_counts_refusals() {
    let mut d = ExportDecoder::new(ExportConfig { max_templates: 1 });
    assert_eq!(decode(&mut d, &v9(true, false)).1, Ok(()));
    let mut out = Vec::new();
    d.decode(
        "192.0.2.2".parse().expect("address"),
        &v9(true, false),
        &mut out,
    )
    .expect("decodes");
    assert_eq!(d.templates(), 1);
    assert_eq!(d.stats().templates_refused, 1);
}

/// An IPFIX message: template 300 with an enterprise field and a variable-length field, then a
/// record using flowStartMilliseconds and IPv6 addresses.
fn ipfix() -> Vec<u8> {
    let mut sets = Vec::new();
    // Template set.
    let mut t = Vec::new();
    be16(&mut t, 300);
    be16(&mut t, 7);
    for (id, len) in [(27u16, 16u16), (28, 16), (4, 1), (86, 8), (85, 8), (152, 8)] {
        be16(&mut t, id);
        be16(&mut t, len);
    }
    be16(&mut t, 0x8000 | 1); // enterprise element, variable length
    be16(&mut t, 0xffff);
    be32(&mut t, 29305);
    be16(&mut sets, 2);
    be16(&mut sets, (4 + t.len()) as u16);
    sets.extend(t);
    // Data set.
    let mut r = Vec::new();
    r.extend(
        "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .expect("v6")
            .octets(),
    );
    r.extend(
        "2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .expect("v6")
            .octets(),
    );
    r.push(6);
    r.extend(5u64.to_be_bytes());
    r.extend(700u64.to_be_bytes());
    r.extend((u64::from(SECS) * 1000 + 250).to_be_bytes());
    r.push(3);
    r.extend(b"abc");
    be16(&mut sets, 300);
    be16(&mut sets, (4 + r.len()) as u16);
    sets.extend(r);
    let mut p = Vec::new();
    be16(&mut p, 10);
    be16(&mut p, (16 + sets.len()) as u16);
    be32(&mut p, SECS);
    be32(&mut p, 1);
    be32(&mut p, 5);
    p.extend(sets);
    p
}

#[test]
fn ipfix_reads_variable_length_and_enterprise_fields() {
    let mut d = ExportDecoder::new(ExportConfig::default());
    let (flows, r) = decode(&mut d, &ipfix());
    assert_eq!(r, Ok(()));
    assert_eq!(flows.len(), 1);
    let f = &flows[0].flow;
    assert_eq!(f.src_ip.to_string(), "2001:db8::1");
    assert_eq!((f.packets, f.bytes), (5, 700));
    assert_eq!(
        flows[0].start.timestamp_millis(),
        i64::from(SECS) * 1000 + 250
    );
}

#[test]
fn unknown_versions_and_short_packets_are_errors() {
    let mut d = ExportDecoder::new(ExportConfig::default());
    assert_eq!(
        decode(&mut d, &[0, 7, 0, 0]).1,
        Err(ExportError::Version(7))
    );
    assert_eq!(
        decode(&mut d, &[0]).1,
        Err(ExportError::Truncated("header"))
    );
    let mut p = ipfix();
    p[3] = 0xff; // message length beyond the packet
    assert_eq!(
        decode(&mut d, &p).1,
        Err(ExportError::BadLength("ipfix message"))
    );
}

proptest! {
    /// Hostile bytes after a valid version never panic, and mutations of valid packets neither.
    #[test]
    fn decoding_never_panics(version in prop::sample::select(vec![5u16, 9, 10]), body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut d = ExportDecoder::new(ExportConfig::default());
        let mut p = version.to_be_bytes().to_vec();
        p.extend(body);
        let _ = decode(&mut d, &p);
    }

    #[test]
    fn mutated_packets_never_panic(which in 0usize..3, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut d = ExportDecoder::new(ExportConfig::default());
        let mut p = [v5(3), v9(true, true), ipfix()][which].clone();
        for (i, b) in flips {
            let n = p.len();
            p[i % n] = b;
        }
        let _ = decode(&mut d, &p);
    }
}
