//! Playbooks as data: a trigger (which incidents) and ordered steps (what to do), loaded from
//! YAML and validated at load, so that a malformed playbook is refused when the platform starts
//! and not when it fires. Errors name the file, the line and the key.
//!
//! Validation happens while deserialising (`try_from` on every section), so the YAML parser
//! attaches the line and column of the offending section to every message.

use ensuresec_model::{EntityKind, Incident, IncidentStatus, Severity};
use serde::{Deserialize, Serialize};

use crate::decision::{DecisionKind, MAX_DURATION_SECONDS};
use crate::stage::{Stage, stage_of};
use crate::template::Template;

/// Why a playbook file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct PlaybookError {
    /// The file.
    pub file: String,
    /// What is wrong, with line, column and key.
    pub message: String,
}

/// Largest playbook file accepted.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Most steps in one playbook.
pub const MAX_STEPS: usize = 32;
/// Longest approval wait or undo delay: 30 days.
pub const MAX_WAIT_SECONDS: u64 = 30 * 24 * 3600;

/// Which incidents start a playbook. Every given field must match; lists match on any element.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Rule ids, any of which the incident must hold.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Detectors, any of which must have contributed.
    #[serde(default)]
    pub detectors: Vec<String>,
    /// Tags (or tag prefixes ending in `*`), any of which the incident must carry.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Entity kinds the incident may be about.
    #[serde(default)]
    pub entity: Vec<EntityKind>,
    /// Assets (entity values of kind `asset`) the incident may be about.
    #[serde(default)]
    pub assets: Vec<String>,
    /// Lowest severity.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Earliest attack stage.
    #[serde(default)]
    pub stage: Option<Stage>,
}

impl Trigger {
    /// Whether `incident` matches.
    pub fn matches(&self, incident: &Incident) -> bool {
        let any = |want: &[String], have: &[String]| {
            want.is_empty() || want.iter().any(|w| have.contains(w))
        };
        let tag_ok = self.tags.is_empty()
            || self.tags.iter().any(|t| match t.strip_suffix('*') {
                Some(prefix) => incident.tags.iter().any(|x| x.starts_with(prefix)),
                None => incident.tags.contains(t),
            });
        any(&self.rules, &incident.rule_ids)
            && any(&self.detectors, &incident.detectors)
            && tag_ok
            && (self.entity.is_empty() || self.entity.contains(&incident.entity.kind))
            && (self.assets.is_empty()
                || (incident.entity.kind == EntityKind::Asset
                    && self.assets.contains(&incident.entity.value)))
            && self.min_severity.is_none_or(|s| incident.severity >= s)
            && self
                .stage
                .is_none_or(|s| stage_of(incident).is_some_and(|have| have >= s))
    }
}

/// A condition on a step, checked when the step's turn comes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Lowest severity at that moment.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Earliest stage at that moment.
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Least alerts in the incident.
    #[serde(default)]
    pub min_alerts: Option<u64>,
    /// Entity kinds the step applies to.
    #[serde(default)]
    pub entity: Vec<EntityKind>,
}

impl Condition {
    /// Whether the step should run for `incident`.
    pub fn holds(&self, incident: &Incident) -> bool {
        self.min_severity.is_none_or(|s| incident.severity >= s)
            && self
                .stage
                .is_none_or(|s| stage_of(incident).is_some_and(|have| have >= s))
            && self.min_alerts.is_none_or(|n| incident.alert_count >= n)
            && (self.entity.is_empty() || self.entity.contains(&incident.entity.kind))
    }
}

/// Make a decision about the incident's entity (or its /24 or /64 range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionStep {
    /// Ban, throttle, challenge or review.
    #[serde(rename = "type")]
    pub kind: DecisionKind,
    /// How long it holds; lapsing is its undo.
    pub duration_seconds: u64,
    /// Widen an IP to its range (/24 for IPv4, /64 for IPv6).
    #[serde(default)]
    pub range: bool,
}

/// Call a configured webhook target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookStep {
    /// The `[[respond.webhooks]]` target's name.
    pub target: String,
    /// The event name the receiver dispatches on (`hold_shipment`, `flag_order_for_review`,
    /// `force_password_reset`, `step_up_authentication`…).
    pub event: String,
}

/// Send an e-mail from a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailStep {
    /// Recipients; a template such as `{entity}` sends to the incident's account when it is an
    /// address.
    pub to: Vec<String>,
    /// The subject template.
    pub subject: String,
    /// The body template.
    pub body: String,
}

/// Put the monitored web root back to its signed baseline (the integrity module's restore):
/// planted files to quarantine, tampered and deleted ones rewritten. Destructive to an attacker's
/// work and to an unannounced deploy alike, so playbooks usually ask for approval first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrityRestoreStep {
    /// A file or folder relative to the root; everything that differs when absent.
    #[serde(default)]
    pub path: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// A decision for bouncers (and the firewall).
    Decision(DecisionStep),
    /// A signed webhook.
    Webhook(WebhookStep),
    /// An e-mail.
    Email(EmailStep),
    /// Move the incident along its lifecycle.
    SetStatus(IncidentStatus),
    /// Restore the monitored web root from its baseline.
    IntegrityRestore(IntegrityRestoreStep),
}

impl StepAction {
    /// The action's name, as in the YAML key.
    pub fn name(&self) -> &'static str {
        match self {
            StepAction::Decision(_) => "decision",
            StepAction::Webhook(_) => "webhook",
            StepAction::Email(_) => "email",
            StepAction::SetStatus(_) => "set_status",
            StepAction::IntegrityRestore(_) => "integrity_restore",
        }
    }
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStep")]
pub struct Step {
    /// Unique within the playbook.
    pub id: String,
    /// What it does.
    pub action: StepAction,
    /// Run only when this holds at the step's turn; otherwise skipped.
    pub when: Condition,
    /// A person must approve it first (for destructive steps).
    pub approval: bool,
    /// How long an approval may wait (then the step expires); for webhooks and e-mail, how long
    /// one attempt may take.
    pub timeout_seconds: u64,
    /// Undo after this long (a webhook gets `<event>.undo`); decisions lapse by their duration.
    pub undo_after_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    #[serde(default)]
    decision: Option<DecisionStep>,
    #[serde(default)]
    webhook: Option<WebhookStep>,
    #[serde(default)]
    email: Option<EmailStep>,
    #[serde(default)]
    set_status: Option<IncidentStatus>,
    #[serde(default)]
    integrity_restore: Option<IntegrityRestoreStep>,
    #[serde(default)]
    when: Condition,
    #[serde(default)]
    approval: bool,
    #[serde(default)]
    timeout_seconds: Option<u64>,
    #[serde(default)]
    undo_after_seconds: Option<u64>,
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`id` `{id}` must be 1 to 64 letters, digits, `-` or `_`"
        ));
    }
    Ok(())
}

impl TryFrom<RawStep> for Step {
    type Error = String;
    fn try_from(raw: RawStep) -> Result<Self, String> {
        check_id(&raw.id)?;
        let ctx = |m: String| format!("step `{}`: {m}", raw.id);
        let mut actions = Vec::new();
        if let Some(d) = raw.decision {
            if d.duration_seconds == 0 || d.duration_seconds > MAX_DURATION_SECONDS {
                return Err(ctx(format!(
                    "`decision.duration_seconds` must be 1 to {MAX_DURATION_SECONDS}"
                )));
            }
            actions.push(StepAction::Decision(d));
        }
        if let Some(w) = raw.webhook {
            if w.target.is_empty() || w.event.is_empty() || w.event.len() > 64 {
                return Err(ctx(
                    "`webhook.target` and `webhook.event` must be set (event up to 64 characters)"
                        .into(),
                ));
            }
            actions.push(StepAction::Webhook(w));
        }
        if let Some(e) = raw.email {
            if e.to.is_empty() || e.to.len() > 50 {
                return Err(ctx("`email.to` needs 1 to 50 recipients".into()));
            }
            for (key, text) in [("email.subject", &e.subject), ("email.body", &e.body)]
                .into_iter()
                .chain(e.to.iter().map(|t| ("email.to", t)))
            {
                Template::parse(text).map_err(|m| ctx(format!("`{key}`: {m}")))?;
            }
            actions.push(StepAction::Email(e));
        }
        if let Some(s) = raw.set_status {
            actions.push(StepAction::SetStatus(s));
        }
        if let Some(r) = raw.integrity_restore {
            if r.path.as_deref().is_some_and(|p| {
                p.is_empty()
                    || p.len() > 4096
                    || p.starts_with('/')
                    || p.split('/').any(|c| c == "..")
            }) {
                return Err(ctx(
                    "`integrity_restore.path` must be a relative path inside the root".into(),
                ));
            }
            actions.push(StepAction::IntegrityRestore(r));
        }
        let action = match actions.len() {
            1 => actions.remove(0),
            0 => {
                return Err(ctx(
                    "needs one of `decision`, `webhook`, `email`, `set_status` or `integrity_restore`"
                        .into(),
                ));
            }
            _ => {
                return Err(ctx(
                    "has more than one of `decision`, `webhook`, `email`, `set_status`, `integrity_restore`; split it into steps"
                        .into(),
                ));
            }
        };
        let timeout_seconds = raw
            .timeout_seconds
            .unwrap_or(if raw.approval { 3600 } else { 10 });
        if timeout_seconds == 0 || timeout_seconds > MAX_WAIT_SECONDS {
            return Err(ctx(format!(
                "`timeout_seconds` must be 1 to {MAX_WAIT_SECONDS}"
            )));
        }
        if let Some(u) = raw.undo_after_seconds {
            if u == 0 || u > MAX_WAIT_SECONDS {
                return Err(ctx(format!(
                    "`undo_after_seconds` must be 1 to {MAX_WAIT_SECONDS}"
                )));
            }
            if !matches!(action, StepAction::Webhook(_)) {
                return Err(ctx(
                    "`undo_after_seconds` applies to webhooks only (a decision lapses after its duration)"
                        .into(),
                ));
            }
        }
        Ok(Step {
            id: raw.id,
            action,
            when: raw.when,
            approval: raw.approval,
            timeout_seconds,
            undo_after_seconds: raw.undo_after_seconds,
        })
    }
}

/// A playbook: when it starts and what it does, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPlaybook")]
pub struct Playbook {
    /// Unique across all loaded playbooks.
    pub id: String,
    /// One line for people.
    pub title: String,
    /// Which incidents start it.
    pub trigger: Trigger,
    /// What it does, in order.
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    trigger: Trigger,
    steps: Vec<Step>,
}

impl TryFrom<RawPlaybook> for Playbook {
    type Error = String;
    fn try_from(raw: RawPlaybook) -> Result<Self, String> {
        check_id(&raw.id)?;
        let _ = raw.description;
        let ctx = |m: &str| format!("playbook `{}`: {m}", raw.id);
        if raw.trigger == Trigger::default() {
            return Err(ctx(
                "`trigger` needs at least one of rules, detectors, tags, entity, assets, min_severity, stage",
            ));
        }
        if raw.steps.is_empty() || raw.steps.len() > MAX_STEPS {
            return Err(ctx(&format!("`steps` needs 1 to {MAX_STEPS} steps")));
        }
        for (i, s) in raw.steps.iter().enumerate() {
            if raw.steps[..i].iter().any(|t| t.id == s.id) {
                return Err(ctx(&format!("`steps[{i}].id` `{}` is used twice", s.id)));
            }
        }
        Ok(Playbook {
            id: raw.id,
            title: raw.title,
            trigger: raw.trigger,
            steps: raw.steps,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    playbooks: Vec<Playbook>,
}

/// The loaded playbooks.
#[derive(Debug, Clone, Default)]
pub struct PlaybookSet {
    /// In load order; the first matching playbook of each id runs.
    pub playbooks: Vec<Playbook>,
}

impl PlaybookSet {
    /// Parses and validates one file; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<PlaybookSet, PlaybookError> {
        let err = |message: String| PlaybookError {
            file: file.to_string(),
            message,
        };
        if text.len() > MAX_FILE_BYTES {
            return Err(err(format!("file is over {MAX_FILE_BYTES} bytes")));
        }
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut set = PlaybookSet::default();
        set.merge(
            file,
            PlaybookSet {
                playbooks: raw.playbooks,
            },
        )?;
        Ok(set)
    }

    /// Adds another set, refusing a playbook id used twice.
    pub fn merge(&mut self, file: &str, other: PlaybookSet) -> Result<(), PlaybookError> {
        for p in other.playbooks {
            if self.playbooks.iter().any(|q| q.id == p.id) {
                return Err(PlaybookError {
                    file: file.to_string(),
                    message: format!("playbook `{}`: `id` is used by an earlier playbook", p.id),
                });
            }
            self.playbooks.push(p);
        }
        Ok(())
    }

    /// Checks that every webhook step names a configured target.
    pub fn check_targets(&self, targets: &[&str]) -> Result<(), PlaybookError> {
        for p in &self.playbooks {
            for s in &p.steps {
                if let StepAction::Webhook(w) = &s.action
                    && !targets.contains(&w.target.as_str())
                {
                    return Err(PlaybookError {
                        file: format!("playbook `{}`", p.id),
                        message: format!(
                            "step `{}`: `webhook.target` `{}` is not a configured webhook (have: {})",
                            s.id,
                            w.target,
                            targets.join(", ")
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The playbooks `incident` triggers.
    pub fn triggered<'a>(&'a self, incident: &'a Incident) -> impl Iterator<Item = &'a Playbook> {
        self.playbooks
            .iter()
            .filter(move |p| p.trigger.matches(incident))
    }

    /// One playbook by id.
    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.id == id)
    }
}

/// The default playbooks shipped with the crate, one file per scenario family.
pub const DEFAULT_PLAYBOOKS: &[(&str, &str)] = &[
    ("accounts.yaml", include_str!("../playbooks/accounts.yaml")),
    ("payments.yaml", include_str!("../playbooks/payments.yaml")),
    ("web.yaml", include_str!("../playbooks/web.yaml")),
    ("network.yaml", include_str!("../playbooks/network.yaml")),
    ("delivery.yaml", include_str!("../playbooks/delivery.yaml")),
];

/// Loads the shipped playbooks.
pub fn default_playbooks() -> Result<PlaybookSet, PlaybookError> {
    let mut set = PlaybookSet::default();
    for (name, text) in DEFAULT_PLAYBOOKS {
        let file = format!("{name} (built in)");
        set.merge(&file, PlaybookSet::from_yaml(&file, text)?)?;
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::incident;

    fn load(text: &str) -> Result<PlaybookSet, String> {
        PlaybookSet::from_yaml("t.yaml", text).map_err(|e| e.to_string())
    }

    const GOOD: &str = "playbooks:
  - id: stuffing
    title: Ban stuffing
    trigger: { rules: [credential-stuffing-ip], min_severity: high }
    steps:
      - id: ban
        decision: { type: ban, duration_seconds: 3600 }
      - id: tell
        webhook: { target: shop, event: force_password_reset }
        approval: true
";

    #[test]
    fn a_good_playbook_loads() {
        let set = load(GOOD).unwrap();
        let p = &set.playbooks[0];
        assert_eq!(p.steps.len(), 2);
        assert!(p.steps[1].approval);
        assert_eq!(p.steps[1].timeout_seconds, 3600);
        assert!(set.check_targets(&["shop"]).is_ok());
        let e = set.check_targets(&["partner"]).unwrap_err().to_string();
        assert!(e.contains("`webhook.target` `shop`"), "{e}");
    }

    #[test]
    fn errors_name_line_and_key() {
        let bad = GOOD.replace("duration_seconds: 3600", "duration_seconds: 0");
        let e = load(&bad).unwrap_err();
        assert!(e.starts_with("t.yaml: "), "{e}");
        assert!(e.contains("decision.duration_seconds"), "{e}");
        assert!(e.contains("line 6"), "{e}");

        let bad = GOOD.replace("approval: true", "aproval: true");
        let e = load(&bad).unwrap_err();
        assert!(e.contains("aproval") && e.contains("line 10"), "{e}");

        let bad = GOOD.replace("type: ban", "type: nuke");
        let e = load(&bad).unwrap_err();
        assert!(e.contains("nuke") && e.contains("line 7"), "{e}");
    }

    #[test]
    fn a_step_needs_exactly_one_action() {
        let bad = GOOD.replace(
            "        decision: { type: ban, duration_seconds: 3600 }\n",
            "        decision: { type: ban, duration_seconds: 3600 }\n        set_status: contained\n",
        );
        assert!(load(&bad).unwrap_err().contains("more than one"));
        let bad = GOOD.replace(
            "        decision: { type: ban, duration_seconds: 3600 }\n",
            "",
        );
        assert!(load(&bad).unwrap_err().contains("needs one of"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let twice = format!("{GOOD}{}", &GOOD["playbooks:\n".len()..]);
        assert!(
            load(&twice)
                .unwrap_err()
                .contains("used by an earlier playbook")
        );
    }

    #[test]
    fn bad_templates_are_refused_at_load() {
        let bad = "playbooks:
  - id: mail
    title: Mail
    trigger: { min_severity: high }
    steps:
      - id: m
        email: { to: [soc@example.org], subject: 'Incident {nope}', body: x }
";
        let e = load(bad).unwrap_err();
        assert!(e.contains("email.subject") && e.contains("nope"), "{e}");
    }

    #[test]
    fn triggers_match_on_every_given_field() {
        let set = load(GOOD).unwrap();
        let mut i = incident("credential-stuffing-ip", &["attack:T1110.004"]);
        i.severity = Severity::Medium;
        assert_eq!(set.triggered(&i).count(), 0);
        i.severity = Severity::High;
        assert_eq!(set.triggered(&i).count(), 1);
        i.rule_ids = vec!["port-scan".into()];
        assert_eq!(set.triggered(&i).count(), 0);
    }

    #[test]
    fn delivery_alerts_trigger_the_delivery_playbooks() {
        let set = default_playbooks().unwrap();
        let triggered = |rule: &str| -> Vec<String> {
            let mut i = incident(rule, &["delivery:custody"]);
            i.entity =
                ensuresec_model::EntityKey::new(ensuresec_model::EntityKind::Account, "cust-1");
            set.triggered(&i).map(|p| p.id.clone()).collect()
        };
        assert_eq!(triggered("takeover-redirect"), ["hold-parcel"]);
        assert_eq!(triggered("cold-chain-excursion"), ["hold-parcel"]);
        assert_eq!(triggered("delivered-far-from-address"), ["contact-courier"]);
        assert_eq!(triggered("claim-corroborated"), ["contact-courier"]);
        assert_eq!(
            triggered("claim-contradicted"),
            ["refuse-refund-pending-review"]
        );
        assert_eq!(
            triggered("serial-claimer-device"),
            ["refuse-refund-pending-review"]
        );
        // Informational and health rules start nothing.
        assert!(triggered("parcel-redirected").is_empty());
        assert!(triggered("sensor-low-battery").is_empty());
        // A refund is released only by a person.
        let refund = set.get("refuse-refund-pending-review").unwrap();
        let release = refund
            .steps
            .iter()
            .find(|s| s.id == "release-refund")
            .unwrap();
        assert!(release.approval);
    }

    #[test]
    fn the_default_playbooks_load() {
        let set = default_playbooks().unwrap();
        assert!(set.playbooks.len() >= 6);
        assert!(set.check_targets(&["shop"]).is_ok());
    }
}
