//! Attack campaigns: what an attacker's traffic looks like, labelled with the truth.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ensuresec_model::EventData;
use ensuresec_model::event::{
    AuthAction, AuthEvent, AuthOutcome, Money, PaymentAuthorization, PaymentOutcome,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::AttackKind;
use crate::actors::{Ctx, Step, event, fingerprint, ms, request};
use crate::payloads::{SQLI, TOOL_AGENTS, XSS, url_encode};

/// One attack campaign in progress.
pub(crate) struct Campaign {
    kind: AttackKind,
    remaining: u32,
    interval: [f64; 2],
    ips: Vec<IpAddr>,
    ua: String,
    device: String,
    id: u64,
    sent: u32,
}

fn between(rng: &mut ChaCha8Rng, range: [u32; 2]) -> u32 {
    rng.random_range(range[0]..=range[1].max(range[0]))
}

impl Campaign {
    pub(crate) fn start(kind: AttackKind, rng: &mut ChaCha8Rng, ctx: &Ctx, id: u64) -> Campaign {
        let a = &ctx.profile.attacks;
        let (count, interval, addresses) = match kind {
            AttackKind::Sqli => (between(rng, a.sqli.requests), a.sqli.interval_seconds, 1),
            AttackKind::Xss => (between(rng, a.xss.requests), a.xss.interval_seconds, 1),
            AttackKind::CredentialStuffing => (
                between(rng, a.credential_stuffing.attempts),
                a.credential_stuffing.interval_seconds,
                between(rng, a.credential_stuffing.addresses).max(1),
            ),
            AttackKind::CardTesting => (
                between(rng, a.card_testing.attempts),
                a.card_testing.interval_seconds,
                1,
            ),
        };
        let ua = match kind {
            AttackKind::Sqli | AttackKind::Xss => {
                TOOL_AGENTS[rng.random_range(0..TOOL_AGENTS.len())].to_string()
            }
            _ => ctx.user_agent(rng),
        };
        Campaign {
            kind,
            remaining: count.max(1),
            interval,
            ips: (0..addresses).map(|_| ctx.hosting_ip(rng)).collect(),
            ua,
            device: fingerprint(&["attacker-device", &id.to_string()]),
            id,
            sent: 0,
        }
    }

    pub(crate) fn step(&mut self, now: DateTime<Utc>, rng: &mut ChaCha8Rng, ctx: &Ctx) -> Step {
        let truth = Some(self.kind.truth());
        let ip = self.ips[self.sent as usize % self.ips.len()];
        let shop = &ctx.profile.shop;
        let mut events = Vec::new();
        match self.kind {
            AttackKind::Sqli | AttackKind::Xss => {
                let payloads = if self.kind == AttackKind::Sqli {
                    SQLI
                } else {
                    XSS
                };
                let payload = payloads[rng.random_range(0..payloads.len())];
                let mut r = request(ctx, ip, "GET", "/search", &self.ua);
                match rng.random_range(0..3) {
                    0 => r.query = Some(format!("q={}", url_encode(payload))),
                    1 => {
                        r.path = "/product".into();
                        r.query = Some(format!("id={}", url_encode(payload)));
                    }
                    _ => {
                        r.method = "POST".into();
                        r.path = format!(
                            "/product/{}/review",
                            shop.products[rng.random_range(0..shop.products.len())].slug
                        );
                        r.body = Some(format!("rating=5&comment={}", url_encode(payload)));
                    }
                }
                r.status = Some([200, 200, 403, 500, 400][rng.random_range(0..5)]);
                events.push(event(now, "shop-proxy", truth, EventData::HttpRequest(r)));
            }
            AttackKind::CredentialStuffing => {
                let known = rng.random_bool(0.3);
                let account = if known {
                    format!("c{:05}", rng.random_range(1..=shop.customers))
                } else {
                    format!(
                        "{}@mail.example",
                        fingerprint(&["leak", &self.id.to_string(), &self.sent.to_string()])
                    )
                };
                let ok =
                    known && rng.random_bool(ctx.profile.attacks.credential_stuffing.success_ratio);
                let mut r = request(ctx, ip, "POST", "/login", &self.ua);
                r.status = Some(if ok { 302 } else { 401 });
                r.body = Some(format!(
                    "username={}&password=********",
                    url_encode(&account)
                ));
                events.push(event(now, "shop-proxy", truth, EventData::HttpRequest(r)));
                events.push(event(
                    now,
                    "shop-app",
                    truth,
                    EventData::Auth(AuthEvent {
                        account,
                        ip,
                        action: AuthAction::Login,
                        outcome: if ok {
                            AuthOutcome::Success
                        } else {
                            AuthOutcome::Failure
                        },
                        reason: (!ok).then(|| {
                            if known {
                                "bad_password"
                            } else {
                                "unknown_account"
                            }
                            .to_string()
                        }),
                        device: None,
                        user_agent: Some(self.ua.clone()),
                    }),
                ));
            }
            AttackKind::CardTesting => {
                let declined = rng.random_bool(ctx.profile.attacks.card_testing.decline_ratio);
                let mut r = request(ctx, ip, "POST", "/checkout", &self.ua);
                r.device = Some(self.device.clone());
                r.status = Some(if declined { 402 } else { 200 });
                events.push(event(now, "shop-proxy", truth, EventData::HttpRequest(r)));
                let card =
                    fingerprint(&["stolen-card", &self.id.to_string(), &self.sent.to_string()]);
                events.push(event(
                    now,
                    "psp",
                    truth,
                    EventData::PaymentAuthorization(PaymentAuthorization {
                        payment_id: format!("pay_{}", fingerprint(&["ct", &card])),
                        card_fingerprint: card,
                        amount: Money {
                            minor: rng.random_range(50..400),
                            currency: shop.currency.clone(),
                        },
                        outcome: if declined {
                            PaymentOutcome::Declined
                        } else {
                            PaymentOutcome::Approved
                        },
                        order_id: None,
                        account: None,
                        bin: Some(
                            ["414720", "440066", "523236", "455673"][rng.random_range(0..4)]
                                .to_string(),
                        ),
                        merchant: Some(shop.host.clone()),
                        ip: Some(ip),
                        device: Some(self.device.clone()),
                        email_hash: Some(fingerprint(&[
                            "email",
                            "throwaway",
                            &self.id.to_string(),
                        ])),
                        decline_code: declined
                            .then(|| ["05", "14", "54", "51"][rng.random_range(0..4)].to_string()),
                        three_ds: Some("not_enrolled".into()),
                        billing_country: None,
                        card_country: None,
                        ip_country: None,
                        shipping_country: None,
                        shipping_address_hash: None,
                        account_age_days: None,
                        billing_postal_code: None,
                        shipping_postal_code: None,
                        billing_location: None,
                        shipping_location: None,
                    }),
                ));
            }
        }
        self.sent += 1;
        self.remaining -= 1;
        let gap = rng.random_range(self.interval[0]..=self.interval[1].max(self.interval[0]));
        if self.remaining == 0 {
            Step::done(events)
        } else {
            Step::again(events, ms(gap * 1000.0))
        }
    }
}
