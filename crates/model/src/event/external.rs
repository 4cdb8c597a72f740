//! Alerts raised by security tools a shop already runs (an IDS such as Suricata), carried as
//! events so that they take the one path of every observation: validated, stored, turned into our
//! alerts, correlated into incidents and recorded in the audit log.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Entities;
use crate::entity::{EntityKind, EntityRef};
use crate::severity::Severity;

/// An alert another tool raised, mapped to our severity scale by whoever imported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalAlert {
    /// The tool that raised it (`suricata`); our alert's rule id is `<tool>:<signature_id>`.
    pub tool: String,
    /// The tool's rule or signature id.
    pub signature_id: String,
    /// The rule's or signature's name, as the tool wrote it.
    pub signature: String,
    /// Severity on our scale.
    pub severity: Severity,
    /// The tool's classification of the rule (e.g. `Attempted Administrator Privilege Gain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Revision of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// What the tool did with the traffic (`allowed`, `blocked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Source address of the traffic that matched (for inbound alerts, the attacker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    /// Source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination address (for inbound alerts, the shop's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_ip: Option<IpAddr>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// Protocol as the tool names it (`TCP`, `UDP`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The source is the `ip` entity, the destination the `asset` entity, as for flows.
impl Entities for ExternalAlert {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Ip => self.src_ip.map(EntityRef::Ip),
            EntityKind::Asset => self.dst_ip.map(EntityRef::Ip),
            _ => None,
        }
    }
}
