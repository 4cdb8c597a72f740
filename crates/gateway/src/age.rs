//! Proof of age at checkout: `[[gateway.age_gates]]` names the checkout paths and the products
//! that need it (alcohol, some medicines). A checkout that orders one of them goes to the shop
//! only with a presentation (SD-JWT with key binding, `Age-Presentation` header or an
//! `age_presentation` field) that the platform's identity gate accepts **for that order**;
//! otherwise the gateway answers 403 and the shop never sees the order.
//!
//! The gateway does not verify credentials itself: it asks the platform through an
//! [`AgeVerifier`] (the serve it runs in, or the linked serve over HTTP), so there is one set of
//! trusted issuers, one nonce store (a nonce works once, wherever it is presented) and one
//! audit trail.

use std::future::Future;
use std::pin::Pin;

use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pages::full;
use crate::proxy::Body;

/// The request header a shop's checkout page puts the wallet's presentation in.
pub const PRESENTATION_HEADER: &str = "age-presentation";
/// The form or JSON field that can carry the presentation instead of the header.
pub const PRESENTATION_FIELD: &str = "age_presentation";
/// Most products a checkout may name (a bound on the work per request).
const MAX_PRODUCTS: usize = 1000;

/// `[[gateway.age_gates]]`: a checkout that needs a proof of age for some products.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeGateConfig {
    /// The checkout's path (exact); its POSTs are checked.
    pub path: String,
    /// Products that need a proof of age: exact ids, or prefixes ending in `*` (`WINE-*`).
    pub restricted: Vec<String>,
    /// The form, query or JSON field naming the ordered products (repeated, or a JSON array).
    #[serde(default = "default_product_field")]
    pub product_field: String,
    /// The field naming the order; the presentation must be bound to this order.
    #[serde(default = "default_order_field")]
    pub order_field: String,
}

fn default_product_field() -> String {
    "product".into()
}
fn default_order_field() -> String {
    "order_id".into()
}

impl AgeGateConfig {
    /// Checks values that parse but make no sense; the message names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("path `{}` must start with `/`", self.path));
        }
        if self.restricted.is_empty() {
            return Err("restricted: name at least one product or prefix".into());
        }
        if let Some(p) = self.restricted.iter().find(|p| p.is_empty() || *p == "*") {
            return Err(format!(
                "restricted: `{p}` would match every product; list the products or their prefixes"
            ));
        }
        if self.product_field.is_empty() || self.order_field.is_empty() {
            return Err("product_field and order_field must not be empty".into());
        }
        Ok(())
    }

    /// The restricted order in this checkout, `None` when it orders nothing restricted.
    ///
    /// # Errors
    /// A [`Refusal`] for a body that cannot be read, too many products, or a restricted order
    /// that names no order.
    pub fn restricted_order(
        &self,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Option<RestrictedOrder>, Refusal> {
        let fields = Fields::read(parts, body)?;
        if fields.all(&self.product_field).nth(MAX_PRODUCTS).is_some() {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "too_many_products",
                format!("a checkout names at most {MAX_PRODUCTS} products"),
            ));
        }
        let products: Vec<String> = fields
            .all(&self.product_field)
            .filter(|p| self.restricts(p))
            .map(str::to_owned)
            .collect();
        if products.is_empty() {
            return Ok(None);
        }
        let order_id = fields
            .all(&self.order_field)
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "missing_order",
                    format!(
                        "`{}` is missing: a proof of age is bound to one order",
                        self.order_field
                    ),
                )
            })?
            .to_owned();
        let presentation = parts
            .headers
            .get(PRESENTATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .or_else(|| fields.all(PRESENTATION_FIELD).next())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        Ok(Some(RestrictedOrder {
            order_id,
            products,
            presentation,
        }))
    }

    fn restricts(&self, product: &str) -> bool {
        self.restricted.iter().any(|r| match r.strip_suffix('*') {
            Some(prefix) => product.starts_with(prefix),
            None => product == r,
        })
    }
}

/// What the platform said of a presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgeAnswer {
    /// Old enough, and the presentation answered the challenge of `order_id`.
    Accepted {
        /// The order the presentation is bound to.
        order_id: String,
    },
    /// Refused; `code` names the failed check (`replayed_nonce`, `under_age`, `revoked`, …).
    Refused {
        /// A stable code for the failed check.
        code: String,
        /// The same in words.
        message: String,
    },
}

/// A future an [`AgeVerifier`] answers with.
pub type AgeFuture<'a> = Pin<Box<dyn Future<Output = Result<AgeAnswer, String>> + Send + 'a>>;

/// The platform's identity gate, as the gateway reaches it.
pub trait AgeVerifier: Send + Sync {
    /// Checks `presentation` (and uses up its nonce). An `Err` is a sentence saying why the
    /// platform could not answer; the checkout is then refused (fail closed).
    fn verify<'a>(&'a self, presentation: &'a str) -> AgeFuture<'a>;
}

/// Why a restricted checkout does not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// A stable code, also the event's `age_gate` label.
    pub code: String,
    /// What the customer or the shop's page is told.
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The platform could not answer: the restricted checkout is refused (fail closed).
    #[must_use]
    pub fn unavailable() -> Self {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "age_verification_unavailable",
            "age verification is unavailable; try again shortly",
        )
    }

    /// The JSON answer: `{"age_verification_required": true, "error": {code, message}}`.
    #[must_use]
    pub fn response(&self) -> http::Response<Body> {
        let body = serde_json::json!({
            "age_verification_required": true,
            "error": {"code": self.code, "message": self.message},
        });
        let mut r = http::Response::new(full(body.to_string()));
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// A checkout that orders restricted products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictedOrder {
    /// The order named by the request.
    pub order_id: String,
    /// The restricted products in it.
    pub products: Vec<String>,
    /// The presentation sent with it, if any.
    pub presentation: Option<String>,
}

/// The request's fields: the query string, then the body (form or JSON object).
#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn read(parts: &Parts, body: &[u8]) -> Result<Fields, Refusal> {
        let mut fields = Fields::default();
        if let Some(q) = parts.uri.query() {
            fields.form(q.as_bytes());
        }
        if body.is_empty() {
            return Ok(fields);
        }
        let mime = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match mime.as_str() {
            "application/x-www-form-urlencoded" => fields.form(body),
            "application/json" => fields.json(body)?,
            // A body the gate cannot read could hide a restricted product: refused, not passed.
            other => {
                return Err(Refusal::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unreadable_checkout",
                    format!(
                        "this checkout needs an application/x-www-form-urlencoded or application/json body to check the products for age restrictions, not `{other}`"
                    ),
                ));
            }
        }
        Ok(fields)
    }

    fn form(&mut self, bytes: &[u8]) {
        self.0.extend(form_urlencoded::parse(bytes).into_owned());
    }

    fn json(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        let bad = |m: String| Refusal::new(StatusCode::BAD_REQUEST, "unreadable_checkout", m);
        let Value::Object(map) =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("checkout body: {e}")))?
        else {
            return Err(bad("checkout body: expected a JSON object".into()));
        };
        for (name, value) in map {
            let items = match value {
                Value::Array(items) => items,
                other => vec![other],
            };
            for item in items {
                match item {
                    Value::String(s) => self.0.push((name.clone(), s)),
                    Value::Number(n) => self.0.push((name.clone(), n.to_string())),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The gates of a gateway, looked up by path.
#[derive(Debug, Clone, Default)]
pub struct AgeGates(Vec<AgeGateConfig>);

impl AgeGates {
    /// The configured gates.
    #[must_use]
    pub fn new(gates: Vec<AgeGateConfig>) -> Self {
        AgeGates(gates)
    }

    /// Whether any gate is configured (a gateway without a verifier must not start with one).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a request to `path` with `method` is a checkout some gate checks: then its body
    /// is needed even when inspection is off.
    #[must_use]
    pub fn guards(&self, method: &http::Method, path: &str) -> Option<&AgeGateConfig> {
        if *method != http::Method::POST {
            return None;
        }
        self.0.iter().find(|g| g.path == path)
    }
}

/// Asks `verifier` about the order's presentation: `Ok` lets the checkout through.
///
/// # Errors
/// A [`Refusal`] naming why: no presentation, refused by the platform (its code), bound to
/// another order, or the platform unreachable.
pub async fn check(verifier: &dyn AgeVerifier, order: &RestrictedOrder) -> Result<(), Refusal> {
    let Some(presentation) = order.presentation.as_deref() else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "age_proof_required",
            format!(
                "{} need(s) a proof of age: ask for a challenge for order `{}` and send the wallet's presentation in the Age-Presentation header",
                order.products.join(", "),
                order.order_id
            ),
        ));
    };
    match verifier.verify(presentation).await {
        Ok(AgeAnswer::Accepted { order_id }) if order_id == order.order_id => Ok(()),
        Ok(AgeAnswer::Accepted { order_id }) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "order_mismatch",
            format!(
                "the proof of age was made for order `{order_id}`, not `{}`",
                order.order_id
            ),
        )),
        Ok(AgeAnswer::Refused { code, message }) => {
            Err(Refusal::new(StatusCode::FORBIDDEN, &code, message))
        }
        Err(why) => {
            tracing::warn!(error = %why, "age verification unavailable; restricted checkout refused");
            Err(Refusal::unavailable())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> AgeGateConfig {
        AgeGateConfig {
            path: "/checkout".into(),
            restricted: vec!["WINE-*".into(), "RX-42".into()],
            product_field: "sku".into(),
            order_field: "order_id".into(),
        }
    }

    fn parts(uri: &str, content_type: Option<&str>, presentation: Option<&str>) -> Parts {
        let mut b = http::Request::post(uri);
        if let Some(c) = content_type {
            b = b.header(header::CONTENT_TYPE, c);
        }
        if let Some(p) = presentation {
            b = b.header(PRESENTATION_HEADER, p);
        }
        b.body(()).expect("valid request").into_parts().0
    }

    #[test]
    fn finds_restricted_products_in_forms_queries_and_json() {
        let form = parts("/checkout", Some("application/x-www-form-urlencoded"), None);
        let order = gate()
            .restricted_order(
                &form,
                b"order_id=o-1&sku=BREAD&sku=WINE-RED-2019&sku=RX-421",
            )
            .expect("readable")
            .expect("restricted");
        assert_eq!(order.products, vec!["WINE-RED-2019"]);
        assert_eq!(order.order_id, "o-1");
        assert_eq!(order.presentation, None);

        let query = parts("/checkout?sku=RX-42&order_id=o-2", None, Some("a~b~"));
        let order = gate()
            .restricted_order(&query, b"")
            .expect("readable")
            .expect("restricted");
        assert_eq!(
            (order.products, order.presentation),
            (vec!["RX-42".into()], Some("a~b~".into()))
        );

        let json = parts("/checkout", Some("application/json; charset=utf-8"), None);
        let order = gate()
            .restricted_order(
                &json,
                br#"{"order_id": "o-3", "sku": ["BREAD", "WINE-1"], "age_presentation": "x~y~"}"#,
            )
            .expect("readable")
            .expect("restricted");
        assert_eq!(order.presentation.as_deref(), Some("x~y~"));

        let harmless = gate().restricted_order(&json, br#"{"sku": "BREAD"}"#);
        assert_eq!(harmless, Ok(None));
    }

    #[test]
    fn refuses_what_it_cannot_read_and_orders_without_an_id() {
        let multipart = parts("/checkout", Some("multipart/form-data; boundary=x"), None);
        let e = gate().restricted_order(&multipart, b"--x--").unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unreadable_checkout")
        );
        let json = parts("/checkout", Some("application/json"), None);
        let e = gate().restricted_order(&json, b"[1]").unwrap_err();
        assert_eq!(e.code, "unreadable_checkout");
        let e = gate()
            .restricted_order(&json, br#"{"sku": "WINE-1"}"#)
            .unwrap_err();
        assert_eq!(e.code, "missing_order");
        assert!(e.message.contains("order_id"), "{}", e.message);
    }

    #[test]
    fn guards_only_posts_to_configured_paths_and_validates() {
        let gates = AgeGates::new(vec![gate()]);
        assert!(gates.guards(&http::Method::POST, "/checkout").is_some());
        assert!(gates.guards(&http::Method::GET, "/checkout").is_none());
        assert!(gates.guards(&http::Method::POST, "/checkout/x").is_none());
        let mut g = gate();
        g.restricted = vec!["*".into()];
        assert!(g.validate().unwrap_err().contains("every product"));
        g.restricted.clear();
        assert!(g.validate().is_err());
        assert!(gate().validate().is_ok());
    }

    struct Says(Result<AgeAnswer, String>);

    impl AgeVerifier for Says {
        fn verify<'a>(&'a self, _presentation: &'a str) -> AgeFuture<'a> {
            let answer = self.0.clone();
            Box::pin(async move { answer })
        }
    }

    #[tokio::test]
    async fn passes_only_an_accepted_proof_for_the_same_order() {
        let order = RestrictedOrder {
            order_id: "o-1".into(),
            products: vec!["WINE-1".into()],
            presentation: Some("p".into()),
        };
        let accepted = |o: &str| Says(Ok(AgeAnswer::Accepted { order_id: o.into() }));
        assert_eq!(check(&accepted("o-1"), &order).await, Ok(()));
        assert_eq!(
            check(&accepted("o-2"), &order).await.unwrap_err().code,
            "order_mismatch"
        );
        let refused = Says(Ok(AgeAnswer::Refused {
            code: "under_age".into(),
            message: "not 18".into(),
        }));
        assert_eq!(check(&refused, &order).await.unwrap_err().code, "under_age");
        let down = check(&Says(Err("connection refused".into())), &order)
            .await
            .unwrap_err();
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        let missing = RestrictedOrder {
            presentation: None,
            ..order
        };
        let e = check(&accepted("o-1"), &missing).await.unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::FORBIDDEN, "age_proof_required")
        );
    }
}
