//! Content-Security-Policy directives, and whether a new policy lets more through than an old
//! one. A policy is `directive value value; directive …`; names are case-insensitive, the first
//! occurrence of a directive counts (CSP3 §2.2), and per-response nonces compare equal.

use std::collections::{BTreeMap, BTreeSet};

/// Largest policy parsed, in bytes; longer ones are cut (a real one is a few KiB).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// A parsed policy: directive name (lower case) to its source expressions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Directives in name order.
    pub directives: BTreeMap<String, BTreeSet<String>>,
}

/// Sources that open a policy wide: each one added is named in the finding.
const RISKY: &[&str] = &[
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'unsafe-hashes'",
    "'wasm-unsafe-eval'",
    "*",
    "http:",
    "https:",
    "data:",
    "blob:",
    "filesystem:",
];

impl Policy {
    /// Parses a header value. Several policies (comma-separated) are read as one, first
    /// occurrence of each directive winning.
    pub fn parse(text: &str) -> Policy {
        let text = cut(text, MAX_POLICY_BYTES);
        let mut directives = BTreeMap::new();
        for part in text.split([';', ',']) {
            let mut tokens = part.split_ascii_whitespace();
            let Some(name) = tokens.next() else { continue };
            let name = name.to_ascii_lowercase();
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                continue;
            }
            let values = tokens.map(normalise).collect();
            directives.entry(name).or_insert(values);
        }
        Policy { directives }
    }
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Keywords are case-insensitive; nonces change with every response, so they all compare equal.
fn normalise(source: &str) -> String {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("'nonce-") {
        "'nonce-…'".into()
    } else if lower.starts_with('\'') || lower.ends_with(':') || lower == "*" {
        lower
    } else {
        source.to_owned()
    }
}

/// How a policy was weakened; empty when it was not.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Weakening {
    /// Directives the old policy had and the new one lacks.
    pub removed_directives: Vec<String>,
    /// `directive: source` pairs the new policy allows and the old did not.
    pub added_sources: Vec<String>,
    /// The added sources that open the policy wide (`'unsafe-inline'`, `*`, `https:`…).
    pub risky: Vec<String>,
    /// Sources removed from a directive that had `'none'` (now something is allowed).
    pub none_lifted: Vec<String>,
}

impl Weakening {
    /// Nothing got weaker.
    pub fn is_empty(&self) -> bool {
        self.removed_directives.is_empty() && self.added_sources.is_empty()
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.removed_directives.is_empty() {
            parts.push(format!("removed {}", self.removed_directives.join(", ")));
        }
        if !self.risky.is_empty() {
            parts.push(format!("added {}", self.risky.join(", ")));
        }
        let others: Vec<&String> = self
            .added_sources
            .iter()
            .filter(|s| !self.risky.contains(s))
            .collect();
        if !others.is_empty() {
            parts.push(format!(
                "allowed {}",
                others
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        parts.join("; ")
    }
}

/// What `new` allows that `old` did not. Adding a directive only restricts, so it is not
/// reported; report endpoints (`report-uri`, `report-to`) are reported when removed.
pub fn weakening(old: &Policy, new: &Policy) -> Weakening {
    let mut w = Weakening::default();
    for (name, old_values) in &old.directives {
        let Some(new_values) = new.directives.get(name) else {
            w.removed_directives.push(name.clone());
            continue;
        };
        if matches!(name.as_str(), "report-uri" | "report-to") {
            continue;
        }
        for added in new_values.difference(old_values) {
            if added == "'none'" || added == "'strict-dynamic'" || added == "'report-sample'" {
                continue;
            }
            let pair = format!("{name}: {added}");
            if RISKY.contains(&added.as_str()) {
                w.risky.push(pair.clone());
            }
            if old_values.contains("'none'") {
                w.none_lifted.push(pair.clone());
            }
            w.added_sources.push(pair);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_inline_a_new_host_and_a_removed_directive_are_weakenings() {
        let old = Policy::parse(
            "default-src 'self'; script-src 'self' 'nonce-abc' https://js.psp.example; frame-ancestors 'none'; report-uri /csp",
        );
        let new = Policy::parse(
            "default-src 'self'; SCRIPT-SRC 'self' 'nonce-xyz' https://js.psp.example 'unsafe-inline' https://evil.example; report-uri /csp",
        );
        let w = weakening(&old, &new);
        assert_eq!(w.removed_directives, vec!["frame-ancestors"]);
        assert_eq!(
            w.added_sources,
            vec![
                "script-src: 'unsafe-inline'".to_string(),
                "script-src: https://evil.example".to_string()
            ]
        );
        assert_eq!(w.risky, vec!["script-src: 'unsafe-inline'".to_string()]);
        let text = w.describe();
        assert!(text.contains("removed frame-ancestors"), "{text}");
        assert!(
            text.contains("allowed script-src: https://evil.example"),
            "{text}"
        );
    }

    #[test]
    fn a_stricter_policy_or_a_new_nonce_is_not_a_weakening() {
        let old = Policy::parse("script-src 'self' 'nonce-1' https://a.example");
        let new = Policy::parse("script-src 'self' 'nonce-2'; object-src 'none'");
        assert!(weakening(&old, &new).is_empty());
    }

    #[test]
    fn the_first_occurrence_of_a_directive_counts() {
        let p = Policy::parse("script-src 'self'; script-src *");
        assert_eq!(
            p.directives["script-src"],
            BTreeSet::from(["'self'".to_string()])
        );
    }
}
