//! Builders for captures and export packets, so that tests say what they send.

#![allow(dead_code, reason = "each test file uses a different subset")]

use etherparse::PacketBuilder;

/// An Ethernet/IPv4/TCP frame.
pub fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    syn: bool,
    ack: bool,
    payload: usize,
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1, 1024);
    if syn {
        b = b.syn();
    }
    if ack {
        b = b.ack(1);
    }
    let data = vec![0u8; payload];
    let mut out = Vec::with_capacity(b.size(payload));
    b.write(&mut out, &data).expect("writing to a vector");
    out
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let data = vec![0u8; payload];
    let mut out = Vec::with_capacity(b.size(payload));
    b.write(&mut out, &data).expect("writing to a vector");
    out
}

/// A classic pcap file (microsecond timestamps, Ethernet) of `(time in ms, frame)`.
pub fn pcap(packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(0xa1b2_c3d4u32.to_le_bytes());
    f.extend(2u16.to_le_bytes());
    f.extend(4u16.to_le_bytes());
    f.extend(0i32.to_le_bytes());
    f.extend(0u32.to_le_bytes());
    f.extend(65535u32.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    for (ms, data) in packets {
        f.extend(((ms / 1000) as u32).to_le_bytes());
        f.extend((((ms % 1000) * 1000) as u32).to_le_bytes());
        f.extend((data.len() as u32).to_le_bytes());
        f.extend((data.len() as u32).to_le_bytes());
        f.extend(data);
    }
    f
}

/// A pcapng file (one Ethernet interface, microsecond resolution) of `(time in ms, frame)`.
pub fn pcapng(packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut f = Vec::new();
    // Section header block.
    f.extend(0x0A0D_0D0Au32.to_le_bytes());
    f.extend(28u32.to_le_bytes());
    f.extend(0x1A2B_3C4Du32.to_le_bytes());
    f.extend(1u16.to_le_bytes());
    f.extend(0u16.to_le_bytes());
    f.extend((-1i64).to_le_bytes());
    f.extend(28u32.to_le_bytes());
    // Interface description block.
    f.extend(1u32.to_le_bytes());
    f.extend(20u32.to_le_bytes());
    f.extend(1u16.to_le_bytes());
    f.extend(0u16.to_le_bytes());
    f.extend(65535u32.to_le_bytes());
    f.extend(20u32.to_le_bytes());
    for (ms, data) in packets {
        let padded = data.len().div_ceil(4) * 4;
        let len = (32 + padded) as u32;
        let ts = ms * 1000;
        f.extend(6u32.to_le_bytes());
        f.extend(len.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(((ts >> 32) as u32).to_le_bytes());
        f.extend((ts as u32).to_le_bytes());
        f.extend((data.len() as u32).to_le_bytes());
        f.extend((data.len() as u32).to_le_bytes());
        f.extend(data);
        f.extend(vec![0u8; padded - data.len()]);
        f.extend(len.to_le_bytes());
    }
    f
}
