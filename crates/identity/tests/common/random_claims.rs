//! Random claim trees with random disclosable and revealed subsets, and the claims a verifier
//! must then see: the model the property tests compare the implementation with.

use ensuresec_identity::ClaimPath;
use ensuresec_identity::jws::JsonObject;
use proptest::prelude::*;
use serde_json::Value;

/// Claim names; `cnf` and friends are added by the tests themselves.
const NAMES: [&str; 6] = ["a", "b", "given_name", "18", "address", "x y"];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z0-9 äöü太郎\"\\\\]{0,12}".prop_map(Value::String),
        Just(Value::Null),
    ]
}

/// A claims object up to three levels deep, with arrays.
pub fn claims() -> impl Strategy<Value = JsonObject> {
    let value = leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(proptest::sample::select(&NAMES[..]), inner, 0..4)
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
        ]
    });
    proptest::collection::btree_map(proptest::sample::select(&NAMES[..]), value, 1..5)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Every claim path below the root (object members and array elements), parents first.
pub fn all_paths(value: &Value, at: &ClaimPath, out: &mut Vec<ClaimPath>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(at.child(k));
                all_paths(v, &at.child(k), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                out.push(at.child(&i.to_string()));
                all_paths(v, &at.child(&i.to_string()), out);
            }
        }
        _ => {}
    }
}

/// Picks the paths whose mask bit is set (the mask repeats when shorter).
pub fn pick(paths: &[ClaimPath], mask: &[bool]) -> Vec<ClaimPath> {
    paths
        .iter()
        .enumerate()
        .filter(|(i, _)| mask[i % mask.len()])
        .map(|(_, p)| p.clone())
        .collect()
}

/// What the verifier must see: a disclosable claim is there when a revealed path lies on it or
/// below it (its disclosure is needed) or above it (revealed whole); plain claims always.
pub fn expected(
    value: &Value,
    at: &ClaimPath,
    disclosable: &[ClaimPath],
    revealed: &[ClaimPath],
) -> Value {
    let visible = |p: &ClaimPath| {
        !disclosable.contains(p)
            || revealed
                .iter()
                .any(|r| r.is_prefix_of(p) || p.is_prefix_of(r))
    };
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| visible(&at.child(k)))
                .map(|(k, v)| (k.clone(), expected(v, &at.child(k), disclosable, revealed)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .filter(|(i, _)| visible(&at.child(&i.to_string())))
                .map(|(i, v)| expected(v, &at.child(&i.to_string()), disclosable, revealed))
                .collect(),
        ),
        other => other.clone(),
    }
}
