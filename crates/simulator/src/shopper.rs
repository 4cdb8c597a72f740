//! A genuine customer's visit: landing, browsing, searching, logging in, buying.

use std::collections::VecDeque;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::event::{
    AuthAction, AuthEvent, AuthOutcome, Money, OrderEvent, OrderStatus, PaymentAuthorization,
    PaymentOutcome,
};
use ensuresec_model::{Event, EventData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::actors::{Actor, Ctx, Step, event, exp, fingerprint, ms, request};
use crate::delivery::Parcel;
use crate::payloads::url_encode;

enum Visit {
    Land,
    Browse,
    Search,
    Login { typo: bool },
    AddToBasket,
    Checkout,
}

/// One visitor's session, planned at arrival and played step by step.
pub(crate) struct Shopper {
    ip: IpAddr,
    ua: String,
    device: String,
    session: String,
    customer: Option<u32>,
    logged_in: bool,
    basket: Vec<(usize, u32)>,
    plan: VecDeque<Visit>,
    order_no: u64,
}

impl Shopper {
    pub(crate) fn arrive(rng: &mut ChaCha8Rng, ctx: &Ctx, id: u64) -> Shopper {
        let b = &ctx.profile.behaviour;
        let customer = rng
            .random_bool(b.returning_customer)
            .then(|| rng.random_range(1..=ctx.profile.shop.customers));
        let device = match customer {
            Some(c) => fingerprint(&["device", &c.to_string(), &(id % 2).to_string()]),
            None => fingerprint(&["device", &id.to_string()]),
        };
        let mut plan = VecDeque::from([Visit::Land]);
        let pages = 1 + exp(rng, b.pages_per_session_mean - 1.0).round() as usize;
        for _ in 1..pages.min(60) {
            plan.push_back(Visit::Browse);
        }
        if rng.random_bool(b.search) {
            let at = rng.random_range(1..=plan.len());
            plan.insert(at, Visit::Search);
        }
        if customer.is_some() && rng.random_bool(b.login_when_returning) {
            let at = rng.random_range(1..=plan.len());
            plan.insert(
                at,
                Visit::Login {
                    typo: rng.random_bool(b.login_typo),
                },
            );
        }
        if rng.random_bool(b.add_to_basket) {
            plan.push_back(Visit::AddToBasket);
            if rng.random_bool(0.3) {
                plan.push_back(Visit::AddToBasket);
            }
            if rng.random_bool(b.checkout_after_basket) {
                plan.push_back(Visit::Checkout);
            }
        }
        Shopper {
            ip: ctx.customer_ip(rng),
            ua: ctx.user_agent(rng),
            device,
            session: fingerprint(&["session", &id.to_string()]),
            customer,
            logged_in: false,
            basket: vec![],
            plan,
            order_no: id,
        }
    }

    fn account(&self) -> Option<String> {
        self.customer.map(|c| format!("c{c:05}"))
    }

    fn http(&self, ctx: &Ctx, now: DateTime<Utc>, method: &str, path: &str, status: u16) -> Event {
        let mut r = request(ctx, self.ip, method, path, &self.ua);
        r.status = Some(status);
        r.session = Some(self.session.clone());
        r.device = Some(self.device.clone());
        r.account = if self.logged_in { self.account() } else { None };
        r.bytes_sent = Some(if method == "GET" { 18_000 } else { 900 });
        event(now, "shop-proxy", None, EventData::HttpRequest(r))
    }

    pub(crate) fn step(&mut self, now: DateTime<Utc>, rng: &mut ChaCha8Rng, ctx: &Ctx) -> Step {
        let Some(visit) = self.plan.pop_front() else {
            return Step::done(vec![]);
        };
        let shop = &ctx.profile.shop;
        let mut events = Vec::new();
        let mut spawn = Vec::new();
        match visit {
            Visit::Land => {
                let path = if rng.random_bool(0.5) {
                    "/".to_string()
                } else {
                    format!(
                        "/product/{}",
                        shop.products[rng.random_range(0..shop.products.len())].slug
                    )
                };
                events.push(self.http(ctx, now, "GET", &path, 200));
                for asset in &shop.static_assets {
                    events.push(self.http(ctx, now, "GET", asset, 200));
                }
            }
            Visit::Browse => {
                if rng.random_bool(ctx.profile.behaviour.not_found) {
                    events.push(self.http(ctx, now, "GET", "/product/discontinued-item", 404));
                } else if rng.random_bool(0.3) {
                    let p = &shop.products[rng.random_range(0..shop.products.len())];
                    events.push(self.http(
                        ctx,
                        now,
                        "GET",
                        &format!("/category/{}", p.category),
                        200,
                    ));
                } else {
                    let p = &shop.products[rng.random_range(0..shop.products.len())];
                    events.push(self.http(ctx, now, "GET", &format!("/product/{}", p.slug), 200));
                }
            }
            Visit::Search => {
                let term = &shop.search_terms[rng.random_range(0..shop.search_terms.len())];
                let mut e = self.http(ctx, now, "GET", "/search", 200);
                if let EventData::HttpRequest(r) = &mut e.data {
                    r.query = Some(format!("q={}", url_encode(term)));
                }
                events.push(e);
            }
            Visit::Login { typo } => {
                let account = self.account().unwrap_or_default();
                let ok = !typo;
                let mut e = self.http(ctx, now, "POST", "/login", if ok { 302 } else { 401 });
                if let EventData::HttpRequest(r) = &mut e.data {
                    r.body = Some(format!("username={account}&password=********"));
                }
                events.push(e);
                events.push(event(
                    now,
                    "shop-app",
                    None,
                    EventData::Auth(AuthEvent {
                        account,
                        ip: self.ip,
                        action: AuthAction::Login,
                        outcome: if ok {
                            AuthOutcome::Success
                        } else {
                            AuthOutcome::Failure
                        },
                        reason: (!ok).then(|| "bad_password".to_string()),
                        device: Some(self.device.clone()),
                        user_agent: Some(self.ua.clone()),
                    }),
                ));
                if ok {
                    self.logged_in = true;
                } else {
                    self.plan.push_front(Visit::Login { typo: false });
                }
            }
            Visit::AddToBasket => {
                let index = rng.random_range(0..shop.products.len());
                let qty = if rng.random_bool(0.8) {
                    1
                } else {
                    rng.random_range(2..=4)
                };
                self.basket.push((index, qty));
                let mut e = self.http(ctx, now, "POST", "/cart/add", 200);
                if let EventData::HttpRequest(r) = &mut e.data {
                    r.body = Some(format!("product={}&qty={qty}", shop.products[index].slug));
                }
                events.push(e);
            }
            Visit::Checkout => {
                let total: i64 = self
                    .basket
                    .iter()
                    .map(|(i, q)| shop.products[*i].price_minor * i64::from(*q))
                    .sum();
                let cold = self
                    .basket
                    .iter()
                    .any(|(i, _)| shop.products[*i].cold_chain);
                let order_id = format!("o{}", 100_000 + self.order_no);
                let money = Money {
                    minor: total,
                    currency: shop.currency.clone(),
                };
                events.push(self.http(ctx, now, "POST", "/checkout", 200));
                let order = |status| OrderEvent {
                    order_id: order_id.clone(),
                    status,
                    account: self.account(),
                    ip: Some(self.ip),
                    device: Some(self.device.clone()),
                    total: Some(money.clone()),
                    items: Some(self.basket.iter().map(|(_, q)| *q).sum()),
                    shipping_address_hash: Some(fingerprint(&[
                        "address",
                        &self.account().unwrap_or_else(|| self.session.clone()),
                    ])),
                };
                events.push(event(
                    now,
                    "shop-app",
                    None,
                    EventData::Order(order(OrderStatus::Created)),
                ));
                let declined = rng.random_bool(ctx.profile.behaviour.payment_decline);
                let card_owner = self.account().unwrap_or_else(|| self.session.clone());
                events.push(event(
                    now,
                    "psp",
                    None,
                    EventData::PaymentAuthorization(PaymentAuthorization {
                        payment_id: format!("pay_{}", fingerprint(&["payment", &order_id])),
                        card_fingerprint: fingerprint(&["card", &card_owner]),
                        amount: money.clone(),
                        outcome: if declined {
                            PaymentOutcome::Declined
                        } else {
                            PaymentOutcome::Approved
                        },
                        order_id: Some(order_id.clone()),
                        account: self.account(),
                        bin: Some(
                            ["414720", "535522", "492181", "374245"][rng.random_range(0..4)]
                                .to_string(),
                        ),
                        merchant: Some(shop.host.clone()),
                        ip: Some(self.ip),
                        device: Some(self.device.clone()),
                        email_hash: Some(fingerprint(&["email", &card_owner])),
                        decline_code: declined.then(|| "51".to_string()),
                        three_ds: Some("authenticated".into()),
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
                if !declined {
                    events.push(event(
                        now,
                        "shop-app",
                        None,
                        EventData::Order(order(OrderStatus::Paid)),
                    ));
                    let delay = Duration::minutes(rng.random_range(60..240));
                    spawn.push((delay, Actor::Parcel(Parcel::new(rng, ctx, &order_id, cold))));
                }
                self.basket.clear();
            }
        }
        let think = ms(exp(rng, ctx.profile.behaviour.think_time_seconds_mean) * 1000.0);
        Step {
            events,
            next: (!self.plan.is_empty()).then_some(think),
            spawn,
        }
    }
}
