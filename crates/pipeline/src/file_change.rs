//! Unplanned file changes become alerts here: the integrity monitor (crates/integrity) emits a
//! `file_change` event only for a difference from the signed baseline, so every such event is
//! worth an alert, carrying the event's evidence (hashes, sizes, diff).

use ensuresec_model::event::{FileChange, FileChangeKind};
use ensuresec_model::{Alert, EntityKey, EntityKind, Event, Severity};
use serde_json::json;

/// Confidence: the change is certain, its malice is not (an unannounced deploy looks the same).
const CONFIDENCE: f32 = 0.9;

/// Extensions a web server executes or sends to browsers as code: a planted or altered one is a
/// web shell or a skimmer until shown otherwise.
const CODE: &[&str] = &[
    "php", "phtml", "php5", "php7", "phar", "inc", "js", "mjs", "html", "htm", "htaccess", "asp",
    "aspx", "jsp", "cgi", "pl", "py", "sh", "twig", "tpl", "user.ini",
];

fn is_code(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    CODE.iter()
        .any(|ext| name.ends_with(&format!(".{ext}")) || name == format!(".{ext}"))
}

/// The alert a file change becomes.
pub fn alert_of(event: &Event, f: &FileChange) -> Alert {
    let metadata_only = f.change == FileChangeKind::Modified
        && f.hash_before.is_some()
        && f.hash_before == f.hash_after;
    let (what, rule, severity) = match f.change {
        _ if metadata_only => ("mode or owner changed", "file_metadata", Severity::Low),
        FileChangeKind::Created => ("file planted", "file_created", Severity::Medium),
        FileChangeKind::Modified => ("file modified", "file_modified", Severity::Medium),
        FileChangeKind::Deleted => ("file deleted", "file_deleted", Severity::Medium),
        FileChangeKind::Renamed => ("file renamed", "file_renamed", Severity::Medium),
    };
    let severity = if !metadata_only && f.change != FileChangeKind::Deleted && is_code(&f.path) {
        Severity::High
    } else {
        severity
    };
    let (rule, title, severity) = match f.matches.first() {
        Some(m) => (
            "malicious_content",
            format!("malicious content ({}): {}", m.rule, f.path),
            Severity::Critical,
        ),
        None => (rule, format!("{what}: {}", f.path), severity),
    };
    let entity = EntityKey::new(
        EntityKind::Asset,
        f.asset.as_deref().unwrap_or(event.source.as_str()),
    );
    Alert {
        id: 0,
        time: event.time,
        detector: "integrity".into(),
        rule_id: format!("integrity:{rule}"),
        title,
        severity,
        confidence: CONFIDENCE,
        entity,
        evidence: json!({
            "source": event.source,
            "path": f.path,
            "change": f.change,
            "hash_before": f.hash_before,
            "hash_after": f.hash_after,
            "size_before": f.size_before,
            "size": f.size,
            "diff": f.diff,
            "matches": f.matches,
        }),
        tags: vec!["integrity".into()],
        incident_id: None,
        ledger_index: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensuresec_model::{Detector, EventData, EventType};

    fn event(
        path: &str,
        change: FileChangeKind,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Event {
        Event {
            time: chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .map(|t| t.to_utc())
                .unwrap_or_default(),
            ingest_time: None,
            source: "integrity:/var/www".into(),
            labels: Default::default(),
            data: EventData::FileChange(FileChange {
                path: path.into(),
                change,
                asset: Some("web-1".into()),
                hash_before: before.map(String::from),
                hash_after: after.map(String::from),
                size: Some(10),
                size_before: Some(8),
                diff: Some("+1 -0 lines\n  + evil()".into()),
                matches: Vec::new(),
            }),
        }
    }

    fn one(e: &Event) -> Alert {
        let mut out = Vec::new();
        crate::integrity::IntegrityDetector.on_event(e, &mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn planted_code_is_high_with_evidence() {
        let a = one(&event(
            "pub/x.php",
            FileChangeKind::Created,
            None,
            Some("bb"),
        ));
        assert_eq!(a.rule_id, "integrity:file_created");
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.entity.to_string(), "asset:web-1");
        assert_eq!(a.evidence["hash_after"], "bb");
        assert_eq!(a.evidence["diff"], "+1 -0 lines\n  + evil()");
    }

    #[test]
    fn a_content_match_is_critical_and_quoted() {
        let mut e = event("img/logo.gif", FileChangeKind::Created, None, Some("cc"));
        if let EventData::FileChange(f) = &mut e.data {
            f.matches.push(ensuresec_model::event::ContentMatch {
                rule: "php_hidden_in_image".into(),
                strings: vec!["$php@6: <?php".into()],
            });
        }
        let a = one(&e);
        assert_eq!(a.rule_id, "integrity:malicious_content");
        assert_eq!(a.severity, Severity::Critical);
        assert!(a.title.contains("php_hidden_in_image"), "{}", a.title);
        assert_eq!(a.evidence["matches"][0]["strings"][0], "$php@6: <?php");
    }

    #[test]
    fn other_changes_are_graded() {
        let a = one(&event(
            "img/a.png",
            FileChangeKind::Modified,
            Some("aa"),
            Some("bb"),
        ));
        assert_eq!(
            (a.rule_id.as_str(), a.severity),
            ("integrity:file_modified", Severity::Medium)
        );
        let a = one(&event(
            "index.php",
            FileChangeKind::Modified,
            Some("aa"),
            Some("aa"),
        ));
        assert_eq!(
            (a.rule_id.as_str(), a.severity),
            ("integrity:file_metadata", Severity::Low)
        );
        let a = one(&event(
            "index.php",
            FileChangeKind::Deleted,
            Some("aa"),
            None,
        ));
        assert_eq!(
            (a.rule_id.as_str(), a.severity),
            ("integrity:file_deleted", Severity::Medium)
        );
        assert!(!crate::integrity::IntegrityDetector.accepts(EventType::HttpRequest));
    }
}
