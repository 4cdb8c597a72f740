//! The cyber-physical chain: an account taken over (an alert of the web or payment modules, such
//! as `account-takeover-address-change`) and a parcel of that account redirected
//! (`parcel-redirected`), within the configured window of each other in either order, raise
//! `takeover-redirect` on the account with both sides' evidence. Runs over alerts, once for the
//! whole pipeline (see [`ensuresec_model::AlertChain`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ensuresec_model::{Alert, AlertChain, EntityKind};
use serde_json::{Value, json};

use crate::finding::Rule;
use crate::rules::DeliveryRules;

/// Redirects remembered per account (older ones are forgotten first).
const MAX_REDIRECTS: usize = 4;

/// What one side of the chain left behind.
#[derive(Debug, Clone)]
struct Seen {
    at: i64,
    rule: String,
    title: String,
    evidence: Value,
}

#[derive(Debug, Default)]
struct Trail {
    takeover: Option<Seen>,
    redirects: VecDeque<Seen>,
    /// Parcels already reported, so that one redirect raises one chain alert.
    reported: Vec<String>,
    last: i64,
}

/// Correlates takeover alerts with redirect alerts by account.
pub struct TakeoverRedirectChain {
    rules: Arc<DeliveryRules>,
    accounts: HashMap<Box<str>, Trail>,
    latest: i64,
}

impl TakeoverRedirectChain {
    /// A chain with these rules.
    pub fn new(rules: Arc<DeliveryRules>) -> TakeoverRedirectChain {
        TakeoverRedirectChain {
            rules,
            accounts: HashMap::new(),
            latest: i64::MIN,
        }
    }

    /// Accounts currently remembered.
    pub fn tracked(&self) -> usize {
        self.accounts.len()
    }

    fn window(&self) -> i64 {
        (self.rules.takeover_redirect.window_hours * 3600.0) as i64
    }

    /// Forgets accounts idle for longer than the window, once the table is past the ceiling.
    fn bound(&mut self) {
        if self.accounts.len() <= self.rules.limits.max_entities {
            return;
        }
        let oldest = self.latest - self.window();
        self.accounts.retain(|_, t| t.last >= oldest);
        if self.accounts.len() > self.rules.limits.max_entities {
            // Still full inside the window: keep the newer half.
            let mut seen: Vec<i64> = self.accounts.values().map(|t| t.last).collect();
            let half = seen.len() / 2;
            let (_, cut, _) = seen.select_nth_unstable(half);
            let cut = *cut;
            self.accounts.retain(|_, t| t.last > cut);
        }
    }
}

fn parcel_of(s: &Seen) -> String {
    s.evidence
        .get("parcel_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn side(s: &Seen) -> Value {
    json!({"rule_id": s.rule, "time": chrono::DateTime::from_timestamp(s.at, 0).map(|t| t.to_rfc3339()),
           "title": s.title, "evidence": s.evidence})
}

impl AlertChain for TakeoverRedirectChain {
    fn name(&self) -> &str {
        "delivery-takeover-redirect"
    }

    fn on_alert(&mut self, alert: &Alert, out: &mut Vec<Alert>) {
        if alert.entity.kind != EntityKind::Account {
            return;
        }
        let is_takeover = self
            .rules
            .takeover_redirect
            .takeover_rules
            .contains(&alert.rule_id);
        let is_redirect = alert.rule_id == Rule::ParcelRedirected.id();
        if !is_takeover && !is_redirect {
            return;
        }
        let at = alert.time.timestamp();
        self.latest = self.latest.max(at);
        let window = self.window();
        let seen = Seen {
            at,
            rule: alert.rule_id.clone(),
            title: alert.title.clone(),
            evidence: alert.evidence.clone(),
        };
        let trail = self
            .accounts
            .entry(alert.entity.value.as_str().into())
            .or_default();
        trail.last = trail.last.max(at);
        let pairs: Vec<(Seen, Seen)> = if is_takeover {
            let pairs = trail
                .redirects
                .iter()
                .filter(|r| (r.at - at).abs() <= window)
                .map(|r| (seen.clone(), r.clone()))
                .collect();
            trail.takeover = Some(seen);
            pairs
        } else {
            let pair = trail
                .takeover
                .as_ref()
                .filter(|t| (t.at - at).abs() <= window)
                .map(|t| (t.clone(), seen.clone()));
            trail.redirects.push_back(seen);
            while trail.redirects.len() > MAX_REDIRECTS {
                trail.redirects.pop_front();
            }
            pair.into_iter().collect()
        };
        for (takeover, redirect) in pairs {
            let parcel = parcel_of(&redirect);
            if trail.reported.contains(&parcel) {
                continue;
            }
            trail.reported.push(parcel.clone());
            out.push(Rule::TakeoverRedirect.alert(
                alert.time,
                alert.entity.clone(),
                format!(
                    "Account {} was taken over and its parcel {parcel} redirected",
                    alert.entity.value
                ),
                json!({
                    "parcel_id": parcel,
                    "account": alert.entity.value,
                    "takeover": side(&takeover),
                    "redirect": side(&redirect),
                    "redirect_minutes_after_takeover": ((redirect.at - takeover.at) as f64 / 60.0).round(),
                    "scans": redirect.evidence.get("scans"),
                    "track": redirect.evidence.get("track"),
                }),
            ));
        }
        self.bound();
    }
}
