//! A payment whose only entity is its card, so that the state it makes is the card's: what the
//! saving bench scores, and what the `state_of_cards` example fills a state file with.

use ensuresec_fraud::PaymentRequest;

/// A card payment; callers set its card, id and time.
pub fn card_payment() -> PaymentRequest {
    let json = serde_json::json!({
        "payment_id": "p0",
        "time": "2026-02-02T02:40:00Z",
        "amount": {"minor": 1_999, "currency": "EUR"},
        "merchant": "shop",
        "card": {"fingerprint": "card0", "bin": "424242", "country": "DE"},
        "billing": {"country": "DE"},
    });
    PaymentRequest::from_json(json.to_string().as_bytes()).expect("valid")
}
