//! Properties of the decoder: no input makes it panic, and every event it accepts survives a
//! round trip through its own JSON form.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use chrono::{TimeZone, Utc};
use ensuresec_model::{Limits, decode_batch};
use proptest::prelude::*;

const SAMPLES: &[&str] = &[
    r#"{"type":"auth","time":"2026-11-21T10:00:00Z","source":"shop","data":{"account":"alice","ip":"203.0.113.7","action":"login","outcome":"failure"}}"#,
    r#"{"type":"payment_authorization","time":"2026-11-21T10:00:00Z","source":"psp","data":{"payment_id":"p","card_fingerprint":"c","amount":{"minor":5,"currency":"EUR"},"outcome":"declined","bin":"414720"}}"#,
    r#"{"type":"sensor_reading","time":"2026-11-21T10:00:00Z","source":"gw","data":{"sensor":"s1","temperature_c":4.5,"location":{"lat":52.5,"lon":13.4},"battery_pct":80}}"#,
    r#"{"type":"http_request","time":"2026-11-21T10:00:00Z","source":"nginx","data":{"client_ip":"::1","method":"GET","path":"/search","query":"q=%27+OR+1%3D1","status":200,"headers":[["accept","*/*"]]}}"#,
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let _ = decode_batch(&body, &Limits::default(), now);
    }

    #[test]
    fn mutated_events_never_panic_and_accepted_ones_round_trip(
        index in 0..SAMPLES.len(),
        cut in 0usize..400,
        insert in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let mut bytes = SAMPLES[index].as_bytes().to_vec();
        let at = cut.min(bytes.len());
        bytes.splice(at..at, insert);
        if let Ok(events) = decode_batch(&bytes, &Limits::default(), now) {
            for e in events {
                let again = serde_json::to_vec(&e).unwrap();
                let back = decode_batch(&again, &Limits::default(), now).unwrap();
                prop_assert_eq!(back, vec![e]);
            }
        }
    }
}

#[test]
fn every_sample_is_accepted() {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let body = SAMPLES.join("\n");
    assert_eq!(
        decode_batch(body.as_bytes(), &Limits::default(), now)
            .unwrap()
            .len(),
        SAMPLES.len()
    );
}
