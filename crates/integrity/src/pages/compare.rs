//! What differs between a page's recorded inventory and a new fetch, as `page_change` findings
//! with their evidence. The new fetch then becomes the record, so each change is reported once;
//! unauthorised scripts are the exception: they are reported again every `reminder_seconds`
//! until authorised or gone.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ensuresec_model::event::{PageChange, PageChangeKind};
use serde_json::json;

use super::authz::Authorizations;
use super::config::PageMonitorConfig;
use super::csp::{Policy, weakening};
use super::inventory::{Inventory, SECURITY_HEADERS, Script};
use super::similarity;
use super::store::PageRecord;

/// Compares `new` with the record of the previous fetch (none on the first), returning the
/// findings and the record to keep.
pub fn compare(
    previous: Option<&PageRecord>,
    new: Inventory,
    authorizations: &Authorizations,
    settings: &PageMonitorConfig,
    asset: Option<&str>,
    now: DateTime<Utc>,
) -> (Vec<PageChange>, PageRecord) {
    let mut out = Vec::new();
    let finding = |change, summary: String, evidence| PageChange {
        url: new.url.clone(),
        change,
        asset: asset.map(str::to_owned),
        summary,
        evidence,
    };
    let mut reported = previous.map(|p| p.reported.clone()).unwrap_or_default();
    let old = previous.map(|p| &p.inventory);

    let mut seen = BTreeSet::new();
    for script in &new.scripts {
        let key = script.key();
        if !seen.insert(key.clone()) {
            continue;
        }
        if authorizations.covers(script) {
            reported.remove(&key);
            continue;
        }
        let authorised = authorizations.get(&key);
        let before: Option<&Script> = old.and_then(|o| o.scripts.iter().find(|s| s.key() == key));
        let evidence = json!({
            "script": key,
            "src": script.src,
            "sha256": script.sha256,
            "sha256_before": before.and_then(|b| b.sha256.clone()),
            "authorized_sha256": authorised.map(|a| a.sha256.clone()),
            "integrity": script.integrity,
            "sri_valid": script.sri_valid,
            "note": script.note,
        });
        let changed_since_seen = before.is_some_and(|b| b.sha256 != script.sha256);
        // Authorised with other content, and not reported yet.
        let changed_since_authorised = authorised.is_some() && !reported.contains_key(&key);
        let (kind, summary) = if changed_since_seen || changed_since_authorised {
            (
                PageChangeKind::ScriptChanged,
                format!("script changed: {key}"),
            )
        } else if old.is_some() && before.is_none() {
            (PageChangeKind::ScriptAdded, format!("new script: {key}"))
        } else {
            let due = reported
                .get(&key)
                .is_none_or(|last| (now - *last).num_seconds() >= settings.reminder_seconds as i64);
            if !due {
                continue;
            }
            (
                PageChangeKind::ScriptUnauthorized,
                format!("unauthorised script: {key}"),
            )
        };
        reported.insert(key, now);
        out.push(finding(kind, summary, evidence));
    }
    // Scripts gone from the page need no reminder.
    reported.retain(|k, _| seen.contains(k));

    if let Some(old) = old {
        let known: BTreeSet<String> = old.forms.iter().map(|f| f.origin()).collect();
        let mut flagged = BTreeSet::new();
        for form in &new.forms {
            let origin = form.origin();
            if !known.contains(&origin) && flagged.insert(origin.clone()) {
                out.push(finding(
                    PageChangeKind::FormAction,
                    format!("form posts to a new origin: {origin}"),
                    json!({
                        "action": form.action,
                        "method": form.method,
                        "origin": origin,
                        "actions_before": old.forms.iter().map(|f| &f.action).collect::<Vec<_>>(),
                    }),
                ));
            }
        }

        match (old.csp(), new.csp()) {
            (Some(before), Some(after)) => {
                let w = weakening(&Policy::parse(before), &Policy::parse(after));
                if !w.is_empty() {
                    out.push(finding(
                        PageChangeKind::CspWeakened,
                        format!("CSP weakened: {}", w.describe()),
                        json!({"before": before, "after": after, "weakening": w}),
                    ));
                }
            }
            (Some(before), None) => out.push(finding(
                PageChangeKind::CspWeakened,
                "CSP removed".into(),
                json!({"before": before, "after": null, "weakening": {"removed_directives": ["(the whole policy)"]}}),
            )),
            _ => {}
        }

        for name in SECURITY_HEADERS
            .iter()
            .filter(|n| !n.starts_with("content-security-policy"))
        {
            let (before, after) = (old.headers.get(*name), new.headers.get(*name));
            if before.is_some() && before != after {
                let what = if after.is_none() {
                    "removed"
                } else {
                    "changed"
                };
                out.push(finding(
                    PageChangeKind::HeaderChanged,
                    format!("{name} {what}"),
                    json!({"header": name, "before": before, "after": after}),
                ));
            }
        }

        let s = similarity::measure(&old.text, &new.text, &old.structure, &new.structure);
        if s.min() < settings.deface_threshold {
            out.push(finding(
                PageChangeKind::Defacement,
                format!(
                    "page content replaced: text {:.0} %, structure {:.0} % alike",
                    s.text * 100.0,
                    s.structure * 100.0
                ),
                json!({
                    "similarity": s,
                    "threshold": settings.deface_threshold,
                    "sha256_before": old.content_sha256,
                    "sha256": new.content_sha256,
                    "text_before": excerpt(&old.text),
                    "text": excerpt(&new.text),
                }),
            ));
        }
    }
    (
        out,
        PageRecord {
            inventory: new,
            reported,
        },
    )
}

/// The first 200 characters of a text, for evidence.
fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}
