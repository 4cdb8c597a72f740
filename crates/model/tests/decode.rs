//! Decoding events: what is accepted, and how each kind of bad input is named.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use chrono::{DateTime, TimeZone, Utc};
use ensuresec_model::{DecodeError, EntityKind, EntityRef, EventType, Limits, decode_batch};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn decode(body: &str) -> Result<Vec<ensuresec_model::Event>, DecodeError> {
    decode_batch(body.as_bytes(), &Limits::default(), now())
}

const LOGIN: &str = r#"{"type":"auth","time":"2026-11-21T10:00:00Z","source":"shop","data":{"account":"alice","ip":"203.0.113.7","action":"login","outcome":"failure","reason":"bad_password"}}"#;

/// Checks that `body` is refused on `line` naming `field`, with a message containing `needle`.
fn check_refused(body: &str, line: Option<usize>, field: Option<&str>, needle: &str) {
    let err = decode(body).expect_err("batch should be refused");
    assert_eq!(err.line(), line, "line of {err}");
    assert_eq!(err.field(), field, "field of {err}");
    assert!(
        err.to_string().contains(needle),
        "`{err}` should mention `{needle}`"
    );
}

#[test]
fn ndjson_batch_decodes_every_line_and_skips_blank_ones() {
    let body = format!("{LOGIN}\n\n{LOGIN}\r\n");
    let events = decode(&body).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_type(), EventType::Auth);
    assert_eq!(
        events[0].entity(EntityKind::Account),
        Some(EntityRef::Name("alice"))
    );
    assert_eq!(
        events[0].entity(EntityKind::Ip).unwrap().to_string(),
        "203.0.113.7"
    );
    assert_eq!(events[0].entity(EntityKind::Card), None);
}

#[test]
fn json_array_batch_decodes() {
    let events = decode(&format!("  [{LOGIN},{LOGIN}]")).unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn data_before_type_is_accepted() {
    let body = r#"{"data":{"account":"bob","ip":"::1","action":"logout","outcome":"success"},"time":"2026-11-21T10:00:00Z","source":"s","type":"auth"}"#;
    let events = decode(body).unwrap();
    assert_eq!(
        events[0].entity(EntityKind::Account),
        Some(EntityRef::Name("bob"))
    );
}

#[test]
fn event_round_trips_through_json() {
    let events = decode(LOGIN).unwrap();
    let text = serde_json::to_string(&events[0]).unwrap();
    let again = decode(&text).unwrap();
    assert_eq!(events, again);
}

#[test]
fn malformed_json_names_the_line() {
    check_refused(
        &format!("{LOGIN}\n{{\"type\":"),
        Some(2),
        Some("type"),
        "EOF",
    );
}

#[test]
fn unknown_event_type_names_the_type_field() {
    let body = LOGIN.replace("\"auth\"", "\"teleport\"");
    check_refused(&body, Some(1), Some("type"), "unknown variant `teleport`");
}

#[test]
fn unknown_key_is_an_error_not_silently_dropped() {
    let body = LOGIN.replace("\"reason\"", "\"reasn\"");
    check_refused(&body, Some(1), Some("data.reasn"), "unknown field `reasn`");
    let body = LOGIN.replace("\"source\"", "\"sauce\"");
    check_refused(&body, Some(1), Some("sauce"), "unknown field `sauce`");
}

#[test]
fn invalid_timestamp_names_the_time_field() {
    let body = LOGIN.replace("2026-11-21T10:00:00Z", "yesterday");
    check_refused(
        &body,
        Some(1),
        Some("time"),
        "input contains invalid characters",
    );
    let body = LOGIN.replace("2026-11-21T10:00:00Z", "1970-01-01T00:00:00Z");
    check_refused(&body, Some(1), Some("time"), "before 1990");
    let body = LOGIN.replace("2026-11-21T10:00:00Z", "2027-01-01T00:00:00Z");
    check_refused(&body, Some(1), Some("time"), "ahead of the receiving clock");
}

#[test]
fn wrong_field_type_names_the_nested_path() {
    let body = r#"{"type":"payment_authorization","time":"2026-11-21T10:00:00Z","source":"psp","data":{"payment_id":"p1","card_fingerprint":"c1","amount":{"minor":"ten","currency":"EUR"},"outcome":"approved"}}"#;
    check_refused(body, Some(1), Some("data.amount.minor"), "invalid type");
}

#[test]
fn bad_currency_code_is_named() {
    let body = r#"{"type":"payment_authorization","time":"2026-11-21T10:00:00Z","source":"psp","data":{"payment_id":"p1","card_fingerprint":"c1","amount":{"minor":1000,"currency":"euro"},"outcome":"approved"}}"#;
    check_refused(body, Some(1), Some("data.amount.currency"), "ISO 4217");
}

#[test]
fn missing_field_is_named() {
    let body = LOGIN.replace(r#""account":"alice","#, "");
    check_refused(&body, Some(1), Some("data"), "missing field `account`");
}

#[test]
fn oversized_line_is_refused_with_the_limit() {
    let limits = Limits {
        max_line_bytes: 100,
        ..Limits::default()
    };
    let err = decode_batch(LOGIN.as_bytes(), &limits, now()).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::LineTooLong {
                line: 1,
                limit: 100,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn too_many_events_is_refused_with_the_limit() {
    let limits = Limits {
        max_batch_events: 2,
        ..Limits::default()
    };
    let body = [LOGIN; 3].join("\n");
    let err = decode_batch(body.as_bytes(), &limits, now()).unwrap_err();
    assert_eq!(err, DecodeError::TooManyEvents { limit: 2 });
}

#[test]
fn array_errors_name_the_element() {
    let body = format!("[{LOGIN},{}]", LOGIN.replace("\"shop\"", "\"\""));
    check_refused(&body, Some(1), Some("[1].source"), "must not be empty");
}

const PLAN: &str = r#"{"type":"delivery_plan","time":"2026-11-21T08:00:00Z","source":"carrier","data":{"parcel_id":"P1","account":"alice","product_class":"cold-2-8","destination":{"lat":52.52,"lon":13.40},"route":[{"lat":52.50,"lon":13.30},{"lat":52.52,"lon":13.40}],"courier":"c7","shift_start":"2026-11-21T08:00:00Z","shift_end":"2026-11-21T16:00:00Z"}}"#;

#[test]
fn delivery_plans_claims_and_badges_decode_with_their_entities() {
    let claim = r#"{"type":"delivery_claim","time":"2026-11-21T18:00:00Z","source":"shop","data":{"parcel_id":"P1","account":"alice","claim":"not_received","device":"d1"}}"#;
    let badge = r#"{"type":"badge_access","time":"2026-11-21T23:10:00Z","source":"doors","data":{"badge":"emp-4","zone":"controlled-drugs","direction":"in"}}"#;
    let events = decode(&format!("{PLAN}\n{claim}\n{badge}\n")).unwrap();
    let types: Vec<EventType> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        types,
        [
            EventType::DeliveryPlan,
            EventType::DeliveryClaim,
            EventType::BadgeAccess
        ]
    );
    assert_eq!(
        events[0].entity(EntityKind::Parcel),
        Some(EntityRef::Name("P1"))
    );
    assert_eq!(
        events[1].entity(EntityKind::Device),
        Some(EntityRef::Name("d1"))
    );
    assert_eq!(
        events[2].entity(EntityKind::Asset),
        Some(EntityRef::Name("controlled-drugs"))
    );
    let ensuresec_model::EventData::BadgeAccess(b) = &events[2].data else {
        panic!("a badge event");
    };
    assert!(b.granted, "granted defaults to true");
}

#[test]
fn a_route_point_off_the_globe_is_named() {
    let body = PLAN.replace(
        r#"{"lat":52.50,"lon":13.30}"#,
        r#"{"lat":52.50,"lon":193.30}"#,
    );
    check_refused(
        &body,
        Some(1),
        Some("data.route[0].lon"),
        "between -180 and 180",
    );
}

#[test]
fn a_shift_that_ends_before_it_starts_is_refused() {
    let body = PLAN.replace("16:00:00Z", "07:00:00Z");
    check_refused(&body, Some(1), Some("data.shift_end"), "after shift_start");
}

#[test]
fn a_photo_hash_must_be_sha256_hex() {
    let body = r#"{"type":"delivery_scan","time":"2026-11-21T10:00:00Z","source":"carrier","data":{"parcel_id":"P1","scan":"delivered","photo_sha256":"abc"}}"#;
    check_refused(body, Some(1), Some("data.photo_sha256"), "64 hex digits");
}

const PAYMENT: &str = r#"{"type":"payment_authorization","time":"2026-11-21T10:00:00Z","source":"psp","data":{"payment_id":"p1","card_fingerprint":"c1","amount":{"minor":1000,"currency":"EUR"},"outcome":"approved","billing_country":"DE","billing_location":{"lat":52.52,"lon":13.405},"shipping_country":"FR","shipping_location":{"lat":48.857,"lon":2.352}}}"#;

#[test]
fn payment_addresses_carry_their_locations() {
    let events = decode(PAYMENT).unwrap();
    let ensuresec_model::EventData::PaymentAuthorization(p) = &events[0].data else {
        panic!("{:?}", events[0].data);
    };
    assert_eq!(p.billing_location.map(|l| l.lat), Some(52.52));
    assert_eq!(p.shipping_location.map(|l| l.lon), Some(2.352));
}

#[test]
fn a_payment_address_off_the_globe_is_named() {
    let body = PAYMENT.replace(r#""lat":48.857"#, r#""lat":-98.857"#);
    check_refused(
        &body,
        Some(1),
        Some("data.shipping_location.lat"),
        "between -90 and 90",
    );
}

#[test]
fn a_shipping_place_without_its_country_is_refused_not_dropped() {
    let body = PAYMENT.replace(r#""shipping_country":"FR","#, "");
    check_refused(
        &body,
        Some(1),
        Some("data.shipping_location"),
        "needs data.shipping_country",
    );
    let body = body.replace(
        r#""shipping_location":{"lat":48.857,"lon":2.352}"#,
        r#""shipping_postal_code":"75001""#,
    );
    check_refused(
        &body,
        Some(1),
        Some("data.shipping_postal_code"),
        "needs data.shipping_country",
    );
}
