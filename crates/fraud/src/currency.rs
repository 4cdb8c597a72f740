//! ISO 4217 currencies in use and their minor units, so that an unknown code is an error and an
//! amount in minor units can be read in major units.

/// Active ISO 4217 codes whose minor unit is not two decimals, with that exponent.
const NOT_TWO: [(&str, u32); 26] = [
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes with two decimals.
const TWO: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL \
BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR \
FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT \
LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK \
NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN \
SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";

/// The number of decimals of `code`'s minor unit, or `None` when `code` is not an ISO 4217
/// currency in use.
pub fn minor_exponent(code: &str) -> Option<u32> {
    if code.len() != 3 {
        return None;
    }
    if let Some((_, e)) = NOT_TWO.iter().find(|(c, _)| *c == code) {
        return Some(*e);
    }
    TWO.split_ascii_whitespace().any(|c| c == code).then_some(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(minor_exponent("EUR"), Some(2));
        assert_eq!(minor_exponent("JPY"), Some(0));
        assert_eq!(minor_exponent("KWD"), Some(3));
        assert_eq!(minor_exponent("EURO"), None);
        assert_eq!(minor_exponent("XYZ"), None);
        assert_eq!(minor_exponent("eur"), None);
    }
}
