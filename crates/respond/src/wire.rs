//! Decisions as CrowdSec's JSON, serialised once. A poll answer holds every decision that changed
//! since the bouncer's last pull, for every bouncer, so serialising each decision again per poll
//! dominated the cost of serving the stream. The book keeps each decision's text split around its
//! only time-dependent field (`duration`); an answer is then concatenation.

use chrono::{DateTime, Utc};

use crate::decision::{Decision, write_go_duration};

/// One decision's [`CsDecision`](crate::decision::CsDecision) JSON, without its `duration`.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    head: Box<str>,
    tail: Box<str>,
}

/// A JSON string literal (serialising a `&str` cannot fail).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Wire {
    /// The text of `d`, in the field order of `CsDecision`.
    pub(crate) fn of(d: &Decision) -> Wire {
        let head = format!(
            r#"{{"id":{},"origin":{},"type":{},"scope":{},"value":{},"duration":""#,
            d.id,
            quoted(&d.origin),
            quoted(d.kind.as_str()),
            quoted(d.scope.crowdsec()),
            quoted(&d.value),
        );
        let tail = format!(
            r#"","scenario":{},"simulated":false,"uuid":"ensuresec-decision-{}"}}"#,
            quoted(&d.scenario),
            d.id,
        );
        Wire {
            head: head.into(),
            tail: tail.into(),
        }
    }

    /// Appends the text of `d` (which this was made of) as seen at `now` to `out`.
    pub(crate) fn write(&self, d: &Decision, now: DateTime<Utc>, out: &mut String) {
        out.push_str(&self.head);
        write_go_duration((d.until - now).num_seconds().max(0), out);
        out.push_str(&self.tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{CsDecision, DecisionKind, DecisionScope};
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn check(value: &str, origin: &str, scenario: &str, left_seconds: i64) {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 22, 4, 0, 0)
            .single()
            .unwrap();
        let d = Decision {
            id: 42,
            kind: DecisionKind::Challenge,
            scope: DecisionScope::Range,
            value: value.into(),
            origin: origin.into(),
            scenario: scenario.into(),
            incident_id: Some(7),
            created: now,
            until: now + Duration::seconds(left_seconds),
            deleted: None,
            ledger_index: Some(3),
        };
        let mut text = String::new();
        Wire::of(&d).write(&d, now, &mut text);
        let expected = serde_json::to_string(&CsDecision::from_decision(&d, now)).unwrap();
        assert_eq!(text, expected);
    }

    #[test]
    fn text_is_what_serde_writes_for_the_crowdsec_shape() {
        check(
            "203.0.113.0/24",
            "playbook:ban",
            "credential-stuffing",
            3599,
        );
        check("a \"quoted\" \\ value\n", "api:ops", "ünïcode ☃", 0);
        check("2001:db8::/32", "cli", "", -5);
    }

    proptest! {
        #[test]
        fn any_strings_match_serde(value in ".{0,40}", origin in ".{0,20}", scenario in ".{0,40}", left in -10i64..400_000) {
            check(&value, &origin, &scenario, left);
        }
    }
}
