//! What a payment provider asks us to score: one card-not-present authorisation, before it is
//! sent to the issuer. Decoded strictly (unknown keys are errors) and validated field by field.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ensuresec_model::event::{GeoPoint, Money, PaymentAuthorization};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::currency::minor_exponent;
use crate::error::InputError;
use crate::geo::validate as validate_point;

/// Longest identifier, hash or fingerprint accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Largest amount accepted, in minor units (a billion major units of a two-decimal currency):
/// anything above is a mistake, not a payment.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000;
/// Oldest account age accepted, in days (a century).
pub const MAX_ACCOUNT_AGE_DAYS: u32 = 36_500;
/// A BIN as the request's JSON Schema states it (the published API document).
const BIN_PATTERN: &str = "^[0-9]{6,8}$";
/// An ISO 3166-1 alpha-2 code as the request's JSON Schema states it.
const COUNTRY_PATTERN: &str = "^[A-Z]{2}$";
/// A postal code as the request's JSON Schema states it (see [`crate::postal`]).
const POSTAL_CODE_PATTERN: &str = "^ *[0-9A-Za-z-][0-9A-Za-z -]*$";

/// The card used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PaymentCard")]
pub struct Card {
    /// A stable fingerprint of the card number (never the number), at most 256 bytes.
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub fingerprint: String,
    /// The card's first six or eight digits.
    #[schemars(pattern(BIN_PATTERN))]
    pub bin: String,
    /// Issuing country of the BIN (ISO 3166-1 alpha-2), when the provider knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(COUNTRY_PATTERN))]
    pub country: Option<String>,
}

/// A postal address, reduced to what scoring needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PaymentAddress")]
pub struct Address {
    /// ISO 3166-1 alpha-2 country code.
    #[schemars(pattern(COUNTRY_PATTERN))]
    pub country: String,
    /// A hash of the normalised full address (never the address itself), at most 256 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub hash: Option<String>,
    /// Where the address is, as the shop's or provider's geocoder placed it: the distance
    /// features need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// The postal code: placed at its centroid (see [`crate::postal`]) when `location` is
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(POSTAL_CODE_PATTERN), length(max = crate::postal::MAX_POSTAL_CODE_BYTES))]
    pub postal_code: Option<String>,
}

/// The customer account, for shops with accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PaymentAccount")]
pub struct Account {
    /// The shop's account id, at most 256 bytes.
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub id: String,
    /// Days since the account was opened.
    #[schemars(range(max = MAX_ACCOUNT_AGE_DAYS))]
    pub age_days: u32,
}

/// Result of 3-D Secure authentication, when it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThreeDs {
    /// The cardholder authenticated: liability shifts to the issuer.
    Authenticated,
    /// Attempted, the issuer did not take part.
    Attempted,
    /// The cardholder failed the challenge.
    Failed,
    /// The card is not enrolled.
    NotEnrolled,
    /// The directory server or issuer was unavailable.
    Unavailable,
}

/// One payment authorisation to score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// The provider's payment id, at most 256 bytes.
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub payment_id: String,
    /// When the customer asked to pay (event time: the scorer never reads a clock).
    pub time: DateTime<Utc>,
    /// Amount asked for, in minor units (1 to 10¹¹), with its ISO 4217 currency.
    #[schemars(schema_with = "crate::request_schema::amount")]
    pub amount: Money,
    /// The merchant (shop) being paid, at most 256 bytes.
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub merchant: String,
    /// The card.
    pub card: Card,
    /// Billing address of the card.
    pub billing: Address,
    /// Shipping address, for physical goods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Address>,
    /// Client IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::request_schema::optional_ip")]
    pub ip: Option<IpAddr>,
    /// Country of the client IP (ISO 3166-1 alpha-2), when the provider resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(COUNTRY_PATTERN))]
    pub ip_country: Option<String>,
    /// Device identifier (fingerprint of the browser or app install), at most 256 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub device: Option<String>,
    /// A hash of the customer's e-mail address, at most 256 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_ID_BYTES))]
    pub email_hash: Option<String>,
    /// The customer account, if the shop has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// 3-D Secure result, when authentication ran before scoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_ds: Option<ThreeDs>,
}

impl PaymentRequest {
    /// Decodes one request from JSON: missing fields, unknown keys and wrong types are errors
    /// naming the field, then [`PaymentRequest::validate`] checks values.
    pub fn from_json(bytes: &[u8]) -> Result<PaymentRequest, InputError> {
        let request: PaymentRequest = serde_json::from_slice(bytes).map_err(|e| {
            let message = e.to_string();
            let field = field_of(&message).unwrap_or("body").to_string();
            InputError::new(field, message)
        })?;
        request.validate()?;
        Ok(request)
    }

    /// Checks every value: lengths, codes, amount and bounds. Returns the first problem.
    pub fn validate(&self) -> Result<(), InputError> {
        id("payment_id", &self.payment_id)?;
        id("merchant", &self.merchant)?;
        id("card.fingerprint", &self.card.fingerprint)?;
        let bin = &self.card.bin;
        if !(6..=8).contains(&bin.len()) || !bin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::new("card.bin", "must be six to eight digits"));
        }
        optional_country("card.country", self.card.country.as_deref())?;
        country("billing.country", &self.billing.country)?;
        optional_id("billing.hash", self.billing.hash.as_deref())?;
        if let Some(at) = self.billing.location {
            validate_point("billing.location", at)?;
        }
        postal_code("billing.postal_code", self.billing.postal_code.as_deref())?;
        if let Some(s) = &self.shipping {
            country("shipping.country", &s.country)?;
            optional_id("shipping.hash", s.hash.as_deref())?;
            if let Some(at) = s.location {
                validate_point("shipping.location", at)?;
            }
            postal_code("shipping.postal_code", s.postal_code.as_deref())?;
        }
        optional_country("ip_country", self.ip_country.as_deref())?;
        optional_id("device", self.device.as_deref())?;
        optional_id("email_hash", self.email_hash.as_deref())?;
        if let Some(a) = &self.account {
            id("account.id", &a.id)?;
            if a.age_days > MAX_ACCOUNT_AGE_DAYS {
                return Err(InputError::new(
                    "account.age_days",
                    format!("{} is over the limit of {MAX_ACCOUNT_AGE_DAYS}", a.age_days),
                ));
            }
        }
        if minor_exponent(&self.amount.currency).is_none() {
            return Err(InputError::new(
                "amount.currency",
                format!(
                    "`{}` is not an ISO 4217 currency in use",
                    self.amount.currency
                ),
            ));
        }
        if self.amount.minor <= 0 || self.amount.minor > MAX_AMOUNT_MINOR {
            return Err(InputError::new(
                "amount.minor",
                format!(
                    "{} is outside 1..={MAX_AMOUNT_MINOR} minor units",
                    self.amount.minor
                ),
            ));
        }
        Ok(())
    }

    /// Checks the payment's time against the receiving clock: not before 1990, nor more than
    /// `max_ahead_seconds` ahead of `now` ([`ensuresec_model::check_time`]). Scoring itself
    /// reads no clock, so whoever has one calls this first: a payment dated ahead is counted
    /// at its own time, and until then its card, device, address… keep every later payment
    /// at full weight, as if all had come at once.
    pub fn check_time(&self, now: DateTime<Utc>, max_ahead_seconds: i64) -> Result<(), InputError> {
        ensuresec_model::check_time(self.time, now, max_ahead_seconds)
            .map_err(|message| InputError::new("time", message))
    }

    /// The request a `payment_authorization` event of the pipeline stands for, at the event's
    /// `time`. The event's optional merchant, BIN and billing country are required here (the
    /// error names the missing `data.…` field): a payment is never scored on invented values.
    pub fn from_authorization(
        time: DateTime<Utc>,
        p: &PaymentAuthorization,
    ) -> Result<PaymentRequest, InputError> {
        fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, InputError> {
            value
                .as_deref()
                .ok_or_else(|| InputError::new(field, "is needed to score the payment"))
        }
        let three_ds = p
            .three_ds
            .as_deref()
            .map(|t| {
                serde_json::from_value(serde_json::Value::String(t.to_string())).map_err(|_| {
                    InputError::new("data.three_ds", format!("`{t}` is not a 3-D Secure result"))
                })
            })
            .transpose()?;
        let request = PaymentRequest {
            payment_id: p.payment_id.clone(),
            time,
            amount: p.amount.clone(),
            merchant: required("data.merchant", &p.merchant)?.to_string(),
            card: Card {
                fingerprint: p.card_fingerprint.clone(),
                bin: required("data.bin", &p.bin)?.to_string(),
                country: p.card_country.clone(),
            },
            billing: Address {
                country: required("data.billing_country", &p.billing_country)?.to_string(),
                hash: None,
                location: p.billing_location,
                postal_code: p.billing_postal_code.clone(),
            },
            shipping: p.shipping_country.as_ref().map(|country| Address {
                country: country.clone(),
                hash: p.shipping_address_hash.clone(),
                location: p.shipping_location,
                postal_code: p.shipping_postal_code.clone(),
            }),
            ip: p.ip,
            ip_country: p.ip_country.clone(),
            device: p.device.clone(),
            email_hash: p.email_hash.clone(),
            account: p.account.as_ref().and_then(|id| {
                p.account_age_days.map(|age_days| Account {
                    id: id.clone(),
                    age_days,
                })
            }),
            three_ds,
        };
        request.validate()?;
        Ok(request)
    }

    /// The amount in major units of its currency (validated requests only).
    pub fn amount_major(&self) -> f64 {
        crate::currency::major_units(&self.amount)
    }
}

/// The field a serde message names (`missing field `x``, `unknown field `x``), if any.
fn field_of(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next()
}

fn id(field: &str, value: &str) -> Result<(), InputError> {
    if value.is_empty() {
        return Err(InputError::new(field, "must not be empty"));
    }
    if value.len() > MAX_ID_BYTES {
        return Err(InputError::new(
            field,
            format!("is over the limit of {MAX_ID_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn optional_id(field: &str, value: Option<&str>) -> Result<(), InputError> {
    value.map_or(Ok(()), |v| id(field, v))
}

fn postal_code(field: &str, value: Option<&str>) -> Result<(), InputError> {
    let Some(v) = value else { return Ok(()) };
    let fits = !v.trim().is_empty()
        && v.len() <= crate::postal::MAX_POSTAL_CODE_BYTES
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
    if fits {
        Ok(())
    } else {
        Err(InputError::new(
            field,
            format!(
                "must be 1 to {} letters, digits, spaces or hyphens",
                crate::postal::MAX_POSTAL_CODE_BYTES
            ),
        ))
    }
}

fn country(field: &str, value: &str) -> Result<(), InputError> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(InputError::new(
            field,
            format!("`{value}` is not an ISO 3166-1 alpha-2 code (two upper-case letters)"),
        ))
    }
}

fn optional_country(field: &str, value: Option<&str>) -> Result<(), InputError> {
    value.map_or(Ok(()), |v| country(field, v))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid request, as JSON, for tests to change.
    pub(crate) fn sample_json() -> serde_json::Value {
        serde_json::json!({
            "payment_id": "pay_1",
            "time": "2026-03-01T12:00:00Z",
            "amount": {"minor": 12_345, "currency": "EUR"},
            "merchant": "shop-1",
            "card": {"fingerprint": "fp_1", "bin": "424242", "country": "DE"},
            "billing": {"country": "DE", "hash": "b1"},
            "shipping": {"country": "DE", "hash": "s1"},
            "ip": "192.0.2.1",
            "ip_country": "DE",
            "device": "dev_1",
            "email_hash": "e1",
            "account": {"id": "acc_1", "age_days": 400},
            "three_ds": "authenticated"
        })
    }

    fn decode(v: &serde_json::Value) -> Result<PaymentRequest, InputError> {
        PaymentRequest::from_json(v.to_string().as_bytes())
    }

    #[test]
    fn valid_request_decodes() {
        let r = decode(&sample_json()).expect("valid");
        assert!((r.amount_major() - 123.45).abs() < 1e-9);
    }

    #[test]
    fn missing_field_is_named() {
        let mut v = sample_json();
        v.as_object_mut().expect("object").remove("merchant");
        assert_eq!(decode(&v).expect_err("missing").field, "merchant");
    }

    #[test]
    fn unknown_field_is_named() {
        let mut v = sample_json();
        v["colour"] = "red".into();
        assert_eq!(decode(&v).expect_err("unknown").field, "colour");
    }

    #[test]
    fn bad_values_are_named() {
        let cases: [(&str, serde_json::Value, &str); 6] = [
            ("/amount/currency", "EURO".into(), "amount.currency"),
            ("/amount/currency", "XYZ".into(), "amount.currency"),
            ("/amount/minor", 0.into(), "amount.minor"),
            (
                "/amount/minor",
                (MAX_AMOUNT_MINOR + 1).into(),
                "amount.minor",
            ),
            ("/card/bin", "42x242".into(), "card.bin"),
            ("/billing/country", "Germany".into(), "billing.country"),
        ];
        for (pointer, value, field) in cases {
            let mut v = sample_json();
            *v.pointer_mut(pointer).expect("pointer") = value;
            assert_eq!(decode(&v).expect_err(pointer).field, field, "{pointer}");
        }
    }

    #[test]
    fn a_time_ahead_of_the_clock_or_before_1990_is_named() {
        let r = decode(&sample_json()).expect("valid"); // 2026-03-01T12:00:00Z
        let now: DateTime<Utc> = "2026-03-01T11:55:00Z".parse().expect("time");
        assert_eq!(r.check_time(now, 300), Ok(()), "exactly at the limit");
        let e = r.check_time(now, 299).expect_err("a second over");
        assert_eq!(e.field, "time");
        assert!(e.message.contains("299 s ahead"), "{e:?}");
        let later: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().expect("time");
        assert_eq!(r.check_time(later, 0), Ok(()), "the past is not refused");
        let mut v = sample_json();
        v["time"] = "1989-12-31T23:59:59Z".into();
        let old = decode(&v).expect("valid until checked against the clock");
        let e = old.check_time(now, 300).expect_err("before 1990");
        assert_eq!(e.field, "time");
        assert!(e.message.contains("before 1990"), "{e:?}");
    }

    fn authorization() -> PaymentAuthorization {
        serde_json::from_value(serde_json::json!({
            "payment_id": "pay_9", "card_fingerprint": "fp_9",
            "amount": {"minor": 5_000, "currency": "EUR"}, "outcome": "approved",
            "bin": "424242", "merchant": "shop-1", "billing_country": "DE",
            "shipping_country": "FR", "shipping_address_hash": "s9", "account": "acc_9",
            "account_age_days": 3, "three_ds": "failed", "ip": "192.0.2.9"
        }))
        .expect("authorization")
    }

    #[test]
    fn authorization_event_becomes_a_request() {
        let time = "2026-03-01T12:00:00Z".parse().expect("time");
        let r = PaymentRequest::from_authorization(time, &authorization()).expect("request");
        assert_eq!(r.billing.country, "DE");
        assert_eq!(r.shipping.as_ref().map(|s| s.country.as_str()), Some("FR"));
        assert_eq!(r.account.as_ref().map(|a| a.age_days), Some(3));
        assert_eq!(r.three_ds, Some(ThreeDs::Failed));
        assert_eq!(r.time, time);
        assert_eq!(r.billing.postal_code, None);
        let mut a = authorization();
        a.billing_postal_code = Some("10115".into());
        a.shipping_postal_code = Some("75001".into());
        let r = PaymentRequest::from_authorization(time, &a).expect("request");
        assert_eq!(r.billing.postal_code.as_deref(), Some("10115"));
        assert_eq!(
            r.shipping.and_then(|s| s.postal_code).as_deref(),
            Some("75001")
        );
        a.shipping_postal_code = Some("75001; DROP".into());
        let e = PaymentRequest::from_authorization(time, &a).expect_err("bad postal code");
        assert_eq!(e.field, "shipping.postal_code");
    }

    #[test]
    fn authorization_locations_place_its_addresses() {
        let time = "2026-03-01T12:00:00Z".parse().expect("time");
        let mut a = authorization();
        let berlin = GeoPoint {
            lat: 52.52,
            lon: 13.405,
        };
        let paris = GeoPoint {
            lat: 48.857,
            lon: 2.352,
        };
        a.billing_location = Some(berlin);
        a.shipping_location = Some(paris);
        let r = PaymentRequest::from_authorization(time, &a).expect("request");
        assert_eq!(r.billing.location, Some(berlin));
        let shipping = r.shipping.as_ref().expect("shipping");
        assert_eq!(shipping.location, Some(paris));
        // Placed without postal centroids: the distance features have both ends.
        let (from, to) = (
            crate::geo::place(&r.billing, None).expect("billing placed"),
            crate::geo::place(shipping, None).expect("shipping placed"),
        );
        let km = crate::geo::haversine_km(from, to);
        assert!((870.0..890.0).contains(&km), "Berlin to Paris: {km} km");
        a.billing_location = Some(GeoPoint {
            lat: 91.0,
            lon: 0.0,
        });
        let e = PaymentRequest::from_authorization(time, &a).expect_err("off the globe");
        assert_eq!(e.field, "billing.location.lat");
    }

    #[test]
    fn authorization_without_needed_fields_is_refused_naming_them() {
        let time = "2026-03-01T12:00:00Z".parse().expect("time");
        let mut a = authorization();
        a.billing_country = None;
        let e = PaymentRequest::from_authorization(time, &a).expect_err("no billing");
        assert_eq!(e.field, "data.billing_country");
        let mut a = authorization();
        a.three_ds = Some("maybe".into());
        let e = PaymentRequest::from_authorization(time, &a).expect_err("bad 3ds");
        assert_eq!(e.field, "data.three_ds");
        let mut a = authorization();
        a.amount.currency = "ZZZ".into();
        let e = PaymentRequest::from_authorization(time, &a).expect_err("bad currency");
        assert_eq!(e.field, "amount.currency");
    }

    #[test]
    fn address_locations_are_read_and_checked() {
        let mut v = sample_json();
        v["billing"]["location"] = serde_json::json!({"lat": 52.52, "lon": 13.405});
        let r = decode(&v).expect("valid");
        assert_eq!(r.billing.location.map(|l| l.lat), Some(52.52));
        v["shipping"]["location"] = serde_json::json!({"lat": 48.8, "lon": 200.0});
        assert_eq!(decode(&v).expect_err("lon").field, "shipping.location.lon");
        v["shipping"]["location"] = serde_json::json!({"lat": 48.8});
        assert!(decode(&v).is_err(), "a location needs both coordinates");
    }

    #[test]
    fn overlong_ids_are_refused() {
        let mut v = sample_json();
        v["device"] = "d".repeat(MAX_ID_BYTES + 1).into();
        assert_eq!(decode(&v).expect_err("long").field, "device");
    }
}
