//! HTTP requests, as a reverse proxy or an access log reports them.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Entities, name};
use crate::entity::{EntityKind, EntityRef};

/// One HTTP request and, when known, its response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// The client's address (after trusted-proxy resolution).
    pub client_ip: IpAddr,
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Host header or virtual host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Path, still percent-encoded as received, without the query string.
    pub path: String,
    /// Raw query string without the leading `?`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Protocol version, e.g. `HTTP/1.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_version: Option<String>,
    /// Response status code, when the response is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// User-Agent header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Referer header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    /// Other request headers worth inspecting, as name/value pairs in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Request body (or its first bytes), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Response size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// Time to serve, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The shop's session identifier, when a proxy can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The logged-in account, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// A device identifier (cookie or fingerprint), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Entities for HttpRequest {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Ip => Some(EntityRef::Ip(self.client_ip)),
            EntityKind::Account => name(&self.account),
            EntityKind::Device => name(&self.device),
            EntityKind::Asset => name(&self.host),
            EntityKind::Card | EntityKind::Parcel => None,
        }
    }
}
