//! Scoring one payment: features from the state, the model's calibrated probability (or the
//! rules file's base rate when no model is loaded), the rules' points and blocks, a decision
//! from the thresholds, and the reasons that weighed most, in words.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{FileError, InputError};
use crate::features::{FEATURES, FeatureStore, Features, N_FEATURES, StateLimits, index_of};
use crate::geo::set_distances;
use crate::ip_location::IpLocator;
use crate::model::Model;
use crate::platt::sigmoid;
use crate::postal::PostalCentroids;
use crate::rates::ExchangeRates;
use crate::request::{PaymentRequest, ThreeDs};
use crate::rules::{Effect, Rule, RuleSet};

/// Most reasons returned with a score.
pub const MAX_REASONS: usize = 5;
/// Contributions smaller than this (log-odds points) are not worth a reviewer's time.
const MIN_CONTRIBUTION: f64 = 0.05;

/// What to do with the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "PaymentDecision")]
pub enum Decision {
    /// Send it to the issuer.
    Approve,
    /// Step up to 3-D Secure before sending it.
    Challenge,
    /// Hold it for a reviewer.
    Review,
    /// Refuse it.
    Decline,
}

impl Decision {
    /// The decision as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Challenge => "challenge",
            Decision::Review => "review",
            Decision::Decline => "decline",
        }
    }
}

/// One reason behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "PaymentReason")]
pub struct Reason {
    /// A rule id, or the feature name for the model's share.
    pub code: String,
    /// For a reviewer.
    pub text: String,
    /// Log-odds points it added (0 for a blocking rule, which decides on its own).
    pub contribution: f64,
}

/// The answer for one payment.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Assessment {
    /// The payment scored.
    pub payment_id: String,
    /// Fraud probability after the model and the rules' points.
    pub probability: f64,
    /// What to do.
    pub decision: Decision,
    /// The id of the blocking rule that decided, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// The strongest reasons towards fraud, strongest first.
    pub reasons: Vec<Reason>,
}

/// A model whose columns are mapped onto the online features.
#[derive(Debug)]
struct Bound {
    model: Model,
    columns: Vec<usize>,
}

/// Where a reason comes from: the model's share of a feature, or a rule.
enum Source<'a> {
    /// The feature at this index of [`FEATURES`].
    Feature(usize),
    /// A matching rule.
    Rule(&'a Rule),
}

/// The scorer: feature state, rules and an optional model. One per thread (no locks).
#[derive(Debug)]
pub struct Scorer {
    features: FeatureStore,
    rules: RuleSet,
    model: Option<Bound>,
    ip_locator: Option<Arc<IpLocator>>,
    postal_centroids: Option<Arc<PostalCentroids>>,
    exchange_rates: Option<Arc<ExchangeRates>>,
}

impl Scorer {
    /// A scorer with `rules`, no model, and empty state bounded by `limits`.
    pub fn new(rules: RuleSet, limits: StateLimits) -> Scorer {
        Scorer {
            features: FeatureStore::new(limits),
            rules,
            model: None,
            ip_locator: None,
            postal_centroids: None,
            exchange_rates: None,
        }
    }

    /// Places client IP addresses with `locator` from now on, for the distances between the
    /// client and the billing and shipping addresses (without one they are unknown).
    pub fn set_ip_locator(&mut self, locator: Option<Arc<IpLocator>>) {
        self.ip_locator = locator;
    }

    /// Places addresses that come without coordinates at their postal code's centroid from
    /// now on (without centroids their distances are unknown).
    pub fn set_postal_centroids(&mut self, centroids: Option<Arc<PostalCentroids>>) {
        self.postal_centroids = centroids;
    }

    /// Counts amounts in the reference currency of `rates` from now on, refusing payments in
    /// a currency without a rate (without rates each amount is counted in its own currency).
    pub fn set_exchange_rates(&mut self, rates: Option<Arc<ExchangeRates>>) {
        self.exchange_rates = rates;
    }

    /// The exchange rates in use, if any.
    pub fn exchange_rates(&self) -> Option<&ExchangeRates> {
        self.exchange_rates.as_deref()
    }

    /// Uses `model` from now on and hands back the one it replaces (so that the caller can drop
    /// it outside any lock). Refused, keeping the current model, when the model expects a
    /// feature that is not computed online (a model trained on another data set can only be
    /// evaluated on files).
    pub fn set_model(&mut self, file: &str, model: Model) -> Result<Option<Model>, FileError> {
        let columns = model
            .features
            .iter()
            .map(|name| {
                index_of(name).ok_or_else(|| {
                    FileError::new(
                        file,
                        format!("model feature `{name}` is not computed online, so this model cannot score payments"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if columns.len() > N_FEATURES {
            return Err(FileError::new(
                file,
                format!(
                    "the model lists {} features, more than the {N_FEATURES} computed online",
                    columns.len()
                ),
            ));
        }
        let previous = self.model.replace(Bound { model, columns });
        Ok(previous.map(|b| b.model))
    }

    /// Replaces the rules.
    pub fn set_rules(&mut self, rules: RuleSet) {
        self.rules = rules;
    }

    /// The rules in use (thresholds included).
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The model in use, if any.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref().map(|b| &b.model)
    }

    /// The feature state, for its size and counters.
    pub fn state(&self) -> &FeatureStore {
        &self.features
    }

    /// The feature state, to feed outcomes and sweep.
    pub fn state_mut(&mut self) -> &mut FeatureStore {
        &mut self.features
    }

    /// Validates and scores `request`, then counts it in the state.
    pub fn score(&mut self, request: &PaymentRequest) -> Result<Assessment, InputError> {
        request.validate()?;
        let amount = match &self.exchange_rates {
            Some(rates) => rates.convert(&request.amount, request.time.timestamp())?,
            None => request.amount_major(),
        };
        let mut features = self.features.observe_amount(request, amount);
        let ip_at = match (&self.ip_locator, request.ip) {
            (Some(locator), Some(ip)) => locator.locate(ip),
            _ => None,
        };
        set_distances(
            &mut features,
            request,
            ip_at,
            self.postal_centroids.as_deref(),
        );
        Ok(self.assess(request, &features))
    }

    /// The assessment of a payment with `features`.
    fn assess(&self, request: &PaymentRequest, features: &Features) -> Assessment {
        // Every share worth showing, put in words only once it is among those shown.
        let mut weighed: Vec<(f64, Source)> = Vec::new();
        let mut log_odds = match &self.model {
            Some(bound) => {
                // A model's columns are online features, so its row fits on the stack.
                let mut row = [f64::NAN; N_FEATURES];
                for (value, c) in row.iter_mut().zip(&bound.columns) {
                    *value = features.0[*c];
                }
                let p = bound.model.predict(&row[..bound.columns.len()]);
                for (c, share) in bound.columns.iter().zip(&p.contributions) {
                    weighed.push((*share, Source::Feature(*c)));
                }
                p.log_odds
            }
            None => (self.rules.base_rate / (1.0 - self.rules.base_rate)).ln(),
        };
        let mut blocked_by = None;
        for rule in self.rules.rules.iter().filter(|r| r.matches(features)) {
            match rule.effect {
                Effect::Add(points) => {
                    log_odds += points;
                    weighed.push((points, Source::Rule(rule)));
                }
                Effect::Block => {
                    if blocked_by.is_none() {
                        blocked_by = Some(rule.id.clone());
                    }
                }
            }
        }
        weighed.retain(|(share, _)| *share >= MIN_CONTRIBUTION);
        weighed.sort_by(|a, b| b.0.total_cmp(&a.0));
        weighed.truncate(MAX_REASONS);
        let mut reasons: Vec<Reason> = weighed
            .into_iter()
            .map(|(contribution, source)| match source {
                Source::Feature(c) => Reason {
                    code: FEATURES[c].name.to_string(),
                    text: format!("{}: {}", FEATURES[c].words, Shown(features.0[c])),
                    contribution,
                },
                Source::Rule(rule) => Reason {
                    code: rule.id.clone(),
                    text: rule.reason.clone(),
                    contribution,
                },
            })
            .collect();
        let probability = sigmoid(log_odds);
        let decision = match &blocked_by {
            Some(id) => {
                let rule = self.rules.rules.iter().find(|r| &r.id == id);
                reasons.insert(
                    0,
                    Reason {
                        code: id.clone(),
                        text: rule.map(|r| r.reason.clone()).unwrap_or_default(),
                        contribution: 0.0,
                    },
                );
                reasons.truncate(MAX_REASONS);
                Decision::Decline
            }
            None => self.decide(probability, request.three_ds),
        };
        Assessment {
            payment_id: request.payment_id.clone(),
            probability,
            decision,
            blocked_by,
            reasons,
        }
    }

    /// The decision for `probability`. In the challenge band a payment that already went
    /// through 3-D Secure is not challenged again: authenticated ones pass (the liability has
    /// shifted to the issuer), the others go to a reviewer.
    fn decide(&self, probability: f64, three_ds: Option<ThreeDs>) -> Decision {
        let t = &self.rules.thresholds;
        if probability >= t.decline {
            Decision::Decline
        } else if probability >= t.review {
            Decision::Review
        } else if probability >= t.challenge {
            match three_ds {
                None => Decision::Challenge,
                Some(ThreeDs::Authenticated) => Decision::Approve,
                Some(_) => Decision::Review,
            }
        } else {
            Decision::Approve
        }
    }
}

/// A feature value for people: whole numbers without decimals.
struct Shown(f64);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("unknown")
        } else if (v - v.round()).abs() < 1e-6 {
            if v.abs() < 9.0e15 {
                // Printed as an integer: `{:.0}` takes float printing's slow exact path, a
                // measurable share of every score's cost.
                write!(f, "{}", v.round() as i64)
            } else {
                write!(f, "{v:.0}")
            }
        } else {
            write!(f, "{v:.2}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::sample_json;

    fn scorer() -> Scorer {
        Scorer::new(RuleSet::builtin().expect("rules"), StateLimits::default())
    }

    fn request(edit: impl FnOnce(&mut serde_json::Value)) -> PaymentRequest {
        let mut v = sample_json();
        edit(&mut v);
        PaymentRequest::from_json(v.to_string().as_bytes()).expect("valid")
    }

    #[test]
    fn ordinary_payment_is_approved() {
        let a = scorer().score(&request(|_| {})).expect("score");
        assert_eq!(a.decision, Decision::Approve, "{a:?}");
        assert!(a.probability < 0.01);
    }

    #[test]
    fn exchange_rates_put_amounts_in_the_reference_currency_and_refuse_a_currency_without_one() {
        // 100,000 yen with 3-D Secure failed: past the rule's 1000 counted in yen, about 620
        // euros counted in euros.
        let yen = request(|v| {
            v["amount"] = serde_json::json!({"minor": 100_000, "currency": "JPY"});
            v["three_ds"] = "failed".into();
        });
        let a = scorer().score(&yen).expect("score");
        assert_eq!(a.blocked_by.as_deref(), Some("three-ds-failed-high-value"));
        let rates =
            ExchangeRates::from_yaml("rates.yaml", "reference: EUR\nrates: {JPY: 0.0062}\n")
                .expect("rates");
        let mut s = scorer();
        s.set_exchange_rates(Some(Arc::new(rates)));
        let a = s.score(&yen).expect("score");
        assert_eq!(a.blocked_by, None, "{a:?}");
        let e = s
            .score(&request(|v| v["amount"]["currency"] = "GBP".into()))
            .expect_err("no rate for GBP");
        assert_eq!(e.field, "amount.currency");
        assert_eq!(
            s.state().len(),
            6,
            "only the yen payment was counted: {e:?}"
        );
    }

    #[test]
    fn a_payment_is_converted_at_the_rates_of_its_own_time() {
        // 100,000 yen: 1,000 euros at the old day's 100 to the euro (blocked with 3-D Secure
        // failed), 625 at the new day's 160.
        let history = "Date,JPY,\n2026-03-02,160,\n2026-02-27,100,\n";
        let rates = ExchangeRates::from_ecb_csv("hist.csv", history).expect("rates");
        let mut s = scorer();
        s.set_exchange_rates(Some(Arc::new(rates)));
        let yen_at = |id: &str, time: &str| {
            request(|v| {
                v["payment_id"] = id.into();
                v["time"] = time.into();
                v["amount"] = serde_json::json!({"minor": 100_000, "currency": "JPY"});
                v["three_ds"] = "failed".into();
            })
        };
        let old = s
            .score(&yen_at("p-old", "2026-03-01T23:59:59Z"))
            .expect("old");
        assert_eq!(
            old.blocked_by.as_deref(),
            Some("three-ds-failed-high-value")
        );
        let new = s
            .score(&yen_at("p-new", "2026-03-02T00:00:00Z"))
            .expect("new");
        assert_eq!(new.blocked_by, None, "{new:?}");
    }

    #[test]
    fn card_testing_raises_the_score_with_a_reason() {
        let mut s = scorer();
        let mut last = None;
        for i in 0..7 {
            last = Some(
                s.score(&request(|v| {
                    v["time"] = format!("2026-03-01T12:00:0{i}Z").into();
                    v["payment_id"] = format!("pay_{i}").into();
                    v.as_object_mut().expect("object").remove("three_ds");
                }))
                .expect("score"),
            );
        }
        let a = last.expect("scored");
        assert_ne!(a.decision, Decision::Approve, "{a:?}");
        assert_eq!(a.reasons[0].code, "card-testing", "{a:?}");
        assert!(a.reasons[0].contribution > 2.0);
    }

    #[test]
    fn blocking_rule_declines_and_comes_first() {
        let a = scorer()
            .score(&request(|v| {
                v["three_ds"] = "failed".into();
                v["amount"]["minor"] = 150_000.into();
            }))
            .expect("score");
        assert_eq!(a.decision, Decision::Decline);
        assert_eq!(a.blocked_by.as_deref(), Some("three-ds-failed-high-value"));
        assert_eq!(a.reasons[0].code, "three-ds-failed-high-value");
    }

    #[test]
    fn challenge_band_respects_three_ds() {
        let s = scorer();
        let p = (s.rules.thresholds.challenge + s.rules.thresholds.review) / 2.0;
        assert_eq!(s.decide(p, None), Decision::Challenge);
        assert_eq!(s.decide(p, Some(ThreeDs::Authenticated)), Decision::Approve);
        assert_eq!(s.decide(p, Some(ThreeDs::Failed)), Decision::Review);
        assert_eq!(s.decide(0.999, None), Decision::Decline);
    }

    #[test]
    fn client_far_from_both_addresses_is_a_reason() {
        let berlin = serde_json::json!({"lat": 52.52, "lon": 13.405});
        let at_home = request(|v| {
            v["billing"]["location"] = berlin.clone();
            v["shipping"]["location"] = berlin.clone();
        });
        let far = |a: &Assessment| a.reasons.iter().any(|r| r.code == "ip-far-from-addresses");
        // Without an IP database the client's place is unknown: no distance, no reason.
        let a = scorer().score(&at_home).expect("score");
        assert!(!far(&a), "{a:?}");
        // The sample's IP address placed in Sydney: 16,000 km from Berlin.
        let mut s = scorer();
        let db = crate::ip_location::tests::database("192.0.2.0/24", -33.87, 151.21);
        s.set_ip_locator(Some(Arc::new(
            IpLocator::from_bytes("test.mmdb", db).expect("database"),
        )));
        let b = s.score(&at_home).expect("score");
        assert!(far(&b), "{b:?}");
        assert!(b.probability > a.probability);
        // Placed in Berlin itself: no reason.
        let mut s = scorer();
        let db = crate::ip_location::tests::database("192.0.2.0/24", 52.5, 13.4);
        s.set_ip_locator(Some(Arc::new(
            IpLocator::from_bytes("test.mmdb", db).expect("database"),
        )));
        let c = s.score(&at_home).expect("score");
        assert!(!far(&c), "{c:?}");
    }

    #[test]
    fn addresses_placed_by_postal_code_count_in_the_distance_rule() {
        let at_home = request(|v| {
            v["billing"]["postal_code"] = "10115".into();
            v["shipping"]["postal_code"] = "10 115".into();
        });
        let far = |a: &Assessment| a.reasons.iter().any(|r| r.code == "ip-far-from-addresses");
        let db = crate::ip_location::tests::database("192.0.2.0/24", -33.87, 151.21);
        let mut s = scorer();
        s.set_ip_locator(Some(Arc::new(
            IpLocator::from_bytes("test.mmdb", db).expect("database"),
        )));
        // The client is in Sydney, but without centroids the addresses are nowhere.
        let a = s.score(&at_home).expect("score");
        assert!(!far(&a), "{a:?}");
        let centroids = PostalCentroids::from_reader(
            "postal.txt",
            "DE\t10115\tBerlin\t\t\t\t\t\t\t52.52\t13.405\t4\n".as_bytes(),
        )
        .expect("centroids");
        s.set_postal_centroids(Some(Arc::new(centroids)));
        let b = s.score(&at_home).expect("score");
        assert!(far(&b), "{b:?}");
    }

    #[test]
    fn feature_values_are_shown_as_people_write_them() {
        let shown = |v: f64| Shown(v).to_string();
        assert_eq!(shown(3.0), "3");
        assert_eq!(shown(2.999_999_9), "3");
        assert_eq!(shown(-4.0), "-4");
        assert_eq!(shown(1.5), "1.50");
        assert_eq!(shown(0.125), "0.12");
        assert_eq!(shown(f64::NAN), "unknown");
        assert_eq!(shown(1e20), "100000000000000000000");
    }

    #[test]
    fn invalid_request_is_an_error_not_a_score() {
        let mut r = request(|_| {});
        r.amount.currency = "ZZZ".into();
        let e = scorer().score(&r).expect_err("bad currency");
        assert_eq!(e.field, "amount.currency");
    }
}
