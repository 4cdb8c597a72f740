//! Enforcement of the response module's decisions: an index by client address and range,
//! account and device, rebuilt whenever the decisions change. It is filled by whichever
//! [`Authority`](crate::authority::Authority) the gateway runs with — the remote serve's decision
//! stream or the serve's own decision book in-process — and read on every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ensuresec_respond::decision::{DecisionKind, DecisionScope};
use ipnet::IpNet;

/// What a request's client is subject to, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sanction {
    /// Refuse (403).
    Ban,
    /// Ask for a challenge: browsers get the proof-of-work page, other clients 403.
    Challenge,
    /// Slow down: a strict per-address rate limit.
    Throttle,
}

impl Sanction {
    /// The sanction a decision of `kind` asks for; a review holds orders, not requests.
    pub fn of(kind: DecisionKind) -> Option<Sanction> {
        match kind {
            DecisionKind::Ban => Some(Sanction::Ban),
            DecisionKind::Challenge => Some(Sanction::Challenge),
            DecisionKind::Throttle => Some(Sanction::Throttle),
            DecisionKind::Review => None,
        }
    }
}

/// Who a request comes from, as far as decisions go.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Client address.
    pub ip: IpAddr,
    /// Account, from the configured cookie or header.
    pub account: Option<&'a str>,
    /// Device, from the configured cookie or header.
    pub device: Option<&'a str>,
}

/// Decisions indexed for lookup; rebuilt whenever they change.
#[derive(Debug, Default)]
struct Index {
    ips: HashMap<IpAddr, Sanction>,
    ranges: Vec<(IpNet, Sanction)>,
    accounts: HashMap<String, Sanction>,
    devices: HashMap<String, Sanction>,
}

fn strongest(map_entry: &mut Sanction, s: Sanction) {
    *map_entry = (*map_entry).min(s);
}

impl Index {
    fn build<'a>(
        decisions: impl IntoIterator<Item = (DecisionKind, DecisionScope, &'a str)>,
    ) -> Index {
        let mut index = Index::default();
        for (kind, scope, value) in decisions {
            let Some(s) = Sanction::of(kind) else {
                continue;
            };
            match scope {
                DecisionScope::Ip => {
                    if let Ok(ip) = value.parse() {
                        strongest(index.ips.entry(ip).or_insert(s), s);
                    }
                }
                DecisionScope::Range => {
                    if let Ok(net) = value.parse() {
                        index.ranges.push((net, s));
                    }
                }
                DecisionScope::Account => {
                    strongest(index.accounts.entry(value.to_string()).or_insert(s), s);
                }
                DecisionScope::Device => {
                    strongest(index.devices.entry(value.to_string()).or_insert(s), s);
                }
                DecisionScope::Card => {}
            }
        }
        index
    }

    fn lookup(&self, who: &Subject<'_>) -> Option<Sanction> {
        let by_ip = self.ips.get(&who.ip).copied();
        let by_range = self
            .ranges
            .iter()
            .filter(|(n, _)| n.contains(&who.ip))
            .map(|(_, s)| *s)
            .min();
        let by_account = who.account.and_then(|a| self.accounts.get(a).copied());
        let by_device = who.device.and_then(|d| self.devices.get(d).copied());
        [by_ip, by_range, by_account, by_device]
            .into_iter()
            .flatten()
            .min()
    }
}

/// The decisions in force, shared by whoever fills them and every request.
#[derive(Debug, Default)]
pub struct Decisions {
    index: RwLock<Arc<Index>>,
}

impl Decisions {
    /// The strongest sanction for `who`, if any.
    pub fn lookup(&self, who: &Subject<'_>) -> Option<Sanction> {
        let index = Arc::clone(&self.index.read().unwrap_or_else(|e| e.into_inner()));
        index.lookup(who)
    }

    /// Replaces everything with `decisions` (type, scope, value); card decisions are not the
    /// gateway's business and are left out.
    pub fn replace<'a>(
        &self,
        decisions: impl IntoIterator<Item = (DecisionKind, DecisionScope, &'a str)>,
    ) {
        let index = Arc::new(Index::build(decisions));
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_sanction_wins_across_scopes() {
        let ds = Decisions::default();
        ds.replace([
            (DecisionKind::Throttle, DecisionScope::Ip, "192.0.2.1"),
            (DecisionKind::Ban, DecisionScope::Range, "192.0.2.0/24"),
            (DecisionKind::Challenge, DecisionScope::Account, "alice"),
            (DecisionKind::Review, DecisionScope::Device, "dev-1"),
        ]);
        let who = |ip: &str, account, device| Subject {
            ip: ip.parse().unwrap(),
            account,
            device,
        };
        assert_eq!(
            ds.lookup(&who("192.0.2.1", None, None)),
            Some(Sanction::Ban)
        );
        assert_eq!(
            ds.lookup(&who("198.51.100.1", Some("alice"), None)),
            Some(Sanction::Challenge)
        );
        assert_eq!(ds.lookup(&who("198.51.100.1", None, Some("dev-1"))), None);
    }
}
