//! Findings of the payment-page monitor (`page_change`) and browsers' CSP violation reports
//! (`csp_violation`) become alerts here. The monitor emits a `page_change` only for a difference
//! worth telling (or an unauthorised script's reminder), so each is one alert carrying the
//! event's evidence; a violation report is one alert, graded by what was blocked.

use ensuresec_model::event::{CspViolation, PageChange, PageChangeKind};
use ensuresec_model::{Alert, EntityKey, EntityKind, Event, Severity};
use serde_json::json;

/// Directives whose violation is how a skimmer shows up in a browser: a script from elsewhere,
/// data sent elsewhere, a form posting elsewhere, a frame from elsewhere.
const SKIMMING_DIRECTIVES: &[&str] = &[
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "connect-src",
    "form-action",
    "frame-src",
    "child-src",
    "default-src",
];

fn entity(event: &Event, asset: &Option<String>, fallback: &str) -> EntityKey {
    let value = asset
        .as_deref()
        .or((!fallback.is_empty()).then_some(fallback))
        .unwrap_or(event.source.as_str());
    EntityKey::new(EntityKind::Asset, value)
}

fn alert(
    event: &Event,
    rule: &str,
    title: String,
    severity: Severity,
    entity: EntityKey,
    evidence: serde_json::Value,
) -> Alert {
    Alert {
        id: 0,
        time: event.time,
        detector: "integrity".into(),
        rule_id: format!("integrity:{rule}"),
        title,
        severity,
        confidence: 0.9,
        entity,
        evidence,
        tags: vec!["integrity".into(), "e-skimming".into()],
        incident_id: None,
        ledger_index: None,
    }
}

/// The alert a page change becomes.
pub fn page_alert(event: &Event, p: &PageChange) -> Alert {
    let (rule, severity) = match p.change {
        PageChangeKind::ScriptAdded => ("page_script_added", Severity::High),
        PageChangeKind::ScriptChanged => ("page_script_changed", Severity::High),
        PageChangeKind::ScriptUnauthorized => ("page_script_unauthorized", Severity::Medium),
        PageChangeKind::FormAction => ("page_form_action", Severity::High),
        PageChangeKind::CspWeakened => ("page_csp_weakened", Severity::High),
        PageChangeKind::HeaderChanged => ("page_header_changed", Severity::Medium),
        PageChangeKind::Defacement => ("page_defacement", Severity::High),
    };
    alert(
        event,
        rule,
        format!("{} on {}", p.summary, p.url),
        severity,
        entity(event, &p.asset, ""),
        json!({
            "source": event.source,
            "url": p.url,
            "change": p.change,
            "details": p.evidence,
        }),
    )
}

/// The alert a CSP violation report becomes: `medium` for a blocked script, connection, form
/// or frame (a skimmer's footprint), `low` otherwise.
pub fn csp_alert(event: &Event, v: &CspViolation) -> Alert {
    let directive = v.effective_directive.as_deref().unwrap_or("unknown");
    let severity = if SKIMMING_DIRECTIVES.contains(&directive) {
        Severity::Medium
    } else {
        Severity::Low
    };
    let blocked = v.blocked_uri.as_deref().unwrap_or("(unknown)");
    alert(
        event,
        "csp_violation",
        format!("CSP {directive} blocked {blocked} on {}", v.document_uri),
        severity,
        entity(event, &v.asset, &v.document_uri),
        serde_json::to_value(v).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensuresec_model::{Detector, EventData, EventType};

    fn event(data: EventData) -> Event {
        Event {
            time: chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .map(|t| t.to_utc())
                .unwrap_or_default(),
            ingest_time: None,
            source: "integrity:pages".into(),
            labels: Default::default(),
            data,
        }
    }

    fn one(e: &Event) -> Alert {
        let mut out = Vec::new();
        crate::integrity::IntegrityDetector.on_event(e, &mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn a_new_script_is_high_with_the_monitor_evidence() {
        let a = one(&event(EventData::PageChange(PageChange {
            url: "https://shop.example/checkout".into(),
            change: PageChangeKind::ScriptAdded,
            asset: Some("shop".into()),
            summary: "new script: https://evil.example/s.js".into(),
            evidence: json!({"sha256": "ab"}),
        })));
        assert_eq!(a.rule_id, "integrity:page_script_added");
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.entity.to_string(), "asset:shop");
        assert_eq!(a.evidence["details"]["sha256"], "ab");
        assert!(a.title.contains("evil.example"), "{}", a.title);
    }

    #[test]
    fn a_blocked_script_report_is_medium_and_a_blocked_font_low() {
        let mut v = CspViolation {
            document_uri: "https://shop.example/checkout".into(),
            blocked_uri: Some("https://evil.example/x.js".into()),
            effective_directive: Some("script-src-elem".into()),
            disposition: None,
            original_policy: None,
            source_file: None,
            line: None,
            sample: None,
            client_ip: Some("192.0.2.1".into()),
            asset: None,
        };
        let a = one(&event(EventData::CspViolation(v.clone())));
        assert_eq!(a.rule_id, "integrity:csp_violation");
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.evidence["blocked_uri"], "https://evil.example/x.js");
        assert_eq!(a.entity.to_string(), "asset:https://shop.example/checkout");
        v.effective_directive = Some("font-src".into());
        assert_eq!(
            one(&event(EventData::CspViolation(v))).severity,
            Severity::Low
        );
        let detector = crate::integrity::IntegrityDetector;
        assert!(
            detector.accepts(EventType::CspViolation) && detector.accepts(EventType::PageChange)
        );
        assert!(!detector.accepts(EventType::HttpRequest));
    }
}
