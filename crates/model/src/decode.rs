//! Decoding events from untrusted bytes: NDJSON or a JSON array, bounded, with errors that name the
//! line and the field so that a client can fix its batch and resend it.

use chrono::{DateTime, Datelike, Utc};

use crate::event::{Event, EventData, GeoPoint, MAX_ROUTE_POINTS, Money};
use crate::limits::Limits;

/// Oldest customer account accepted on a payment, in days (a century).
const MAX_ACCOUNT_AGE_DAYS: u32 = 36_500;

/// Why a batch was refused. Any error rejects the whole batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A line is not a valid event.
    #[error("line {line}: {}{message}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Invalid {
        /// 1-based line number in the batch.
        line: usize,
        /// Path of the offending field (`data.amount.currency`), when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A line is longer than allowed.
    #[error("line {line}: {len} bytes is over the limit of {limit} bytes per event")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The batch holds more events than allowed.
    #[error("batch holds more than {limit} events")]
    TooManyEvents {
        /// The limit.
        limit: usize,
    },
}

impl DecodeError {
    /// The line the error is on, when it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            DecodeError::Invalid { line, .. } | DecodeError::LineTooLong { line, .. } => {
                Some(*line)
            }
            DecodeError::TooManyEvents { .. } => None,
        }
    }

    /// The field the error is about, when known.
    pub fn field(&self) -> Option<&str> {
        match self {
            DecodeError::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

/// Whether a body is NDJSON (rather than a JSON array): what [`decode_batch`] decides on.
pub fn is_ndjson(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[')
}

/// Decodes a batch: a JSON array if its first non-blank byte is `[`, NDJSON otherwise (blank
/// lines are allowed). `now` is the receiving clock, for the future-skew check.
pub fn decode_batch(
    body: &[u8],
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, DecodeError> {
    if !is_ndjson(body) {
        return decode_array(body, limits, now);
    }
    let mut events = Vec::with_capacity(memchr::memchr_iter(b'\n', body).count() + 1);
    for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if events.len() == limits.max_batch_events {
            return Err(DecodeError::TooManyEvents {
                limit: limits.max_batch_events,
            });
        }
        events.push(decode_line(line, index + 1, limits, now)?);
    }
    Ok(events)
}

/// Decodes and validates one NDJSON line; `line_no` is used in errors.
pub fn decode_line(
    line: &[u8],
    line_no: usize,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Event, DecodeError> {
    if line.len() > limits.max_line_bytes {
        return Err(DecodeError::LineTooLong {
            line: line_no,
            len: line.len(),
            limit: limits.max_line_bytes,
        });
    }
    let event: Event = match serde_json::from_slice(line) {
        Ok(event) => event,
        // The fast path failed: decode again, slowly, to learn which field is wrong.
        Err(_) => return Err(explain(line, line_no)),
    };
    validate(&event, limits, now).map_err(|(field, message)| DecodeError::Invalid {
        line: line_no,
        field: Some(field),
        message,
    })?;
    Ok(event)
}

fn explain(line: &[u8], line_no: usize) -> DecodeError {
    let mut de = serde_json::Deserializer::from_slice(line);
    match serde_path_to_error::deserialize::<_, Event>(&mut de) {
        Ok(_) => DecodeError::Invalid {
            line: line_no,
            field: None,
            message: "trailing characters after the event".into(),
        },
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            DecodeError::Invalid {
                line: line_no,
                field: (path != "." && path != "?").then_some(path),
                message: format!("{} (column {})", strip_position(&inner), inner.column()),
            }
        }
    }
}

/// serde_json appends "at line L column C"; we report our own line numbers instead.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn decode_array(
    body: &[u8],
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let events: Vec<Event> = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        DecodeError::Invalid {
            line: inner.line(),
            field: (path != "." && path != "?").then_some(path),
            message: format!("{} (column {})", strip_position(&inner), inner.column()),
        }
    })?;
    de.end().map_err(|e| DecodeError::Invalid {
        line: e.line(),
        field: None,
        message: "trailing characters after the array".into(),
    })?;
    if events.len() > limits.max_batch_events {
        return Err(DecodeError::TooManyEvents {
            limit: limits.max_batch_events,
        });
    }
    for (index, event) in events.iter().enumerate() {
        validate(event, limits, now).map_err(|(field, message)| DecodeError::Invalid {
            line: 1,
            field: Some(format!("[{index}].{field}")),
            message,
        })?;
    }
    Ok(events)
}

type Invalid = (String, String);

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    (field.to_string(), message.into())
}

/// Whether `time`, an event's or a payment's own, is one a sender's clock could give when the
/// receiving clock reads `now`: not before 1990, nor more than `max_ahead_seconds` ahead. One
/// far-future time would otherwise stop the decay of every count kept for its entities until
/// that time; the error says which bound it broke.
pub fn check_time(
    time: DateTime<Utc>,
    now: DateTime<Utc>,
    max_ahead_seconds: i64,
) -> Result<(), String> {
    if time.year() < 1990 {
        return Err(format!("{time} is before 1990"));
    }
    if (time - now).num_seconds() > max_ahead_seconds {
        return Err(format!(
            "{time} is more than {max_ahead_seconds} s ahead of the receiving clock"
        ));
    }
    Ok(())
}

/// Checks what the types alone cannot: ranges, codes, sizes, plausible times.
fn validate(event: &Event, limits: &Limits, now: DateTime<Utc>) -> Result<(), Invalid> {
    check_time(event.time, now, limits.max_future_skew_seconds)
        .map_err(|message| invalid("time", message))?;
    if event.source.trim().is_empty() {
        return Err(invalid("source", "must not be empty"));
    }
    if event.labels.len() > limits.max_labels {
        return Err(invalid(
            "labels",
            format!(
                "{} labels is over the limit of {}",
                event.labels.len(),
                limits.max_labels
            ),
        ));
    }
    match &event.data {
        EventData::HttpRequest(r) => {
            if r.method.is_empty() || !r.method.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid("data.method", "must be a non-empty token"));
            }
            if r.status.is_some_and(|s| !(100..=599).contains(&s)) {
                return Err(invalid("data.status", "must be between 100 and 599"));
            }
            non_negative("data.duration_ms", r.duration_ms)?;
        }
        EventData::Auth(a) => non_empty("data.account", &a.account)?,
        EventData::Order(o) => {
            non_empty("data.order_id", &o.order_id)?;
            if let Some(total) = &o.total {
                money("data.total", total, false)?;
            }
        }
        EventData::PaymentAuthorization(p) => {
            non_empty("data.payment_id", &p.payment_id)?;
            non_empty("data.card_fingerprint", &p.card_fingerprint)?;
            money("data.amount", &p.amount, false)?;
            if let Some(bin) = &p.bin
                && !(6..=8).contains(&bin.len())
            {
                return Err(invalid("data.bin", "must be 6 to 8 digits"));
            }
            if let Some(bin) = &p.bin
                && !bin.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid("data.bin", "must be 6 to 8 digits"));
            }
            for (field, value) in [
                ("data.billing_country", &p.billing_country),
                ("data.card_country", &p.card_country),
                ("data.ip_country", &p.ip_country),
                ("data.shipping_country", &p.shipping_country),
            ] {
                if let Some(code) = value
                    && (code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()))
                {
                    return Err(invalid(
                        field,
                        format!(
                            "`{code}` is not an ISO 3166-1 alpha-2 code (two upper-case letters)"
                        ),
                    ));
                }
            }
            if p.account_age_days.is_some_and(|d| d > MAX_ACCOUNT_AGE_DAYS) {
                return Err(invalid(
                    "data.account_age_days",
                    format!("over the limit of {MAX_ACCOUNT_AGE_DAYS} days"),
                ));
            }
            geo("data.billing_location", p.billing_location)?;
            geo("data.shipping_location", p.shipping_location)?;
            // A shipping address is placed within its country: without it, they would be
            // dropped unseen.
            if p.shipping_country.is_none() {
                for (field, given) in [
                    ("data.shipping_location", p.shipping_location.is_some()),
                    (
                        "data.shipping_postal_code",
                        p.shipping_postal_code.is_some(),
                    ),
                ] {
                    if given {
                        return Err(invalid(field, "needs data.shipping_country"));
                    }
                }
            }
        }
        EventData::Chargeback(c) => {
            non_empty("data.payment_id", &c.payment_id)?;
            money("data.amount", &c.amount, false)?;
        }
        EventData::FraudVerdict(v) => {
            non_empty("data.payment_id", &v.payment_id)?;
            if let Some(card) = &v.card_fingerprint {
                non_empty("data.card_fingerprint", card)?;
            }
        }
        EventData::DeliveryScan(s) => {
            non_empty("data.parcel_id", &s.parcel_id)?;
            geo("data.location", s.location)?;
            if let Some(h) = &s.photo_sha256
                && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(invalid("data.photo_sha256", "must be 64 hex digits"));
            }
        }
        EventData::SensorReading(s) => {
            non_empty("data.sensor", &s.sensor)?;
            geo("data.location", s.location)?;
            percent("data.humidity_pct", s.humidity_pct)?;
            percent("data.battery_pct", s.battery_pct)?;
            non_negative("data.shock_g", s.shock_g)?;
            non_negative("data.light_lux", s.light_lux)?;
            if s.temperature_c
                .is_some_and(|t| !(-273.15..=1000.0).contains(&t))
            {
                return Err(invalid(
                    "data.temperature_c",
                    "must be between -273.15 and 1000",
                ));
            }
        }
        EventData::DeliveryPlan(p) => {
            non_empty("data.parcel_id", &p.parcel_id)?;
            geo("data.destination", Some(p.destination))?;
            if p.route.len() > MAX_ROUTE_POINTS {
                return Err(invalid(
                    "data.route",
                    format!(
                        "{} points is over the limit of {MAX_ROUTE_POINTS}",
                        p.route.len()
                    ),
                ));
            }
            for (i, point) in p.route.iter().enumerate() {
                geo(&format!("data.route[{i}]"), Some(*point))?;
            }
            if let (Some(start), Some(end)) = (p.shift_start, p.shift_end)
                && end <= start
            {
                return Err(invalid("data.shift_end", "must be after shift_start"));
            }
        }
        EventData::DeliveryClaim(c) => {
            non_empty("data.parcel_id", &c.parcel_id)?;
            non_empty("data.account", &c.account)?;
        }
        EventData::BadgeAccess(b) => {
            non_empty("data.badge", &b.badge)?;
            non_empty("data.zone", &b.zone)?;
        }
        EventData::NetworkFlow(_) => {}
        EventData::FileChange(f) => non_empty("data.path", &f.path)?,
        EventData::PageSnapshot(p) => non_empty("data.url", &p.url)?,
        EventData::PageChange(p) => non_empty("data.url", &p.url)?,
        EventData::CspViolation(v) => non_empty("data.document_uri", &v.document_uri)?,
        EventData::ExternalAlert(a) => {
            non_empty("data.tool", &a.tool)?;
            non_empty("data.signature_id", &a.signature_id)?;
            non_empty("data.signature", &a.signature)?;
        }
    }
    Ok(())
}

fn non_empty(field: &str, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(())
}

fn non_negative(field: &str, value: Option<f64>) -> Result<(), Invalid> {
    if value.is_some_and(|v| v.is_nan() || v < 0.0) {
        return Err(invalid(field, "must not be negative"));
    }
    Ok(())
}

fn percent(field: &str, value: Option<f64>) -> Result<(), Invalid> {
    if value.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
        return Err(invalid(field, "must be between 0 and 100"));
    }
    Ok(())
}

fn geo(field: &str, point: Option<GeoPoint>) -> Result<(), Invalid> {
    if let Some(p) = point {
        if !(-90.0..=90.0).contains(&p.lat) {
            return Err(invalid(
                &format!("{field}.lat"),
                "must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&p.lon) {
            return Err(invalid(
                &format!("{field}.lon"),
                "must be between -180 and 180",
            ));
        }
    }
    Ok(())
}

fn money(field: &str, m: &Money, allow_negative: bool) -> Result<(), Invalid> {
    if m.currency.len() != 3 || !m.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            &format!("{field}.currency"),
            format!(
                "`{}` is not an ISO 4217 code (three upper-case letters)",
                m.currency
            ),
        ));
    }
    if !allow_negative && m.minor < 0 {
        return Err(invalid(&format!("{field}.minor"), "must not be negative"));
    }
    Ok(())
}
