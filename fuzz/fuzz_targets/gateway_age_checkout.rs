//! The checkout age gate's reading of a request on arbitrary input: the content type, query and
//! body are the attacker's. A restricted order, nothing restricted, or a named refusal — never
//! a panic — and a restricted order only ever lists products the gate restricts.
#![no_main]

use ensuresec_gateway::age::AgeGateConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let gate = AgeGateConfig {
        path: "/checkout".into(),
        restricted: vec!["WINE-*".into(), "RX-42".into()],
        product_field: "sku".into(),
        order_field: "order_id".into(),
    };
    // First byte picks the content type, the next line is the query, the rest the body.
    let (kind, rest) = data.split_first().unwrap_or((&0, &[]));
    let content_type = match kind % 4 {
        0 => "application/x-www-form-urlencoded",
        1 => "application/json",
        2 => "text/plain",
        _ => "application/json; charset=utf-8",
    };
    let cut = rest.iter().position(|b| *b == b'\n').unwrap_or(0);
    let (query, body) = rest.split_at(cut);
    let query: String = String::from_utf8_lossy(query)
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '#')
        .collect();
    let Ok(request) = http::Request::post(format!("/checkout?{query}"))
        .header("content-type", content_type)
        .body(())
    else {
        return;
    };
    let (parts, ()) = request.into_parts();
    if let Ok(Some(order)) = gate.restricted_order(&parts, body) {
        assert!(!order.order_id.is_empty());
        assert!(
            order
                .products
                .iter()
                .all(|p| p.starts_with("WINE-") || p == "RX-42")
        );
    }
});
