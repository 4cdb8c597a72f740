//! Network flows: the level at which floods and scans show.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Entities;
use crate::entity::{EntityKind, EntityRef};

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Anything else.
    Other,
}

/// One flow record (NetFlow, IPFIX, or extracted from a capture).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkFlow {
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port (0 for ICMP).
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port (0 for ICMP).
    pub dst_port: u16,
    /// Transport protocol.
    pub transport: Transport,
    /// Packets in the flow.
    pub packets: u64,
    /// Bytes in the flow.
    pub bytes: u64,
    /// Flow duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// TCP flags seen, as letters (`S`, `SA`, `FPA`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<String>,
}

/// A flow names its source as the `ip` entity and its destination as the `asset` entity (the
/// host it reaches, usually one of the shop's), so that detectors can group floods by victim.
impl Entities for NetworkFlow {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Ip => Some(EntityRef::Ip(self.src_ip)),
            EntityKind::Asset => Some(EntityRef::Ip(self.dst_ip)),
            _ => None,
        }
    }
}
