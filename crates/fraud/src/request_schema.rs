//! The parts of the payment request's JSON Schema that its field types cannot state: the
//! amount's bounds and currencies in use, and an IP address as either family. The schema is what
//! the published API document gives clients, so it says what [`crate::PaymentRequest`]'s
//! validation takes.

use schemars::{Schema, SchemaGenerator, json_schema};

use crate::currency;
use crate::request::MAX_AMOUNT_MINOR;

/// `amount`: minor units within the accepted range, and an ISO 4217 currency in use.
pub(crate) fn amount(_: &mut SchemaGenerator) -> Schema {
    let codes: Vec<&str> = currency::codes().collect();
    json_schema!({
        "type": "object",
        "description": "Amount in minor units of its ISO 4217 currency (cents for EUR, yen for JPY)",
        "required": ["minor", "currency"],
        "additionalProperties": false,
        "properties": {
            "minor": { "type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_MINOR },
            "currency": { "type": "string", "enum": codes },
        },
    })
}

/// `ip`: an IPv4 or IPv6 address, when given.
pub(crate) fn optional_ip(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Client IP address, IPv4 or IPv6",
        "anyOf": [
            { "type": "string", "format": "ipv4" },
            { "type": "string", "format": "ipv6" },
            { "type": "null" },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_currency_the_schema_lists_is_taken_and_none_twice() {
        let codes: Vec<&str> = currency::codes().collect();
        assert!(codes.len() > 150, "{}", codes.len());
        for code in &codes {
            assert!(currency::minor_exponent(code).is_some(), "{code}");
        }
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }
}
