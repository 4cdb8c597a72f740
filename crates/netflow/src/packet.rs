//! What a flow needs from one captured packet, read with `etherparse` (lax: truncated captures
//! still give their addresses and ports when the headers are there).

use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// The link layer a capture's packets start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II (linktype 1).
    Ethernet,
    /// Raw IP, v4 or v6 (linktypes 101, 228, 229).
    RawIp,
    /// Linux cooked capture v1 (linktype 113).
    LinuxSll,
    /// BSD loopback (linktype 0): a 4-byte family then IP.
    Null,
}

impl Link {
    /// The link for a pcap linktype number, if supported.
    pub fn from_linktype(linktype: i32) -> Option<Link> {
        match linktype {
            1 => Some(Link::Ethernet),
            101 | 228 | 229 | 12 | 14 => Some(Link::RawIp),
            113 => Some(Link::LinuxSll),
            0 => Some(Link::Null),
            _ => None,
        }
    }
}

/// The flow-relevant fields of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub protocol: u8,
    /// Source port (0 when none or not captured).
    pub src_port: u16,
    /// Destination port (0 when none or not captured).
    pub dst_port: u16,
    /// TCP flag bits (0 for other protocols).
    pub tcp_flags: u8,
}

/// Reads a packet; `None` for non-IP frames (ARP, …) and frames too short for an IP header.
pub fn parse(link: Link, data: &[u8]) -> Option<PacketInfo> {
    let sliced = match link {
        Link::Ethernet => LaxSlicedPacket::from_ethernet(data).ok()?,
        Link::RawIp => LaxSlicedPacket::from_ip(data).ok()?,
        Link::LinuxSll => LaxSlicedPacket::from_ip(data.get(16..)?).ok()?,
        Link::Null => LaxSlicedPacket::from_ip(data.get(4..)?).ok()?,
    };
    let (src, dst, protocol) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                v4.payload().ip_number.0,
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                v6.payload().ip_number.0,
            )
        }
        LaxNetSlice::Arp(_) => return None,
    };
    let (src_port, dst_port, tcp_flags) = match &sliced.transport {
        Some(TransportSlice::Tcp(t)) => {
            let flags = u8::from(t.fin())
                | u8::from(t.syn()) << 1
                | u8::from(t.rst()) << 2
                | u8::from(t.psh()) << 3
                | u8::from(t.ack()) << 4
                | u8::from(t.urg()) << 5
                | u8::from(t.ece()) << 6
                | u8::from(t.cwr()) << 7;
            (t.source_port(), t.destination_port(), flags)
        }
        Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port(), 0),
        _ => (0, 0, 0),
    };
    Some(PacketInfo {
        src,
        dst,
        protocol,
        src_port,
        dst_port,
        tcp_flags,
    })
}
