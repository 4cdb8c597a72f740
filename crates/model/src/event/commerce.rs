//! Orders, card payments and chargebacks: where card testing, stolen cards and refund abuse show.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Entities, GeoPoint, name};
use crate::entity::{EntityKind, EntityRef};

/// An amount of money in minor units (cents), so that no float ever rounds a price.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in the currency's minor unit (e.g. cents); negative only for refunds.
    pub minor: i64,
    /// ISO 4217 code, three upper-case letters, e.g. `EUR`.
    pub currency: String,
}

/// The steps of an order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Basket turned into an order.
    Created,
    /// Payment captured.
    Paid,
    /// Cancelled before shipping.
    Cancelled,
    /// Handed to a carrier.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// Money returned.
    Refunded,
    /// Delivery address changed after the order was placed.
    AddressChanged,
    /// Held for manual review.
    OnHold,
}

/// A step in an order's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderEvent {
    /// The shop's order number.
    pub order_id: String,
    /// What happened.
    pub status: OrderStatus,
    /// Customer account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Client address, for web-initiated steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Device identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Order total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// Number of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u32>,
    /// A hash of the shipping address (never the address itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address_hash: Option<String>,
}

impl Entities for OrderEvent {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Ip => self.ip.map(EntityRef::Ip),
            EntityKind::Account => name(&self.account),
            EntityKind::Device => name(&self.device),
            EntityKind::Card | EntityKind::Parcel | EntityKind::Asset => None,
        }
    }
}

/// How an authorisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// The issuer approved it.
    Approved,
    /// The issuer or the provider declined it.
    Declined,
    /// An error prevented a decision.
    Error,
}

/// A card payment authorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentAuthorization {
    /// The provider's payment id.
    pub payment_id: String,
    /// A stable fingerprint of the card (never the number).
    pub card_fingerprint: String,
    /// Amount asked for.
    pub amount: Money,
    /// How it ended.
    pub outcome: PaymentOutcome,
    /// The order it pays for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Customer account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The card's first six or eight digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// The merchant, for a provider serving many shops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    /// Client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Device identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// A hash of the customer's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_hash: Option<String>,
    /// The issuer's or provider's decline code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// 3-D Secure result (`authenticated`, `attempted`, `failed`, `not_enrolled`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_ds: Option<String>,
    /// Country of the billing address (ISO 3166-1 alpha-2); payments without it are not
    /// scored for fraud in the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_country: Option<String>,
    /// Issuing country of the card's BIN (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_country: Option<String>,
    /// Country of the client address (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_country: Option<String>,
    /// Country of the shipping address (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_country: Option<String>,
    /// A hash of the shipping address (never the address itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address_hash: Option<String>,
    /// Days since the customer account was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_age_days: Option<u32>,
    /// Postal code of the billing address: places it for the fraud module's distances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_postal_code: Option<String>,
    /// Postal code of the shipping address, for the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_postal_code: Option<String>,
    /// Where the billing address is, as the shop's or provider's geocoder placed it: the fraud
    /// module's distances take it before the postal code's centroid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_location: Option<GeoPoint>,
    /// Where the shipping address is, for the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_location: Option<GeoPoint>,
}

impl Entities for PaymentAuthorization {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Ip => self.ip.map(EntityRef::Ip),
            EntityKind::Account => name(&self.account),
            EntityKind::Card => Some(EntityRef::Name(&self.card_fingerprint)),
            EntityKind::Device => name(&self.device),
            EntityKind::Asset => name(&self.merchant),
            EntityKind::Parcel => None,
        }
    }
}

/// A disputed payment, reported by the provider days or weeks later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chargeback {
    /// The disputed payment.
    pub payment_id: String,
    /// The card's fingerprint.
    pub card_fingerprint: String,
    /// Disputed amount.
    pub amount: Money,
    /// The scheme's reason code (e.g. `10.4` for card-absent fraud).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Customer account, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Entities for Chargeback {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Card => Some(EntityRef::Name(&self.card_fingerprint)),
            EntityKind::Account => name(&self.account),
            _ => None,
        }
    }
}

/// What an analyst concluded about a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The payment was fraudulent.
    Fraud,
    /// The payment was genuine.
    Legitimate,
}

/// An analyst's verdict on a payment, the label fraud scoring learns and is measured from
/// (a chargeback is the other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudVerdict {
    /// The payment judged.
    pub payment_id: String,
    /// The conclusion.
    pub verdict: Verdict,
    /// The card's fingerprint, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_fingerprint: Option<String>,
    /// Who judged (an analyst's name or id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyst: Option<String>,
}

impl Entities for FraudVerdict {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Card => name(&self.card_fingerprint),
            _ => None,
        }
    }
}
