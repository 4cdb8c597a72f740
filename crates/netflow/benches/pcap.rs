//! Flow extraction speed from a pcap capture held in memory (bytes of capture per second).
//!
//! `cargo bench -p ensuresec-netflow --bench pcap`

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ensuresec_netflow::flow_table::FlowTableConfig;
use ensuresec_netflow::pcap::read_capture;
use etherparse::PacketBuilder;

/// About 64 MiB of Ethernet/IPv4 TCP and UDP packets over 2 000 connections, with a realistic
/// mix of sizes (many small control packets, many full-size data packets).
fn capture() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(0xa1b2_c3d4u32.to_le_bytes());
    f.extend(2u16.to_le_bytes());
    f.extend(4u16.to_le_bytes());
    f.extend([0u8; 8]);
    f.extend(65535u32.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    let sizes = [0usize, 0, 100, 1400, 1400, 1400, 600, 40];
    let mut i: u64 = 0;
    while f.len() < 64 << 20 {
        let conn = (i % 2000) as u16;
        let payload = sizes[(i % sizes.len() as u64) as usize];
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv4(
            [10, 0, (conn >> 8) as u8, conn as u8],
            [10, 9, 9, 9],
            64,
        );
        let mut pkt = Vec::new();
        let data = vec![0u8; payload];
        if i.is_multiple_of(5) {
            let b = b.udp(40000 + conn, 53);
            b.write(&mut pkt, &data).expect("vector write");
        } else {
            let b = b.tcp(40000 + conn, 443, i as u32, 1024).ack(1);
            b.write(&mut pkt, &data).expect("vector write");
        }
        let ts_us = 1_795_000_000_000_000u64 + i * 10;
        f.extend(((ts_us / 1_000_000) as u32).to_le_bytes());
        f.extend(((ts_us % 1_000_000) as u32).to_le_bytes());
        f.extend((pkt.len() as u32).to_le_bytes());
        f.extend((pkt.len() as u32).to_le_bytes());
        f.extend(pkt);
        i += 1;
    }
    f
}

fn main() {
    let file = capture();
    println!("capture: {:.1} MiB", file.len() as f64 / 1048576.0);
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut g = c.benchmark_group("pcap");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("flows_from_pcap", |b| {
        b.iter(|| {
            let mut n = 0usize;
            let stats = read_capture(&file[..], FlowTableConfig::default(), |batch| {
                n += batch.len()
            })
            .expect("valid capture");
            black_box((n, stats))
        })
    });
    g.finish();
    c.final_summary();
}
