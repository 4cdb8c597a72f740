//! Online features: what is known about a payment's card, device, IP, e-mail, account and
//! shipping address at the moment it is scored. [`FeatureStore`] keeps the per-entity state;
//! [`Features`] is the vector the rules and the model read, by name.

mod entity;
mod journal;
mod recent;
mod snapshot;
mod store;
mod table;

pub use entity::{ENTITY_BYTES, EntityState};
pub use journal::RECORD_BYTES;
pub use snapshot::StateCopy;
pub use store::{FeatureStore, StateLimits, StateStats};

/// One feature: its name (used in rules and model files) and what it means in words (used in
/// reasons, followed by the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureDef {
    /// Name in rules and model files.
    pub name: &'static str,
    /// Plain words for reviewers.
    pub words: &'static str,
}

macro_rules! features {
    ($($variant:ident = $name:literal : $words:literal,)*) => {
        /// Index of each feature in [`Features`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum F { $(
            #[doc = $words]
            $variant,
        )* }

        /// Every feature, in vector order.
        pub const FEATURES: &[FeatureDef] = &[$(FeatureDef { name: $name, words: $words },)*];
    };
}

features! {
    Amount = "amount": "amount in major units of its currency",
    CardCount1h = "card_count_1h": "payments with this card in the last hour",
    CardCount24h = "card_count_24h": "payments with this card in the last 24 hours",
    CardCount7d = "card_count_7d": "payments with this card in the last 7 days",
    CardAmount24h = "card_amount_24h": "amount paid with this card in the last 24 hours",
    CardDeclineRatio = "card_decline_ratio": "share of this card's recent payments that were declined",
    CardAgeHours = "card_age_hours": "hours since this card was first seen",
    CardDevices = "card_devices": "distinct devices that used this card",
    DeviceCount1h = "device_count_1h": "payments from this device in the last hour",
    DeviceCards = "device_cards": "distinct cards used on this device",
    DeviceAgeHours = "device_age_hours": "hours since this device was first seen",
    IpCount1h = "ip_count_1h": "payments from this IP address in the last hour",
    IpCards = "ip_cards": "distinct cards used from this IP address",
    EmailCount24h = "email_count_24h": "payments with this e-mail in the last 24 hours",
    EmailCards = "email_cards": "distinct cards used with this e-mail",
    EmailAgeHours = "email_age_hours": "hours since this e-mail was first seen",
    AccountAgeDays = "account_age_days": "age of the customer account in days",
    AccountCount24h = "account_count_24h": "payments by this account in the last 24 hours",
    AccountCards = "account_cards": "distinct cards used by this account",
    ShippingCount24h = "shipping_count_24h": "payments shipping to this address in the last 24 hours",
    ShippingCards = "shipping_cards": "distinct cards shipping to this address",
    BinIpCountryMismatch = "bin_ip_country_mismatch": "card issued in another country than the IP address's",
    BillingShippingCountryMismatch = "billing_shipping_country_mismatch": "shipping to another country than the billing address",
    IpBillingCountryMismatch = "ip_billing_country_mismatch": "IP address in another country than the billing address",
    NewAccountHighValue = "new_account_high_value": "account younger than a day paying 500 or more",
    HoursSinceAddressChange = "hours_since_address_change": "hours since the account's shipping address changed",
    ThreeDsAuthenticated = "three_ds_authenticated": "cardholder authenticated with 3-D Secure",
    ThreeDsFailed = "three_ds_failed": "cardholder failed 3-D Secure",
    HourOfDay = "hour_of_day": "hour of day (UTC)",
    IpBillingKm = "ip_billing_km": "km between the IP address's location and the billing address",
    BillingShippingKm = "billing_shipping_km": "km between the billing and the shipping address",
    IpShippingKm = "ip_shipping_km": "km between the IP address's location and the shipping address",
}

/// Number of features.
pub const N_FEATURES: usize = FEATURES.len();

/// The index of the feature called `name`.
pub fn index_of(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| f.name == name)
}

/// One payment's feature values, in [`FEATURES`] order. `NaN` means unknown (no device given,
/// no IP country…): rules comparing it are false, the model routes it as missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Features(pub [f64; N_FEATURES]);

impl Features {
    /// Every value unknown.
    pub fn unknown() -> Features {
        Features([f64::NAN; N_FEATURES])
    }

    /// The value of feature `f`.
    pub fn get(&self, f: F) -> f64 {
        self.0[f as usize]
    }

    /// Sets feature `f`.
    pub fn set(&mut self, f: F, value: f64) {
        self.0[f as usize] = value;
    }
}
