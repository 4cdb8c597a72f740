//! Reading payload fields by name without serialising the event.
//!
//! Rule files name fields as they appear in an event's JSON `data` (`status`, `user_agent`,
//! `card_fingerprint`…). Names are resolved once, at load, to a [`Field`]; reading one on the hot
//! path is a `match`, with no allocation. Money is read as its amount in minor units.

use std::net::IpAddr;

use ensuresec_model::event::{AuthAction, AuthOutcome, OrderStatus, PaymentOutcome, Transport};
use ensuresec_model::{Event, EventData, EventType};

/// A field value borrowed from an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Text (enums read as their snake_case name).
    Str(&'a str),
    /// A number (counts, sizes, amounts in minor units, status codes).
    Num(f64),
    /// An address.
    Ip(IpAddr),
}

impl Value<'_> {
    /// A stable 64-bit hash, for distinct counts.
    pub(crate) fn hash64(&self) -> u64 {
        match self {
            Value::Str(s) => crate::hash::hash_bytes(s.as_bytes()),
            Value::Num(n) => crate::hash::mix(n.to_bits() ^ 0x6e75_6d62),
            Value::Ip(ip) => crate::hash::hash_ip(*ip),
        }
    }

    /// The value as text, for evidence samples.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) => (*s).to_string(),
            Value::Num(n) => n.to_string(),
            Value::Ip(ip) => ip.to_string(),
        }
    }
}

/// Whether a field holds text, a number or an address; conditions are checked against it at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text.
    Text,
    /// Number.
    Number,
    /// Address.
    Address,
}

macro_rules! fields {
    ($( $variant:ident : $ty:ident . $name:literal => $kind:ident ),* $(,)?) => {
        /// A payload field of one event type, resolved from its name at load.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs, reason = "each variant is named after the JSON field it reads")]
        pub enum Field { $( $variant ),* }

        /// Every known field: event type, JSON name, the field, its kind.
        const TABLE: &[(EventType, &str, Field, FieldKind)] = &[
            $( (EventType::$ty, $name, Field::$variant, FieldKind::$kind) ),*
        ];
    };
}

fields! {
    HttpClientIp: HttpRequest."client_ip" => Address,
    HttpMethod: HttpRequest."method" => Text,
    HttpHost: HttpRequest."host" => Text,
    HttpPath: HttpRequest."path" => Text,
    HttpQuery: HttpRequest."query" => Text,
    HttpVersion: HttpRequest."http_version" => Text,
    HttpStatus: HttpRequest."status" => Number,
    HttpUserAgent: HttpRequest."user_agent" => Text,
    HttpReferer: HttpRequest."referer" => Text,
    HttpBody: HttpRequest."body" => Text,
    HttpBytesSent: HttpRequest."bytes_sent" => Number,
    HttpDurationMs: HttpRequest."duration_ms" => Number,
    HttpSession: HttpRequest."session" => Text,
    HttpAccount: HttpRequest."account" => Text,
    HttpDevice: HttpRequest."device" => Text,
    AuthAccount: Auth."account" => Text,
    AuthIp: Auth."ip" => Address,
    AuthAction: Auth."action" => Text,
    AuthOutcome: Auth."outcome" => Text,
    AuthReason: Auth."reason" => Text,
    AuthDevice: Auth."device" => Text,
    AuthUserAgent: Auth."user_agent" => Text,
    OrderId: Order."order_id" => Text,
    OrderStatus: Order."status" => Text,
    OrderAccount: Order."account" => Text,
    OrderIp: Order."ip" => Address,
    OrderDevice: Order."device" => Text,
    OrderTotal: Order."total" => Number,
    OrderItems: Order."items" => Number,
    OrderShippingAddress: Order."shipping_address_hash" => Text,
    PayId: PaymentAuthorization."payment_id" => Text,
    PayCard: PaymentAuthorization."card_fingerprint" => Text,
    PayAmount: PaymentAuthorization."amount" => Number,
    PayCurrency: PaymentAuthorization."currency" => Text,
    PayOutcome: PaymentAuthorization."outcome" => Text,
    PayOrderId: PaymentAuthorization."order_id" => Text,
    PayAccount: PaymentAuthorization."account" => Text,
    PayBin: PaymentAuthorization."bin" => Text,
    PayMerchant: PaymentAuthorization."merchant" => Text,
    PayIp: PaymentAuthorization."ip" => Address,
    PayDevice: PaymentAuthorization."device" => Text,
    PayEmail: PaymentAuthorization."email_hash" => Text,
    PayDeclineCode: PaymentAuthorization."decline_code" => Text,
    PayThreeDs: PaymentAuthorization."three_ds" => Text,
    CbPaymentId: Chargeback."payment_id" => Text,
    CbCard: Chargeback."card_fingerprint" => Text,
    CbAmount: Chargeback."amount" => Number,
    CbReason: Chargeback."reason_code" => Text,
    CbAccount: Chargeback."account" => Text,
    FlowSrcIp: NetworkFlow."src_ip" => Address,
    FlowSrcPort: NetworkFlow."src_port" => Number,
    FlowDstIp: NetworkFlow."dst_ip" => Address,
    FlowDstPort: NetworkFlow."dst_port" => Number,
    FlowTransport: NetworkFlow."transport" => Text,
    FlowPackets: NetworkFlow."packets" => Number,
    FlowBytes: NetworkFlow."bytes" => Number,
    FlowBytesPerPacket: NetworkFlow."bytes_per_packet" => Number,
    FlowDurationMs: NetworkFlow."duration_ms" => Number,
    FlowTcpFlags: NetworkFlow."tcp_flags" => Text,
}

impl Field {
    /// Resolves a field name for an event type.
    pub fn lookup(event_type: EventType, name: &str) -> Option<(Field, FieldKind)> {
        TABLE
            .iter()
            .find(|(t, n, _, _)| *t == event_type && *n == name)
            .map(|(_, _, f, k)| (*f, *k))
    }

    /// The field names an event type offers, for error messages.
    pub fn names(event_type: EventType) -> Vec<&'static str> {
        TABLE
            .iter()
            .filter(|(t, ..)| *t == event_type)
            .map(|(_, n, ..)| *n)
            .collect()
    }

    /// Reads the field off an event; `None` when absent or the event is of another type.
    #[inline]
    pub fn read<'a>(self, event: &'a Event) -> Option<Value<'a>> {
        use Field as F;
        let s = |v: &'a Option<String>| v.as_deref().map(Value::Str);
        let n = |v: Option<f64>| v.map(Value::Num);
        match (&event.data, self) {
            (EventData::HttpRequest(h), f) => match f {
                F::HttpClientIp => Some(Value::Ip(h.client_ip)),
                F::HttpMethod => Some(Value::Str(&h.method)),
                F::HttpHost => s(&h.host),
                F::HttpPath => Some(Value::Str(&h.path)),
                F::HttpQuery => s(&h.query),
                F::HttpVersion => s(&h.http_version),
                F::HttpStatus => n(h.status.map(f64::from)),
                F::HttpUserAgent => s(&h.user_agent),
                F::HttpReferer => s(&h.referer),
                F::HttpBody => s(&h.body),
                F::HttpBytesSent => n(h.bytes_sent.map(|b| b as f64)),
                F::HttpDurationMs => n(h.duration_ms),
                F::HttpSession => s(&h.session),
                F::HttpAccount => s(&h.account),
                F::HttpDevice => s(&h.device),
                _ => None,
            },
            (EventData::Auth(a), f) => match f {
                F::AuthAccount => Some(Value::Str(&a.account)),
                F::AuthIp => Some(Value::Ip(a.ip)),
                F::AuthAction => Some(Value::Str(auth_action(a.action))),
                F::AuthOutcome => Some(Value::Str(match a.outcome {
                    AuthOutcome::Success => "success",
                    AuthOutcome::Failure => "failure",
                })),
                F::AuthReason => s(&a.reason),
                F::AuthDevice => s(&a.device),
                F::AuthUserAgent => s(&a.user_agent),
                _ => None,
            },
            (EventData::Order(o), f) => match f {
                F::OrderId => Some(Value::Str(&o.order_id)),
                F::OrderStatus => Some(Value::Str(order_status(o.status))),
                F::OrderAccount => s(&o.account),
                F::OrderIp => o.ip.map(Value::Ip),
                F::OrderDevice => s(&o.device),
                F::OrderTotal => n(o.total.as_ref().map(|m| m.minor as f64)),
                F::OrderItems => n(o.items.map(f64::from)),
                F::OrderShippingAddress => s(&o.shipping_address_hash),
                _ => None,
            },
            (EventData::PaymentAuthorization(p), f) => match f {
                F::PayId => Some(Value::Str(&p.payment_id)),
                F::PayCard => Some(Value::Str(&p.card_fingerprint)),
                F::PayAmount => Some(Value::Num(p.amount.minor as f64)),
                F::PayCurrency => Some(Value::Str(&p.amount.currency)),
                F::PayOutcome => Some(Value::Str(match p.outcome {
                    PaymentOutcome::Approved => "approved",
                    PaymentOutcome::Declined => "declined",
                    PaymentOutcome::Error => "error",
                })),
                F::PayOrderId => s(&p.order_id),
                F::PayAccount => s(&p.account),
                F::PayBin => s(&p.bin),
                F::PayMerchant => s(&p.merchant),
                F::PayIp => p.ip.map(Value::Ip),
                F::PayDevice => s(&p.device),
                F::PayEmail => s(&p.email_hash),
                F::PayDeclineCode => s(&p.decline_code),
                F::PayThreeDs => s(&p.three_ds),
                _ => None,
            },
            (EventData::Chargeback(c), f) => match f {
                F::CbPaymentId => Some(Value::Str(&c.payment_id)),
                F::CbCard => Some(Value::Str(&c.card_fingerprint)),
                F::CbAmount => Some(Value::Num(c.amount.minor as f64)),
                F::CbReason => s(&c.reason_code),
                F::CbAccount => s(&c.account),
                _ => None,
            },
            (EventData::NetworkFlow(fl), f) => match f {
                F::FlowSrcIp => Some(Value::Ip(fl.src_ip)),
                F::FlowSrcPort => Some(Value::Num(f64::from(fl.src_port))),
                F::FlowDstIp => Some(Value::Ip(fl.dst_ip)),
                F::FlowDstPort => Some(Value::Num(f64::from(fl.dst_port))),
                F::FlowTransport => Some(Value::Str(match fl.transport {
                    Transport::Tcp => "tcp",
                    Transport::Udp => "udp",
                    Transport::Icmp => "icmp",
                    Transport::Other => "other",
                })),
                F::FlowPackets => Some(Value::Num(fl.packets as f64)),
                F::FlowBytes => Some(Value::Num(fl.bytes as f64)),
                F::FlowBytesPerPacket => {
                    Some(Value::Num(fl.bytes as f64 / fl.packets.max(1) as f64))
                }
                F::FlowDurationMs => n(fl.duration_ms.map(|d| d as f64)),
                F::FlowTcpFlags => s(&fl.tcp_flags),
                _ => None,
            },
            _ => None,
        }
    }
}

fn auth_action(a: AuthAction) -> &'static str {
    match a {
        AuthAction::Login => "login",
        AuthAction::Logout => "logout",
        AuthAction::MfaChallenge => "mfa_challenge",
        AuthAction::PasswordReset => "password_reset",
        AuthAction::PasswordChange => "password_change",
        AuthAction::Signup => "signup",
        AuthAction::ProfileChange => "profile_change",
    }
}

fn order_status(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Created => "created",
        OrderStatus::Paid => "paid",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Shipped => "shipped",
        OrderStatus::Delivered => "delivered",
        OrderStatus::Refunded => "refunded",
        OrderStatus::AddressChanged => "address_changed",
        OrderStatus::OnHold => "on_hold",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names we read enums as must be the names serde writes, or rule files would silently
    /// never match.
    #[test]
    fn enum_names_agree_with_serde() {
        use ensuresec_model::event::{AuthAction as A, OrderStatus as O};
        for a in [
            A::Login,
            A::Logout,
            A::MfaChallenge,
            A::PasswordReset,
            A::PasswordChange,
            A::Signup,
            A::ProfileChange,
        ] {
            assert_eq!(
                serde_json::to_value(a).ok(),
                Some(serde_json::json!(auth_action(a)))
            );
        }
        for o in [
            O::Created,
            O::Paid,
            O::Cancelled,
            O::Shipped,
            O::Delivered,
            O::Refunded,
            O::AddressChanged,
            O::OnHold,
        ] {
            assert_eq!(
                serde_json::to_value(o).ok(),
                Some(serde_json::json!(order_status(o)))
            );
        }
    }

    #[test]
    fn lookup_is_per_event_type() {
        assert!(Field::lookup(EventType::Auth, "outcome").is_some());
        assert!(Field::lookup(EventType::HttpRequest, "outcome").is_none());
        assert_eq!(
            Field::lookup(EventType::HttpRequest, "status").map(|f| f.1),
            Some(FieldKind::Number)
        );
    }
}
