//! Metric names of the response module (Prometheus, through the `metrics` facade).

/// Playbook runs started, by playbook.
pub const PLAYBOOK_RUNS: &str = "ensuresec_playbook_runs_total";
/// Step state changes, by new status.
pub const STEPS: &str = "ensuresec_playbook_steps_total";
/// Steps that asked for approval.
pub const APPROVALS_REQUESTED: &str = "ensuresec_approvals_requested_total";
/// Decisions made, by type.
pub const DECISIONS: &str = "ensuresec_decisions_total";
/// Delivery attempts, by channel and resulting status.
pub const DELIVERIES: &str = "ensuresec_deliveries_total";
/// E-mails not sent because of the per-recipient limit.
pub const EMAILS_RATE_LIMITED: &str = "ensuresec_emails_rate_limited_total";
/// Failed firewall updates.
pub const FIREWALL_ERRORS: &str = "ensuresec_firewall_errors_total";
