//! Enforcement of the response module's decisions: the serve's CrowdSec-compatible stream
//! (`GET /v1/decisions/stream`, `X-Api-Key`) is polled every `poll_interval_ms`, and each request
//! is looked up by client address and range, account and device.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ensuresec_respond::decision::{CsDecision, DecisionKind};
use ipnet::IpNet;
use serde::Deserialize;

/// What a request's client is subject to, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sanction {
    /// Refuse (403).
    Ban,
    /// Ask for a challenge; the gateway has no captcha of its own, so it refuses (403) with a
    /// page saying so.
    Challenge,
    /// Slow down: a strict per-address rate limit.
    Throttle,
}

impl Sanction {
    fn of(kind: &str) -> Option<Sanction> {
        match kind.parse::<DecisionKind>().ok()? {
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

/// Decisions indexed for lookup; rebuilt whenever the stream brings a change.
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
    fn build(decisions: &HashMap<u64, CsDecision>) -> Index {
        let mut index = Index::default();
        for d in decisions.values() {
            let Some(s) = Sanction::of(&d.kind) else {
                continue;
            };
            match d.scope.to_ascii_lowercase().as_str() {
                "ip" => {
                    if let Ok(ip) = d.value.parse() {
                        strongest(index.ips.entry(ip).or_insert(s), s);
                    }
                }
                "range" => {
                    if let Ok(net) = d.value.parse() {
                        index.ranges.push((net, s));
                    }
                }
                "account" => strongest(index.accounts.entry(d.value.clone()).or_insert(s), s),
                "device" => strongest(index.devices.entry(d.value.clone()).or_insert(s), s),
                _ => {}
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

/// The decisions in force, shared by the poller and every request.
#[derive(Debug, Default)]
pub struct Decisions {
    index: RwLock<Arc<Index>>,
}

/// The stream's answer.
#[derive(Debug, Deserialize)]
struct StreamAnswer {
    new: Option<Vec<CsDecision>>,
    deleted: Option<Vec<CsDecision>>,
}

impl Decisions {
    /// The strongest sanction for `who`, if any.
    pub fn lookup(&self, who: &Subject<'_>) -> Option<Sanction> {
        let index = Arc::clone(&self.index.read().unwrap_or_else(|e| e.into_inner()));
        index.lookup(who)
    }

    fn replace(&self, decisions: &HashMap<u64, CsDecision>) {
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Index::build(decisions));
    }

    /// Polls the stream forever: the first pull asks for every active decision, later ones for
    /// changes only.
    pub async fn poll(
        self: Arc<Self>,
        client: reqwest::Client,
        base: String,
        key: String,
        every: Duration,
    ) {
        let mut known: HashMap<u64, CsDecision> = HashMap::new();
        let mut startup = true;
        let mut failing = false;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let url = format!(
                "{base}/v1/decisions/stream?startup={startup}&scopes=ip,range,account,device"
            );
            let answer = async {
                client
                    .get(&url)
                    .header("X-Api-Key", &key)
                    .send()
                    .await?
                    .error_for_status()?
                    .json::<StreamAnswer>()
                    .await
            }
            .await;
            match answer {
                Ok(a) => {
                    if failing {
                        tracing::info!("decision stream reachable again");
                        failing = false;
                    }
                    if startup {
                        known.clear();
                    }
                    startup = false;
                    let mut changed = false;
                    for d in a.deleted.unwrap_or_default() {
                        changed |= known.remove(&d.id).is_some();
                    }
                    for d in a.new.unwrap_or_default() {
                        known.insert(d.id, d);
                        changed = true;
                    }
                    if changed {
                        self.replace(&known);
                        tracing::debug!(active = known.len(), "decisions updated");
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "cannot pull decisions; keeping the last known");
                        failing = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: u64, kind: &str, scope: &str, value: &str) -> CsDecision {
        CsDecision {
            id,
            origin: "cli".into(),
            kind: kind.into(),
            scope: scope.into(),
            value: value.into(),
            duration: "1h".into(),
            scenario: String::new(),
            simulated: false,
            uuid: String::new(),
        }
    }

    #[test]
    fn the_strongest_sanction_wins_across_scopes() {
        let mut all = HashMap::new();
        all.insert(1, d(1, "throttle", "Ip", "192.0.2.1"));
        all.insert(2, d(2, "ban", "Range", "192.0.2.0/24"));
        all.insert(3, d(3, "captcha", "Account", "alice"));
        all.insert(4, d(4, "review", "Device", "dev-1"));
        let ds = Decisions::default();
        ds.replace(&all);
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
