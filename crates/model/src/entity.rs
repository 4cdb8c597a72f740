//! Entities are the things detectors group by and incidents are about: an IP address, a customer
//! account, a card, a device, a parcel, an asset. Keeping the list closed lets the pipeline
//! partition work by entity and lets every module speak of the same keys.

use std::fmt;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kinds of entity an event can name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A client or network address.
    Ip,
    /// A customer, staff or partner account.
    Account,
    /// A payment card, by fingerprint (never the card number).
    Card,
    /// A browser, phone, sensor or other device, by its identifier.
    Device,
    /// A shipment.
    Parcel,
    /// Something the shop owns or depends on: a server, a page, a locker, a process.
    Asset,
}

impl EntityKind {
    /// Every kind, in a stable order, for help texts and partition tables.
    pub const ALL: [EntityKind; 6] = [
        EntityKind::Ip,
        EntityKind::Account,
        EntityKind::Card,
        EntityKind::Device,
        EntityKind::Parcel,
        EntityKind::Asset,
    ];

    /// The snake_case name used in JSON, rule files and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Ip => "ip",
            EntityKind::Account => "account",
            EntityKind::Card => "card",
            EntityKind::Device => "device",
            EntityKind::Parcel => "parcel",
            EntityKind::Asset => "asset",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown entity kind `{s}`, expected one of ip, account, card, device, parcel, asset")
            })
    }
}

/// A borrowed entity value, as read off an event without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityRef<'a> {
    /// An address.
    Ip(IpAddr),
    /// Any other identifier.
    Name(&'a str),
}

impl EntityRef<'_> {
    /// An owned copy, for state that outlives the event.
    pub fn to_value(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for EntityRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityRef::Ip(ip) => ip.fmt(f),
            EntityRef::Name(s) => f.write_str(s),
        }
    }
}

/// An owned entity: what an alert or incident is about.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct EntityKey {
    /// Which kind of entity.
    pub kind: EntityKind,
    /// Its identifier (an IP in text form, an account id, a card fingerprint…).
    pub value: String,
}

impl EntityKey {
    /// Builds a key from a kind and anything that prints as its value.
    pub fn new(kind: EntityKind, value: impl fmt::Display) -> Self {
        EntityKey {
            kind,
            value: value.to_string(),
        }
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}
