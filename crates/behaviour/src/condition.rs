//! Conditions on payload fields, as written under `where:` in a rule file, compiled per event
//! type so that checking one is a field read and a comparison.
//!
//! Forms: a scalar (`outcome: failure`, `status: 4xx` for a status class), a list (any of), or a
//! map with one operator: `eq`, `in`, `not_in`, `prefix`, `suffix`, `contains` (these three
//! compare ASCII case-insensitively and take one string or a list), `lt`, `le`, `gt`, `ge`,
//! `exists`.

use std::net::IpAddr;

use ensuresec_model::{Event, EventType};
use serde_yaml_ng::Value as Yaml;

use crate::field::{Field, FieldKind, Value};

/// A literal a field is compared with, typed after the field.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Text.
    Text(String),
    /// A number.
    Num(f64),
    /// An address.
    Ip(IpAddr),
}

impl Scalar {
    fn matches(&self, v: &Value<'_>) -> bool {
        match (self, v) {
            (Scalar::Text(a), Value::Str(b)) => a == b,
            (Scalar::Num(a), Value::Num(b)) => a == b,
            (Scalar::Ip(a), Value::Ip(b)) => a == b,
            _ => false,
        }
    }
}

/// What a condition tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal to the literal.
    Eq(Scalar),
    /// Equal to one of the literals.
    In(Vec<Scalar>),
    /// Present and equal to none of the literals.
    NotIn(Vec<Scalar>),
    /// An HTTP status in this class (`4xx` → 4).
    StatusClass(u16),
    /// Text starting with one of these (ASCII case-insensitive).
    Prefix(Vec<String>),
    /// Text ending with one of these (ASCII case-insensitive).
    Suffix(Vec<String>),
    /// Text containing one of these (ASCII case-insensitive).
    Contains(Vec<String>),
    /// A number below this.
    Lt(f64),
    /// A number at most this.
    Le(f64),
    /// A number above this.
    Gt(f64),
    /// A number at least this.
    Ge(f64),
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
}

impl Op {
    /// Whether a field value (or its absence) satisfies the test.
    pub fn matches(&self, value: Option<Value<'_>>) -> bool {
        let Some(v) = value else {
            return matches!(self, Op::Exists(false));
        };
        match self {
            Op::Eq(s) => s.matches(&v),
            Op::In(list) => list.iter().any(|s| s.matches(&v)),
            Op::NotIn(list) => !list.iter().any(|s| s.matches(&v)),
            Op::StatusClass(c) => {
                matches!(v, Value::Num(n) if (n / 100.0).floor() == f64::from(*c))
            }
            Op::Prefix(list) => text(&v).is_some_and(|t| list.iter().any(|p| starts_with_ci(t, p))),
            Op::Suffix(list) => text(&v).is_some_and(|t| list.iter().any(|p| ends_with_ci(t, p))),
            Op::Contains(list) => text(&v).is_some_and(|t| list.iter().any(|p| contains_ci(t, p))),
            Op::Lt(x) => num(&v).is_some_and(|n| n < *x),
            Op::Le(x) => num(&v).is_some_and(|n| n <= *x),
            Op::Gt(x) => num(&v).is_some_and(|n| n > *x),
            Op::Ge(x) => num(&v).is_some_and(|n| n >= *x),
            Op::Exists(want) => *want,
        }
    }
}

fn text<'a>(v: &Value<'a>) -> Option<&'a str> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

fn num(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Num(n) => Some(*n),
        _ => None,
    }
}

fn starts_with_ci(hay: &str, needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay.as_bytes()[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

fn ends_with_ci(hay: &str, needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay.as_bytes()[hay.len() - needle.len()..].eq_ignore_ascii_case(needle.as_bytes())
}

/// Case-insensitive substring search: `memchr` finds the candidates for the needle's first byte
/// (either case), and only those are compared. Needles are stored lowercase.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    if h.len() < n.len() {
        return false;
    }
    let last_start = h.len() - n.len();
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), &h[..=last_start])
        .any(|i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// A condition as it applies to one event type.
pub(crate) enum ForType<'a> {
    /// Holds for every event of the type (`exists: false` on a field the type lacks).
    Always,
    /// Holds for no event of the type (a field the type lacks).
    Never,
    /// Holds when the field's value passes the test.
    Test(Field, &'a Op),
}

/// One `field: test` pair, resolved for each event type the rule reads.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The field name as written.
    pub field: String,
    /// The field and the compiled test, per event type that has the field.
    per_type: Vec<(EventType, Field, Op)>,
}

impl Condition {
    /// Whether the event satisfies it; an event type without the field fails (unless the test is
    /// `exists: false`).
    #[inline]
    pub fn matches(&self, event: &Event) -> bool {
        match self.for_type(event.event_type()) {
            ForType::Always => true,
            ForType::Never => false,
            ForType::Test(field, op) => op.matches(field.read(event)),
        }
    }

    /// What the condition is for events of one type (how detectors compile it).
    pub(crate) fn for_type(&self, ty: EventType) -> ForType<'_> {
        match self.per_type.iter().find(|(t, ..)| *t == ty) {
            Some((_, field, op)) => ForType::Test(*field, op),
            None if matches!(self.per_type.first(), Some((_, _, Op::Exists(false)))) => {
                ForType::Always
            }
            None => ForType::Never,
        }
    }

    /// Compiles `field: value` for the given event types; the error says what is wrong with it.
    pub(crate) fn compile(
        field: &str,
        value: &Yaml,
        types: &[EventType],
    ) -> Result<Condition, String> {
        let mut per_type = Vec::new();
        for ty in types {
            if let Some((f, kind)) = Field::lookup(*ty, field) {
                per_type.push((
                    *ty,
                    f,
                    parse_op(value, kind).map_err(|m| format!("`{field}`: {m}"))?,
                ));
            }
        }
        if per_type.is_empty() {
            let known: Vec<String> = types
                .iter()
                .map(|t| format!("{t}: {}", Field::names(*t).join(", ")))
                .collect();
            return Err(format!(
                "unknown field `{field}` (known fields: {})",
                known.join("; ")
            ));
        }
        Ok(Condition {
            field: field.to_string(),
            per_type,
        })
    }
}

/// Reads a field for a rule over several event types (for `distinct`, `sum`, bucket weights).
#[derive(Debug, Clone)]
pub struct FieldRef {
    /// The name as written.
    pub name: String,
    per_type: Vec<(EventType, Field)>,
}

impl FieldRef {
    /// Resolves a field name for the rule's event types, optionally requiring numbers.
    pub(crate) fn resolve(
        name: &str,
        types: &[EventType],
        numeric: bool,
    ) -> Result<FieldRef, String> {
        let mut per_type = Vec::new();
        for ty in types {
            if let Some((f, kind)) = Field::lookup(*ty, name) {
                if numeric && kind != FieldKind::Number {
                    return Err(format!("`{name}` is not a number field of {ty}"));
                }
                per_type.push((*ty, f));
            }
        }
        if per_type.is_empty() {
            let known: Vec<String> = types
                .iter()
                .map(|t| format!("{t}: {}", Field::names(*t).join(", ")))
                .collect();
            return Err(format!(
                "unknown field `{name}` (known fields: {})",
                known.join("; ")
            ));
        }
        Ok(FieldRef {
            name: name.to_string(),
            per_type,
        })
    }

    /// Reads it off an event.
    #[inline]
    pub fn read<'a>(&self, event: &'a Event) -> Option<Value<'a>> {
        self.for_type(event.event_type())
            .and_then(|f| f.read(event))
    }

    /// The field it reads on events of one type, if that type has it.
    pub(crate) fn for_type(&self, ty: EventType) -> Option<Field> {
        self.per_type
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, f)| *f)
    }
}

const OPS: &str = "eq, in, not_in, prefix, suffix, contains, lt, le, gt, ge, exists";

fn parse_op(value: &Yaml, kind: FieldKind) -> Result<Op, String> {
    match value {
        Yaml::Sequence(items) => Ok(Op::In(
            items
                .iter()
                .map(|v| scalar(v, kind))
                .collect::<Result<_, _>>()?,
        )),
        Yaml::Mapping(map) => {
            let mut entries = map.iter();
            let (Some((Yaml::String(op), arg)), None) = (entries.next(), entries.next()) else {
                return Err(format!("a map condition takes exactly one operator: {OPS}"));
            };
            let texts = |arg: &Yaml| -> Result<Vec<String>, String> {
                if kind != FieldKind::Text {
                    return Err(format!("`{op}` applies to text fields only"));
                }
                let list = match arg {
                    Yaml::String(s) => vec![s.to_ascii_lowercase()],
                    Yaml::Sequence(items) => items
                        .iter()
                        .map(|v| match v {
                            Yaml::String(s) => Ok(s.to_ascii_lowercase()),
                            _ => Err(format!("`{op}` takes strings")),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(format!("`{op}` takes a string or a list of strings")),
                };
                if list.is_empty() {
                    return Err(format!("`{op}` needs at least one string"));
                }
                Ok(list)
            };
            let number = |arg: &Yaml| -> Result<f64, String> {
                if kind != FieldKind::Number {
                    return Err(format!("`{op}` applies to number fields only"));
                }
                arg.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("`{op}` takes a number"))
            };
            let list = |arg: &Yaml| -> Result<Vec<Scalar>, String> {
                match arg {
                    Yaml::Sequence(items) => items.iter().map(|v| scalar(v, kind)).collect(),
                    other => Ok(vec![scalar(other, kind)?]),
                }
            };
            Ok(match op.as_str() {
                "eq" => {
                    return parse_op(arg, kind).and_then(|o| match o {
                        Op::Eq(_) | Op::StatusClass(_) => Ok(o),
                        _ => Err("`eq` takes a single value".into()),
                    });
                }
                "in" => Op::In(list(arg)?),
                "not_in" => Op::NotIn(list(arg)?),
                "prefix" => Op::Prefix(texts(arg)?),
                "suffix" => Op::Suffix(texts(arg)?),
                "contains" => Op::Contains(texts(arg)?),
                "lt" => Op::Lt(number(arg)?),
                "le" => Op::Le(number(arg)?),
                "gt" => Op::Gt(number(arg)?),
                "ge" => Op::Ge(number(arg)?),
                "exists" => Op::Exists(arg.as_bool().ok_or("`exists` takes true or false")?),
                other => return Err(format!("unknown operator `{other}`, expected one of {OPS}")),
            })
        }
        Yaml::String(s) if kind == FieldKind::Number => match status_class(s) {
            Some(c) => Ok(Op::StatusClass(c)),
            None => Ok(Op::Eq(scalar(value, kind)?)),
        },
        _ => Ok(Op::Eq(scalar(value, kind)?)),
    }
}

fn scalar(value: &Yaml, kind: FieldKind) -> Result<Scalar, String> {
    let text = match value {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        _ => return Err("values must be strings, numbers or booleans".into()),
    };
    match kind {
        FieldKind::Text => Ok(Scalar::Text(text)),
        FieldKind::Number => text
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Scalar::Num)
            .ok_or_else(|| format!("`{text}` is not a number")),
        FieldKind::Address => text
            .parse()
            .map(Scalar::Ip)
            .map_err(|_| format!("`{text}` is not an address")),
    }
}

/// `4xx` → 4.
fn status_class(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    (b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx"))
        .then(|| u16::from(b[0] - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(yaml: &str, kind: FieldKind) -> Result<Op, String> {
        let v: Yaml = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        parse_op(&v, kind)
    }

    #[test]
    fn forms_compile_to_the_expected_test() {
        assert_eq!(op("4xx", FieldKind::Number), Ok(Op::StatusClass(4)));
        assert_eq!(op("404", FieldKind::Number), Ok(Op::Eq(Scalar::Num(404.0))));
        assert_eq!(
            op("[a, b]", FieldKind::Text),
            Ok(Op::In(vec![
                Scalar::Text("a".into()),
                Scalar::Text("b".into())
            ]))
        );
        assert_eq!(
            op("{ prefix: /WP- }", FieldKind::Text),
            Ok(Op::Prefix(vec!["/wp-".into()]))
        );
        assert_eq!(op("{ lt: 500 }", FieldKind::Number), Ok(Op::Lt(500.0)));
        assert!(
            op("{ lt: 500 }", FieldKind::Text)
                .unwrap_err()
                .contains("number fields only")
        );
        assert!(
            op("{ prefix: x }", FieldKind::Number)
                .unwrap_err()
                .contains("text fields only")
        );
        assert!(
            op("{ like: x }", FieldKind::Text)
                .unwrap_err()
                .contains("unknown operator `like`")
        );
        assert!(
            op("{ lt: 1, gt: 0 }", FieldKind::Number)
                .unwrap_err()
                .contains("exactly one operator")
        );
        assert!(
            op("nope", FieldKind::Address)
                .unwrap_err()
                .contains("not an address")
        );
    }

    #[test]
    fn text_tests_ignore_ascii_case() {
        let ua = Value::Str("Mozilla/5.0 HeadlessChrome/131");
        assert!(Op::Contains(vec!["headlesschrome".into()]).matches(Some(ua)));
        assert!(Op::Prefix(vec!["mozilla".into()]).matches(Some(ua)));
        assert!(Op::Suffix(vec!["/131".into()]).matches(Some(ua)));
        assert!(!Op::Suffix(vec!["chrome".into()]).matches(Some(ua)));
        assert!(Op::Exists(false).matches(None));
        assert!(
            !Op::NotIn(vec![]).matches(None),
            "absent fields fail every value test"
        );
    }
}
