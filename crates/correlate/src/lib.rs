//! Correlation: alerts become incidents. An alert joins the open incident about the same entity
//! if that incident saw an alert within the grouping window; otherwise it opens a new incident.
//! Severity is the worst alert's, escalated one step when many alerts or several distinct rules
//! pile up.
//!
//! Pure: the caller passes the wall-clock time used for lifecycle records; nothing here reads the
//! clock or does IO. Memory is bounded: incidents idle for longer than the grouping window, or
//! beyond [`CorrelatorConfig::max_tracked`], are dropped from memory (they stay open in the store).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::{
    Action, Alert, AlertId, EntityKey, Incident, IncidentId, IncidentStatus, Transition,
};

/// Tuning of the correlator.
#[derive(Debug, Clone)]
pub struct CorrelatorConfig {
    /// An alert joins an incident whose last alert is at most this old (event time).
    pub group_window: Duration,
    /// Most incidents kept in memory.
    pub max_tracked: usize,
    /// Alert counts at which severity escalates one step.
    pub escalate_at_counts: Vec<u64>,
    /// Distinct rules at which severity escalates one step.
    pub escalate_at_rules: usize,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            group_window: Duration::hours(1),
            max_tracked: 100_000,
            escalate_at_counts: vec![10, 100],
            escalate_at_rules: 3,
        }
    }
}

/// What correlating a batch of alerts produced.
#[derive(Debug, Default, Clone)]
pub struct Correlated {
    /// The alerts, with ids and incident ids assigned.
    pub alerts: Vec<Alert>,
    /// The new state of every incident created or changed.
    pub incidents: Vec<Incident>,
    /// Lifecycle actions (incident opened, severity escalated).
    pub actions: Vec<Action>,
    /// Ids of incidents opened by this batch.
    pub opened: Vec<IncidentId>,
}

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// No such incident.
    #[error("incident {0} not found")]
    Unknown(IncidentId),
    /// It already has that status.
    #[error("the incident is already {0}")]
    Same(IncidentStatus),
    /// A closed incident can only be reopened.
    #[error("a {from} incident can only be reopened (to open), not moved to {to}")]
    Closed {
        /// Its status.
        from: IncidentStatus,
        /// The status asked for.
        to: IncidentStatus,
    },
}

/// Groups alerts into incidents.
pub struct Correlator {
    config: CorrelatorConfig,
    by_entity: HashMap<EntityKey, IncidentId>,
    incidents: HashMap<IncidentId, Incident>,
    next_alert: AlertId,
    next_incident: IncidentId,
    dropped: u64,
}

const BY: &str = "correlator";

impl Correlator {
    /// A correlator resuming after the given ids with these still-open incidents.
    pub fn new(
        config: CorrelatorConfig,
        open: Vec<Incident>,
        last_alert: AlertId,
        last_incident: IncidentId,
    ) -> Self {
        let mut c = Correlator {
            config,
            by_entity: HashMap::new(),
            incidents: HashMap::new(),
            next_alert: last_alert + 1,
            next_incident: last_incident + 1,
            dropped: 0,
        };
        for incident in open {
            c.track(incident);
        }
        c
    }

    /// Incidents held in memory.
    pub fn tracked(&self) -> usize {
        self.incidents.len()
    }

    /// Incidents dropped from memory because the table was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn track(&mut self, incident: Incident) {
        if let Some(old) = self.by_entity.insert(incident.entity.clone(), incident.id) {
            self.incidents.remove(&old);
        }
        self.incidents.insert(incident.id, incident);
    }

    /// Correlates a batch of alerts; `now` is the wall clock for lifecycle records.
    pub fn correlate(&mut self, alerts: Vec<Alert>, now: DateTime<Utc>) -> Correlated {
        let mut out = Correlated::default();
        let mut changed: Vec<IncidentId> = Vec::new();
        for mut alert in alerts {
            alert.id = self.next_alert;
            self.next_alert += 1;
            let current = self
                .by_entity
                .get(&alert.entity)
                .and_then(|id| self.incidents.get(id))
                .filter(|i| {
                    !i.status.is_closed() && alert.time - i.last_seen <= self.config.group_window
                })
                .map(|i| i.id);
            let id = match current {
                Some(id) => {
                    if let Some(incident) = self.incidents.get_mut(&id) {
                        let before = incident.severity;
                        absorb(incident, &alert, &self.config);
                        if incident.severity > before {
                            out.actions.push(Action {
                                id: 0,
                                time: now,
                                incident_id: Some(id),
                                kind: "severity_escalated".into(),
                                target: Some(incident.entity.clone()),
                                by: BY.into(),
                                detail: serde_json::json!({
                                    "from": before, "to": incident.severity,
                                    "alerts": incident.alert_count, "rules": incident.rule_ids.len(),
                                }),
                                ledger_index: None,
                            });
                        }
                    }
                    id
                }
                None => {
                    let id = self.next_incident;
                    self.next_incident += 1;
                    let incident = open_incident(id, &alert, now);
                    out.actions.push(Action {
                        id: 0,
                        time: now,
                        incident_id: Some(id),
                        kind: "incident_opened".into(),
                        target: Some(alert.entity.clone()),
                        by: BY.into(),
                        detail: serde_json::json!({ "alert_id": alert.id, "rule_id": alert.rule_id }),
                        ledger_index: None,
                    });
                    out.opened.push(id);
                    self.make_room();
                    self.track(incident);
                    id
                }
            };
            alert.incident_id = Some(id);
            if !changed.contains(&id) {
                changed.push(id);
            }
            out.alerts.push(alert);
        }
        out.incidents = changed
            .iter()
            .filter_map(|id| self.incidents.get(id).cloned())
            .collect();
        out
    }

    /// Moves incident `id` to status `to`, recording who (`by`) and why. `stored` is the
    /// incident as the store has it, used when it is no longer held in memory. A closed
    /// incident can only be reopened; a status cannot move to itself.
    #[allow(clippy::too_many_arguments)] // one transition's facts; a struct would only rename them
    pub fn transition(
        &mut self,
        id: IncidentId,
        stored: Option<Incident>,
        to: IncidentStatus,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Correlated, TransitionError> {
        let mut incident = match self.incidents.get(&id) {
            Some(i) => i.clone(),
            None => stored.ok_or(TransitionError::Unknown(id))?,
        };
        let from = incident.status;
        if from == to {
            return Err(TransitionError::Same(to));
        }
        if from.is_closed() && to != IncidentStatus::Open {
            return Err(TransitionError::Closed { from, to });
        }
        incident.status = to;
        incident.history.push(Transition {
            at: now,
            from: Some(from),
            to,
            by: by.to_string(),
            reason: reason.to_string(),
        });
        let action = Action {
            id: 0,
            time: now,
            incident_id: Some(id),
            kind: "status_change".into(),
            target: Some(incident.entity.clone()),
            by: by.to_string(),
            detail: serde_json::json!({ "from": from, "to": to, "reason": reason }),
            ledger_index: None,
        };
        if self.incidents.contains_key(&id) || !to.is_closed() {
            self.track(incident.clone());
        }
        Ok(Correlated {
            alerts: Vec::new(),
            incidents: vec![incident],
            actions: vec![action],
            opened: Vec::new(),
        })
    }

    /// Keeps the table within its bound: drops idle incidents first, then the least recent.
    fn make_room(&mut self) {
        if self.incidents.len() < self.config.max_tracked {
            return;
        }
        let newest = self.incidents.values().map(|i| i.last_seen).max();
        if let Some(newest) = newest {
            let window = self.config.group_window;
            self.incidents.retain(|_, i| newest - i.last_seen <= window);
        }
        while self.incidents.len() >= self.config.max_tracked {
            let Some(oldest) = self
                .incidents
                .values()
                .min_by_key(|i| i.last_seen)
                .map(|i| i.id)
            else {
                break;
            };
            self.incidents.remove(&oldest);
            self.dropped += 1;
        }
        let incidents = &self.incidents;
        self.by_entity.retain(|_, id| incidents.contains_key(id));
    }
}

fn open_incident(id: IncidentId, alert: &Alert, now: DateTime<Utc>) -> Incident {
    Incident {
        id,
        title: format!("{} ({})", alert.title, alert.entity),
        status: IncidentStatus::Open,
        severity: alert.severity,
        entity: alert.entity.clone(),
        first_seen: alert.time,
        last_seen: alert.time,
        alert_count: 1,
        detectors: vec![alert.detector.clone()],
        rule_ids: vec![alert.rule_id.clone()],
        tags: alert.tags.clone(),
        history: vec![Transition {
            at: now,
            from: None,
            to: IncidentStatus::Open,
            by: BY.into(),
            reason: format!("alert {} from rule {}", alert.id, alert.rule_id),
        }],
        ledger_index: None,
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

fn absorb(incident: &mut Incident, alert: &Alert, config: &CorrelatorConfig) {
    incident.alert_count += 1;
    incident.first_seen = incident.first_seen.min(alert.time);
    incident.last_seen = incident.last_seen.max(alert.time);
    push_unique(&mut incident.detectors, &alert.detector);
    let rules_before = incident.rule_ids.len();
    push_unique(&mut incident.rule_ids, &alert.rule_id);
    for tag in &alert.tags {
        push_unique(&mut incident.tags, tag);
    }
    let mut severity = incident.severity.max(alert.severity);
    if config.escalate_at_counts.contains(&incident.alert_count) {
        severity = severity.escalated();
    }
    if rules_before < config.escalate_at_rules
        && incident.rule_ids.len() == config.escalate_at_rules
    {
        severity = severity.escalated();
    }
    incident.severity = severity;
}
