//! Events for the tests of this crate, decoded by the platform's strict decoder.

use ensuresec_model::Event;
use serde_json::json;

/// A decoded event of `{"type", "data"}` at `second` past a fixed time.
pub(crate) fn event(second: i64, data: serde_json::Value) -> Event {
    let time = chrono::DateTime::from_timestamp(1_770_000_000 + second, 0).expect("time");
    let line = json!({"type": data["type"], "time": time.to_rfc3339(), "source": "psp", "data": data["data"]});
    let limits = ensuresec_model::Limits::default();
    let mut events = ensuresec_model::decode_batch(line.to_string().as_bytes(), &limits, time)
        .expect("valid event");
    events.remove(0)
}

/// A `payment_authorization` of `card` that scoring can use, edited by `edit`.
pub(crate) fn payment(
    second: i64,
    id: &str,
    card: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> Event {
    let mut data = json!({
        "payment_id": id, "card_fingerprint": card,
        "amount": {"minor": 5_000, "currency": "EUR"}, "outcome": "approved",
        "bin": "424242", "merchant": "shop", "billing_country": "DE",
        "ip": "192.0.2.1", "device": format!("dev-{card}")
    });
    edit(&mut data);
    event(
        second,
        json!({"type": "payment_authorization", "data": data}),
    )
}
