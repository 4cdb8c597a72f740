//! The response module wired into the platform: its journal is the audit log, its lifecycle is
//! the pipeline's correlator, its executors are the real HTTP, SMTP and `nft` clients.

use std::sync::Arc;

use async_trait::async_trait;
use ensuresec_model::{Clock, IncidentStatus};
use ensuresec_pipeline::LifecycleHandle;
use ensuresec_respond::db::Db;
use ensuresec_respond::exec::firewall::Nft;
use ensuresec_respond::exec::mail::SmtpMailer;
use ensuresec_respond::exec::webhook::HttpWebhooks;
use ensuresec_respond::exec::{Firewall, MailSender};
use ensuresec_respond::journal::{Journal, JournalKind, Lifecycle, NoJournal};
use ensuresec_respond::playbook::{PlaybookSet, default_playbooks};
use ensuresec_respond::{Parts, Responder};

use crate::config::Config;
use crate::ledger::{Ledger, RecordKind};

/// Response records go to the audit log.
pub struct LedgerJournal(pub Arc<Ledger>);

#[async_trait]
impl Journal for LedgerJournal {
    async fn record(&self, kind: JournalKind, record: serde_json::Value) -> Option<u64> {
        let kind = record_kind(kind);
        match self.0.record(kind, &record).await {
            Ok(index) => Some(index),
            Err(e) => {
                tracing::error!(error = %e, kind = kind.as_str(), "audit log append failed");
                None
            }
        }
    }

    async fn record_many(
        &self,
        kind: JournalKind,
        records: Vec<serde_json::Value>,
    ) -> Vec<Option<u64>> {
        let kind = record_kind(kind);
        let (now, max) = (self.0.now(), self.0.max_entry_bytes());
        let entries: Result<Vec<Vec<u8>>, _> = records
            .iter()
            .map(|r| crate::ledger::record::entry(kind, now, r, max))
            .collect();
        let appended = match entries {
            Ok(entries) => self.0.append(entries).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match appended {
            Ok(indexes) => indexes.into_iter().map(Some).collect(),
            Err(e) => {
                tracing::error!(error = %e, kind = kind.as_str(), "audit log append failed");
                vec![None; records.len()]
            }
        }
    }
}

fn record_kind(kind: JournalKind) -> RecordKind {
    match kind {
        JournalKind::Decision => RecordKind::Decision,
        JournalKind::DecisionDeleted => RecordKind::DecisionDeleted,
        JournalKind::Step => RecordKind::ResponseStep,
        JournalKind::Delivery => RecordKind::Delivery,
        JournalKind::FailSafe => RecordKind::FailSafe,
    }
}

/// Playbook status changes go through the correlator.
pub struct PipelineLifecycle(pub LifecycleHandle);

impl Lifecycle for PipelineLifecycle {
    fn request(&self, incident: u64, to: IncidentStatus, by: String, reason: String) {
        self.0.request(incident, to, by, reason);
    }
}

/// Loads the configured playbooks: the shipped ones (unless disabled) and every file. Webhook
/// targets of the files must be configured; the shipped ones may name unconfigured targets
/// (their steps then fail, recorded, and the run goes on).
pub fn load_playbooks(config: &Config) -> Result<PlaybookSet, String> {
    let r = &config.respond;
    let mut set = if r.default_playbooks {
        default_playbooks().map_err(|e| e.to_string())?
    } else {
        PlaybookSet::default()
    };
    let targets: Vec<&str> = r.webhooks.iter().map(|w| w.name.as_str()).collect();
    for path in &r.playbook_files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        let more = PlaybookSet::from_yaml(&name, &text).map_err(|e| e.to_string())?;
        more.check_targets(&targets)
            .map_err(|e| format!("{name}: {e}"))?;
        set.merge(&name, more).map_err(|e| e.to_string())?;
    }
    Ok(set)
}

/// Builds the responder from `[respond]`; `None` when it is disabled.
pub async fn responder(
    config: &Config,
    ledger: Option<Arc<Ledger>>,
    clock: Arc<dyn Clock>,
) -> Result<Option<Arc<Responder>>, String> {
    let r = &config.respond;
    if !r.enabled {
        return Ok(None);
    }
    r.validate()?;
    let playbooks = load_playbooks(config)?;
    let mut targets = Vec::new();
    for (i, w) in r.webhooks.iter().enumerate() {
        let secret = w
            .secret
            .read()
            .map_err(|e| format!("respond.webhooks[{i}].secret: {e}"))?;
        targets.push((w.name.clone(), w.url.clone(), secret.into_bytes()));
    }
    let mailer = match &r.smtp {
        Some(smtp) => Some(Arc::new(SmtpMailer::new(smtp)?) as Arc<dyn MailSender>),
        None => None,
    };
    let firewall = if r.firewall.enabled {
        Some(Arc::new(
            Nft::setup(&r.firewall)
                .await
                .map_err(|e| format!("respond.firewall: {e}"))?,
        ) as Arc<dyn Firewall>)
    } else {
        None
    };
    let db =
        Db::open(&config.storage.data_dir.join("respond.sqlite")).map_err(|e| e.to_string())?;
    let journal: Arc<dyn Journal> = match ledger {
        Some(l) => Arc::new(LedgerJournal(l)),
        None => Arc::new(NoJournal),
    };
    let responder = Responder::new(Parts {
        db,
        playbooks,
        config: r.clone(),
        targets,
        webhooks: Arc::new(HttpWebhooks::new()?),
        mailer,
        firewall,
        journal,
        clock,
    })
    .map_err(|e| e.to_string())?;
    Ok(Some(Arc::new(responder)))
}
