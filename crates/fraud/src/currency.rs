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

/// Exponent plus one of every three-letter code `AAA`..`ZZZ` (0: not a currency in use), indexed
/// by [`slot`]. Built at compile time from the two lists above: scoring looks a currency up
/// twice per payment, and a scan of the lists was a sixth of the time spent outside the model.
static EXPONENTS: [u8; 26 * 26 * 26] = {
    let mut table = [0u8; 26 * 26 * 26];
    let mut i = 0;
    while i < NOT_TWO.len() {
        let (code, exponent) = NOT_TWO[i];
        let bytes = code.as_bytes();
        table[slot([bytes[0], bytes[1], bytes[2]])] = exponent as u8 + 1;
        i += 1;
    }
    let two = TWO.as_bytes();
    let mut at = 0;
    while at + 3 <= two.len() {
        table[slot([two[at], two[at + 1], two[at + 2]])] = 3;
        at += 4; // three letters and one space
    }
    table
};

/// The place of three upper-case letters in [`EXPONENTS`].
const fn slot(code: [u8; 3]) -> usize {
    let mut index = 0;
    let mut i = 0;
    while i < 3 {
        assert!(
            code[i].is_ascii_uppercase(),
            "currency lists hold upper-case codes"
        );
        index = index * 26 + (code[i] - b'A') as usize;
        i += 1;
    }
    index
}

/// The number of decimals of `code`'s minor unit, or `None` when `code` is not an ISO 4217
/// currency in use.
pub fn minor_exponent(code: &str) -> Option<u32> {
    let &[a, b, c] = code.as_bytes() else {
        return None;
    };
    if ![a, b, c].iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    match EXPONENTS[slot([a, b, c])] {
        0 => None,
        e => Some(u32::from(e) - 1),
    }
}

/// Every ISO 4217 code in use, for the payment request's published schema.
pub fn codes() -> impl Iterator<Item = &'static str> {
    NOT_TWO.iter().map(|(code, _)| *code).chain(TWO.split(' '))
}

/// `amount` in major units of its own currency (an unknown currency read as two decimals:
/// requests are validated before they are counted).
pub fn major_units(amount: &ensuresec_model::event::Money) -> f64 {
    let exponent = minor_exponent(&amount.currency).unwrap_or(2);
    amount.minor as f64 / 10f64.powi(exponent as i32)
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
        assert_eq!(minor_exponent("E\u{e9}"), None);
        assert_eq!(minor_exponent(""), None);
    }

    #[test]
    fn every_listed_code_is_found_with_its_exponent() {
        let two: Vec<&str> = TWO.split_ascii_whitespace().collect();
        assert_eq!(two.len() * 4 - 1, TWO.len(), "codes are one space apart");
        for code in two {
            assert_eq!(minor_exponent(code), Some(2), "{code}");
        }
        for (code, exponent) in NOT_TWO {
            assert_eq!(minor_exponent(code), Some(exponent), "{code}");
        }
        let known = EXPONENTS.iter().filter(|e| **e != 0).count();
        assert_eq!(known, TWO.len().div_ceil(4) + NOT_TWO.len());
    }
}
