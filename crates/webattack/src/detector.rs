//! The pipeline seam: [`WebAttackDetector`] inspects `http_request` events with the [`Engine`]
//! and raises one alert per request whose anomaly score reaches the inbound threshold.
//!
//! What it detects: every attack class of the rule set (see `rules/`), in CRS's scoring model.
//! Why it matters: injection and probing are the first thing that hits a web shop; an alert per
//! flagged request lets the correlator group a campaign into one incident per client address.
//! False positives: those of the rules (tune with the paranoia level, the threshold or by
//! disabling a rule id). References: OWASP CRS, OWASP Top 10 (tags on every alert).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ensuresec_model::event::HttpRequest;
use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType};
use serde_json::json;

use crate::engine::{Engine, Finding, Verdict};
use crate::logs::PARTIAL_LABEL;
use crate::request::InspectRequest;
use crate::scoring::AttackClass;

/// The detector's name in alerts, metrics and logs.
pub const DETECTOR_NAME: &str = "webattack";

/// Query strings and bodies longer than this are cut in the alert evidence.
const EVIDENCE_BYTES: usize = 512;

/// What every detector instance shares: the compiled engine and each rule's alert tags.
#[derive(Debug)]
pub struct SharedEngine {
    engine: Engine,
    tags: HashMap<String, Vec<String>>,
}

impl SharedEngine {
    /// Wraps an engine, precomputing the tags of its rules.
    #[must_use]
    pub fn new(engine: Engine) -> Arc<Self> {
        let tags = engine
            .rules()
            .iter()
            .map(|r| {
                let mut t = Vec::new();
                if let Some(o) = &r.tags.owasp {
                    t.push(format!("owasp:{o}"));
                }
                if let Some(c) = &r.tags.capec {
                    let id = c.strip_prefix("CAPEC-").unwrap_or(c);
                    t.push(format!("capec:{id}"));
                }
                t.extend(r.tags.crs.iter().map(|id| format!("crs:{id}")));
                (r.id.clone(), t)
            })
            .collect();
        Arc::new(Self { engine, tags })
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Builds the alert for a verdict, or `None` when the request was not flagged.
    ///
    /// `client` is the address the alert is about; `time` the request's time.
    #[must_use]
    pub fn alert(
        &self,
        verdict: &Verdict,
        req: &InspectRequest,
        client: &str,
        time: DateTime<Utc>,
    ) -> Option<Alert> {
        if !verdict.flagged {
            return None;
        }
        let top = top_finding(&verdict.findings)?;
        let threshold = self.engine.config().inbound_threshold;
        let mut tags: Vec<String> = Vec::new();
        for f in &verdict.findings {
            for t in self.tags.get(&f.rule_id).into_iter().flatten() {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
        }
        let (path, query) = match req.uri.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (req.uri.as_str(), None),
        };
        let rules: Vec<_> = verdict
            .findings
            .iter()
            .map(|f| {
                json!({
                    "id": f.rule_id,
                    "class": f.class.name(),
                    "severity": f.severity.name(),
                    "score": f.severity.score(),
                    "paranoia": f.paranoia,
                    "target": f.target,
                    "field": f.field,
                    "matched": f.matched,
                    "value": f.value,
                })
            })
            .collect();
        let mut classes: Vec<&str> = Vec::new();
        for f in &verdict.findings {
            if !classes.contains(&f.class.name()) {
                classes.push(f.class.name());
            }
        }
        let evidence = json!({
            "score": verdict.score,
            "threshold": threshold,
            "paranoia": self.engine.config().paranoia,
            "classes": classes,
            "rules": rules,
            "request": {
                "method": req.method,
                "path": cut(path),
                "query": query.map(cut),
                "partial": req.partial,
            },
            "anomalies": verdict.anomalies.iter().map(|a| a.name()).collect::<Vec<_>>(),
        });
        Some(Alert {
            id: 0,
            time,
            detector: DETECTOR_NAME.to_owned(),
            rule_id: top.rule_id.clone(),
            title: format!(
                "{} on {} (anomaly score {})",
                class_title(top.class),
                cut(path),
                verdict.score
            ),
            severity: severity_for(verdict.score, threshold),
            confidence: confidence_for(verdict.score, threshold),
            entity: EntityKey::new(EntityKind::Ip, client),
            evidence,
            tags,
            incident_id: None,
            ledger_index: None,
        })
    }
}

/// The finding that decides the alert's rule id: the attack class with the highest summed score
/// wins (a scanner user agent beside two SQL injection rules is an SQL injection), then its most
/// severe rule; ties go to the first in rule order.
fn top_finding(findings: &[Finding]) -> Option<&Finding> {
    let mut sums: Vec<(AttackClass, u32)> = Vec::new();
    for f in findings {
        match sums.iter_mut().find(|(c, _)| *c == f.class) {
            Some((_, s)) => *s += f.severity.score(),
            None => sums.push((f.class, f.severity.score())),
        }
    }
    let class = sums.iter().rev().max_by_key(|(_, s)| *s)?.0;
    findings
        .iter()
        .filter(|f| f.class == class)
        .rev()
        .max_by_key(|f| f.severity.score())
}

/// Severity from the anomaly score: one critical rule (CRS's threshold) is medium, three or more
/// times the threshold is high. A single request is never `critical`: the correlator escalates
/// when a campaign piles up.
#[must_use]
pub fn severity_for(score: u32, threshold: u32) -> ensuresec_model::Severity {
    use ensuresec_model::Severity;
    let threshold = threshold.max(1);
    if score >= threshold.saturating_mul(3) {
        Severity::High
    } else if score >= threshold {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// Confidence from the anomaly score: 0.5 at the threshold, approaching 1 as rules pile up.
#[must_use]
pub fn confidence_for(score: u32, threshold: u32) -> f32 {
    let ratio = score as f32 / threshold.max(1) as f32;
    (1.0 - 0.5f32.powf(ratio)).clamp(0.0, 1.0)
}

/// A reader's name for an attack class.
#[must_use]
pub fn class_title(class: AttackClass) -> &'static str {
    match class {
        AttackClass::Protocol => "HTTP protocol violation",
        AttackClass::Scanner => "Security scanner",
        AttackClass::Lfi => "Path traversal / local file inclusion",
        AttackClass::Rfi => "Remote file inclusion",
        AttackClass::Rce => "Remote command execution",
        AttackClass::Php => "PHP injection",
        AttackClass::Nodejs => "Node.js injection",
        AttackClass::Java => "Java injection",
        AttackClass::Xss => "Cross-site scripting",
        AttackClass::Sqli => "SQL injection",
        AttackClass::SessionFixation => "Session fixation",
        AttackClass::Ssrf => "Server-side request forgery",
        AttackClass::RestrictedFile => "Restricted file access",
        AttackClass::Ecommerce => "Cart or price tampering",
    }
}

fn cut(s: &str) -> String {
    if s.len() <= EVIDENCE_BYTES {
        return s.to_owned();
    }
    let mut end = EVIDENCE_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Rebuilds the request an `http_request` event describes.
///
/// The event is taken as **partial** (see [`InspectRequest::partial`]) when its `headers` list
/// is empty (access logs only fill `host`, `user_agent` and `referer`) or when it carries the
/// label [`crate::logs::PARTIAL_LABEL`] (set by the log tail, whose logs may keep a few more
/// headers); sources that forward the full header set put it in `headers`. A body without a `Content-Type` header gets one
/// guessed from its first byte (`{`/`[` → JSON, otherwise a form), so that its fields are
/// inspected as arguments.
#[must_use]
pub fn to_inspect(r: &HttpRequest, labels: &BTreeMap<String, String>) -> InspectRequest {
    let mut headers = Vec::with_capacity(r.headers.len() + 4);
    let has = |name: &str| r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if let Some(h) = r.host.as_ref().filter(|_| !has("host")) {
        headers.push(("Host".to_owned(), h.clone()));
    }
    if let Some(ua) = r.user_agent.as_ref().filter(|_| !has("user-agent")) {
        headers.push(("User-Agent".to_owned(), ua.clone()));
    }
    if let Some(re) = r.referer.as_ref().filter(|_| !has("referer")) {
        headers.push(("Referer".to_owned(), re.clone()));
    }
    headers.extend(r.headers.iter().cloned());
    let body = r.body.clone().unwrap_or_default();
    if !body.is_empty() && !has("content-type") {
        let ct = match body.trim_start().as_bytes().first() {
            Some(b'{' | b'[') => "application/json",
            _ => "application/x-www-form-urlencoded",
        };
        headers.push(("Content-Type".to_owned(), ct.to_owned()));
    }
    let uri = match &r.query {
        Some(q) => format!("{}?{q}", r.path),
        None => r.path.clone(),
    };
    InspectRequest {
        method: r.method.clone(),
        uri,
        http_version: r
            .http_version
            .clone()
            .unwrap_or_else(|| "HTTP/1.1".to_owned()),
        headers,
        body: Bytes::from(body.into_bytes()),
        partial: r.headers.is_empty()
            || labels.get(PARTIAL_LABEL.0).map(String::as_str) == Some(PARTIAL_LABEL.1),
    }
}

/// Inspects `http_request` events; stateless, so it runs on any partition.
#[derive(Debug, Clone)]
pub struct WebAttackDetector {
    shared: Arc<SharedEngine>,
}

impl WebAttackDetector {
    /// A detector instance over a shared engine (one engine for all partitions).
    #[must_use]
    pub fn new(shared: Arc<SharedEngine>) -> Self {
        Self { shared }
    }
}

impl Detector for WebAttackDetector {
    fn name(&self) -> &str {
        DETECTOR_NAME
    }

    fn group_by(&self) -> Option<EntityKind> {
        None
    }

    fn accepts(&self, event_type: EventType) -> bool {
        event_type == EventType::HttpRequest
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let EventData::HttpRequest(r) = &event.data else {
            return;
        };
        let req = to_inspect(r, &event.labels);
        let verdict = self.shared.engine.inspect(&req);
        if let Some(alert) = self
            .shared
            .alert(&verdict, &req, &r.client_ip.to_string(), event.time)
        {
            out.push(alert);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;
    use chrono::TimeZone;

    fn shared() -> Arc<SharedEngine> {
        SharedEngine::new(
            Engine::embedded(EngineConfig::default()).expect("embedded rules compile"),
        )
    }

    fn http(path: &str, query: Option<&str>, body: Option<&str>) -> HttpRequest {
        HttpRequest {
            client_ip: "203.0.113.9".parse().expect("valid address"),
            method: if body.is_some() { "POST" } else { "GET" }.into(),
            host: Some("shop.example".into()),
            path: path.into(),
            query: query.map(Into::into),
            http_version: Some("HTTP/1.1".into()),
            status: Some(200),
            user_agent: Some("Mozilla/5.0".into()),
            referer: None,
            headers: vec![],
            body: body.map(Into::into),
            bytes_sent: None,
            duration_ms: None,
            session: None,
            account: None,
            device: None,
        }
    }

    fn event(r: HttpRequest) -> Event {
        Event {
            time: Utc
                .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
                .single()
                .expect("valid time"),
            ingest_time: None,
            source: "test".into(),
            labels: Default::default(),
            data: EventData::HttpRequest(r),
        }
    }

    fn run(r: HttpRequest) -> Vec<Alert> {
        let mut d = WebAttackDetector::new(shared());
        let mut out = Vec::new();
        d.on_event(&event(r), &mut out);
        out
    }

    #[test]
    fn sqli_in_the_query_raises_one_alert_with_evidence() {
        let alerts = run(http("/search", Some("q=1%27%20OR%20%271%27%3D%271"), None));
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.detector, "webattack");
        assert!(a.rule_id.starts_with("SQLI-"), "{}", a.rule_id);
        assert_eq!(a.entity, EntityKey::new(EntityKind::Ip, "203.0.113.9"));
        assert!(a.tags.iter().any(|t| t == "owasp:A03:2021"), "{:?}", a.tags);
        assert!(a.tags.iter().any(|t| t == "capec:66"), "{:?}", a.tags);
        assert!(
            a.tags.iter().any(|t| t.starts_with("crs:942")),
            "{:?}",
            a.tags
        );
        let ev = &a.evidence;
        assert!(ev["score"].as_u64().unwrap_or(0) >= 5, "{ev}");
        let rule = &ev["rules"][0];
        assert_eq!(rule["target"], "args");
        assert_eq!(rule["field"], "q");
        assert!(
            rule["value"].as_str().unwrap_or("").contains("' or '1'='1")
                || rule["value"].as_str().unwrap_or("").contains("' OR '1'='1"),
            "{ev}"
        );
        assert_eq!(ev["request"]["partial"], true);
    }

    #[test]
    fn xss_in_a_form_body_without_content_type_is_found() {
        let alerts = run(http(
            "/product/x/review",
            None,
            Some("rating=5&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        ));
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(
            alerts[0].rule_id.starts_with("XSS-"),
            "{}",
            alerts[0].rule_id
        );
        assert_eq!(alerts[0].evidence["rules"][0]["field"], "comment");
    }

    #[test]
    fn benign_requests_and_other_events_raise_nothing() {
        assert!(run(http("/search", Some("q=red+shoes+size+42"), None)).is_empty());
        assert!(run(http("/product/aspirin-500", None, None)).is_empty());
        let d = WebAttackDetector::new(shared());
        assert!(d.accepts(EventType::HttpRequest));
        assert!(!d.accepts(EventType::Auth));
        assert_eq!(d.group_by(), None);
    }

    #[test]
    fn events_with_headers_are_complete_requests() {
        let mut r = http("/", None, None);
        let none = BTreeMap::new();
        assert!(to_inspect(&r, &none).partial);
        r.headers = vec![("Accept".into(), "*/*".into())];
        let req = to_inspect(&r, &none);
        assert!(!req.partial);
        let from_log = BTreeMap::from([("headers".to_owned(), "partial".to_owned())]);
        assert!(to_inspect(&r, &from_log).partial);
        assert_eq!(req.header("host"), Some("shop.example"));
        r.headers = vec![("Host".into(), "other.example".into())];
        assert_eq!(
            to_inspect(&r, &none)
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
                .count(),
            1,
            "a forwarded Host is not duplicated"
        );
    }

    #[test]
    fn severity_and_confidence_grow_with_the_score() {
        use ensuresec_model::Severity;
        assert_eq!(severity_for(4, 5), Severity::Low);
        assert_eq!(severity_for(5, 5), Severity::Medium);
        assert_eq!(severity_for(15, 5), Severity::High);
        assert!((confidence_for(5, 5) - 0.5).abs() < 1e-6);
        assert!(confidence_for(10, 5) > confidence_for(5, 5));
        assert!(confidence_for(1000, 5) <= 1.0);
    }

    #[test]
    fn the_top_rule_is_from_the_highest_scoring_class_then_the_most_severe() {
        let f = |id: &str, class, sev| Finding {
            rule_id: id.into(),
            class,
            severity: sev,
            paranoia: 1,
            target: "args",
            field: String::new(),
            matched: String::new(),
            value: String::new(),
        };
        use crate::scoring::Severity as S;
        use AttackClass::{Scanner, Sqli, Xss};
        let fs = [
            f("A", Sqli, S::Warning),
            f("B", Sqli, S::Critical),
            f("C", Sqli, S::Critical),
        ];
        assert_eq!(top_finding(&fs).map(|f| f.rule_id.as_str()), Some("B"));
        let fs = [
            f("SCAN", Scanner, S::Critical),
            f("S1", Sqli, S::Critical),
            f("S2", Sqli, S::Warning),
        ];
        assert_eq!(top_finding(&fs).map(|f| f.rule_id.as_str()), Some("S1"));
        let fs = [f("X", Xss, S::Critical), f("S", Sqli, S::Critical)];
        assert_eq!(top_finding(&fs).map(|f| f.rule_id.as_str()), Some("X"));
        assert!(top_finding(&[]).is_none());
    }
}
