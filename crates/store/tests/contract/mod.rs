//! The contract every `Store` backend must pass. A backend's test file calls [`run_all`] with a
//! fresh, empty store; each check states one promise of the trait.

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::{
    Action, Alert, EntityKey, EntityKind, Event, Incident, IncidentStatus, Severity, Transition,
};
use ensuresec_store::{
    AlertFilter, Appended, BatchKey, DetectionProgress, Findings, IncidentFilter, MessageMark,
    NewToken, PageRequest, Resend, Scope, Store, StoreError,
};

pub use ensuresec_model::fixtures::t0;

pub fn login(account: &str, at: DateTime<Utc>) -> Event {
    let mut e = ensuresec_model::fixtures::failed_login(account, "198.51.100.1", at);
    e.ingest_time = Some(at);
    e
}

pub fn alert(id: u64, severity: Severity, ip: &str, incident: Option<u64>) -> Alert {
    Alert {
        id,
        time: t0() + Duration::seconds(id as i64),
        detector: "threshold".into(),
        rule_id: format!("rule-{}", id % 2),
        title: "test alert".into(),
        severity,
        confidence: 0.9,
        entity: EntityKey::new(EntityKind::Ip, ip),
        evidence: serde_json::json!({"count": id}),
        tags: vec!["attack:T1110".into()],
        incident_id: incident,
        ledger_index: Some(1000 + id),
    }
}

pub fn incident(id: u64, status: IncidentStatus, ip: &str) -> Incident {
    Incident {
        id,
        title: format!("incident {id}"),
        status,
        severity: Severity::High,
        entity: EntityKey::new(EntityKind::Ip, ip),
        first_seen: t0(),
        last_seen: t0() + Duration::seconds(id as i64),
        alert_count: 1,
        detectors: vec!["threshold".into()],
        rule_ids: vec!["rule-1".into()],
        tags: vec![],
        history: vec![Transition {
            at: t0(),
            from: None,
            to: status,
            by: "test".into(),
            reason: "opened".into(),
        }],
        ledger_index: Some(2000 + id),
    }
}

pub async fn run_all(store: &dyn Store) {
    events_get_consecutive_sequence_numbers(store).await;
    a_keyed_batch_is_stored_once(store).await;
    a_batch_keeps_the_marks_of_its_messages(store).await;
    findings_are_listed_filtered_and_paged(store).await;
    incident_detail_holds_its_alerts_and_actions(store).await;
    incident_updates_replace_the_stored_state(store).await;
    retention_purges_only_old_batches(store).await;
    raw_ndjson_is_kept_and_reads_back_with_the_platform_ingest_time(store).await;
    tokens_are_hashed_scoped_and_revocable(store).await;
    overview_counts_incidents_by_module_and_buckets_activity(store).await;
    detection_progress_is_kept_with_the_findings(store).await;
}

async fn overview_counts_incidents_by_module_and_buckets_activity(store: &dyn Store) {
    let count = |counts: &[ensuresec_store::IncidentCount], status| {
        counts
            .iter()
            .filter(|c| c.module == "overview-module" && c.status == status)
            .map(|c| c.count)
            .sum::<u64>()
    };
    let mut open = incident(9001, IncidentStatus::Open, "203.0.113.90");
    open.detectors = vec!["overview-module".into(), "other".into()];
    let mut closed = incident(9002, IncidentStatus::Resolved, "203.0.113.91");
    closed.detectors = open.detectors.clone();
    let at = t0() + Duration::days(30);
    let mut late = alert(9001, Severity::Low, "203.0.113.90", Some(9001));
    late.time = at + Duration::seconds(90);
    store
        .record(Findings {
            alerts: vec![late],
            incidents: vec![open, closed],
            actions: vec![],
            progress: None,
        })
        .await
        .unwrap();
    let counts = store.incident_counts().await.unwrap();
    assert_eq!(count(&counts, IncidentStatus::Open), 1);
    assert_eq!(count(&counts, IncidentStatus::Resolved), 1);
    assert!(
        counts.iter().all(|c| c.module != "other"),
        "grouped by the first detector only"
    );
    let activity = store.activity(at, 60).await.unwrap();
    assert_eq!(activity.alerts, vec![(at.timestamp() + 60, 1)]);
}

/// Runs last: the checks before it stored events and findings, but no progress.
async fn detection_progress_is_kept_with_the_findings(store: &dyn Store) {
    let first = store.detection_progress().await.unwrap();
    assert_eq!(
        first.next_seq,
        vec![1],
        "a new store starts at the first sequence number, and storing events does not move it"
    );
    let progress = |next_seq: Vec<u64>| Some(DetectionProgress { next_seq });
    store
        .record(Findings {
            alerts: vec![alert(9101, Severity::Low, "10.5.5.5", None)],
            progress: progress(vec![5, 7, 6]),
            ..Findings::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.detection_progress().await.unwrap().next_seq,
        vec![5, 7, 6]
    );
    store
        .record(Findings {
            alerts: vec![alert(9102, Severity::Low, "10.5.5.5", None)],
            progress: None,
            ..Findings::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.detection_progress().await.unwrap().next_seq,
        vec![5, 7, 6],
        "findings without progress leave it as it was"
    );
    store
        .record(Findings {
            progress: progress(vec![9, 8]),
            ..Findings::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.detection_progress().await.unwrap().next_seq,
        vec![9, 8],
        "fewer partitions replace the progress whole"
    );
}

async fn events_get_consecutive_sequence_numbers(store: &dyn Store) {
    let before = store.count_events().await.unwrap();
    let a = store
        .append_events(&[login("a", t0()), login("b", t0())], None)
        .await
        .unwrap();
    let b = store
        .append_events(&[login("c", t0())], None)
        .await
        .unwrap();
    assert_eq!(a.len, 2);
    assert_eq!(
        b.first,
        a.first + 2,
        "sequence numbers continue across batches"
    );
    assert_eq!(store.count_events().await.unwrap(), before + 3);
    let back = store.events_from(a.first, 10).await.unwrap();
    assert_eq!(back.len(), 3);
    assert_eq!(
        back[2].1,
        login("c", t0()),
        "an event reads back as written"
    );
    assert_eq!(back[0].0, a.first);
}

async fn a_keyed_batch_is_stored_once(store: &dyn Store) {
    let key = |sender: &str, key: &str, digest: u8| BatchKey {
        sender: sender.into(),
        key: key.into(),
        digest: [digest; 32],
    };
    let batch = [login("k1", t0()), login("k2", t0())];
    let before = store.count_events().await.unwrap();
    let first = store
        .append_batch(&batch, None, Resend::Key(key("shop", "batch-1", 7)))
        .await
        .unwrap();
    let Appended::Stored(range) = first else {
        panic!("a new key stores its batch, got {first:?}");
    };
    assert_eq!(range.len, 2);
    let again = store
        .append_batch(&batch, None, Resend::Key(key("shop", "batch-1", 7)))
        .await
        .unwrap();
    assert_eq!(
        again,
        Appended::Earlier(range),
        "the same batch under the same key is answered with its first sequence numbers"
    );
    assert_eq!(
        store.count_events().await.unwrap(),
        before + 2,
        "the batch sent again is not stored twice"
    );
    match store
        .append_batch(&batch[..1], None, Resend::Key(key("shop", "batch-1", 8)))
        .await
    {
        Err(StoreError::KeyReused(k)) => assert_eq!(k, "batch-1"),
        other => panic!("the key with another batch is refused, got {other:?}"),
    }
    let other_sender = store
        .append_batch(&batch, None, Resend::Key(key("psp", "batch-1", 7)))
        .await
        .unwrap();
    assert!(
        matches!(other_sender, Appended::Stored(r) if r.first == range.first + 2),
        "another sender's key is its own: {other_sender:?}"
    );
    let next = store
        .append_events(&[login("k3", t0())], None)
        .await
        .unwrap();
    assert_eq!(
        next.first,
        range.first + 4,
        "a batch answered from its key takes no sequence numbers"
    );
    assert_eq!(store.count_events().await.unwrap(), before + 5);
}

fn mark(source: &str, id: u32, digest: u8) -> MessageMark {
    MessageMark {
        source: source.into(),
        id,
        digest: [digest; 32],
    }
}

async fn a_batch_keeps_the_marks_of_its_messages(store: &dyn Store) {
    let before = store.count_events().await.unwrap();
    assert!(!store.is_marked(&mark("mqtt:a", 1, 1)).await.unwrap());
    let range = store
        .append_batch(
            &[login("m1", t0()), login("m2", t0())],
            None,
            Resend::Marks(vec![mark("mqtt:a", 1, 1), mark("mqtt:a", 2, 2)]),
        )
        .await
        .unwrap()
        .range();
    assert_eq!(range.len, 2);
    assert_eq!(store.count_events().await.unwrap(), before + 2);
    assert!(store.is_marked(&mark("mqtt:a", 1, 1)).await.unwrap());
    assert!(store.is_marked(&mark("mqtt:a", 2, 2)).await.unwrap());
    assert!(
        !store.is_marked(&mark("mqtt:a", 1, 2)).await.unwrap(),
        "the id with another digest is another message"
    );
    assert!(
        !store.is_marked(&mark("mqtt:b", 1, 1)).await.unwrap(),
        "another source's ids are its own"
    );
    // Sources reuse ids: the newer message's mark replaces the older one's.
    store
        .append_batch(
            &[login("m3", t0())],
            None,
            Resend::Marks(vec![mark("mqtt:a", 1, 3)]),
        )
        .await
        .unwrap();
    assert!(store.is_marked(&mark("mqtt:a", 1, 3)).await.unwrap());
    assert!(!store.is_marked(&mark("mqtt:a", 1, 1)).await.unwrap());
    assert!(store.is_marked(&mark("mqtt:a", 2, 2)).await.unwrap());
    assert_eq!(store.count_events().await.unwrap(), before + 3);
}

async fn findings_are_listed_filtered_and_paged(store: &dyn Store) {
    let alerts: Vec<Alert> = (1..=25)
        .map(|i| {
            let sev = if i % 5 == 0 {
                Severity::Critical
            } else {
                Severity::Low
            };
            alert(
                i,
                sev,
                if i % 2 == 0 { "10.0.0.2" } else { "10.0.0.1" },
                Some(100),
            )
        })
        .collect();
    store
        .record(Findings {
            alerts,
            incidents: vec![incident(100, IncidentStatus::Open, "10.0.0.1")],
            actions: vec![],
            progress: None,
        })
        .await
        .unwrap();

    let first = store
        .list_alerts(AlertFilter::default(), PageRequest::new(10, None))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.items[0].id, 25, "newest first");
    let second = store
        .list_alerts(
            AlertFilter::default(),
            PageRequest::new(10, first.next_cursor),
        )
        .await
        .unwrap();
    assert_eq!(
        second.items[0].id, 15,
        "the cursor continues below the last id"
    );
    let third = store
        .list_alerts(
            AlertFilter::default(),
            PageRequest::new(10, second.next_cursor),
        )
        .await
        .unwrap();
    assert_eq!(third.items.len(), 5);
    assert_eq!(third.next_cursor, None, "the last page has no cursor");
    let above_every_id = store
        .list_alerts(AlertFilter::default(), PageRequest::new(10, Some(u64::MAX)))
        .await
        .unwrap();
    assert_eq!(
        above_every_id.items.first().map(|a| a.id),
        Some(25),
        "a cursor above any stored id is the first page"
    );

    let critical = store
        .list_alerts(
            AlertFilter {
                min_severity: Some(Severity::High),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        critical.items.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![25, 20, 15, 10, 5]
    );
    let by_entity = store
        .list_alerts(
            AlertFilter {
                entity: Some(EntityKey::new(EntityKind::Ip, "10.0.0.2")),
                rule_id: Some("rule-0".into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_entity.items.len(), 12);
    assert!(by_entity.items.iter().all(|a| a.entity.value == "10.0.0.2"));
    let since = store
        .list_alerts(
            AlertFilter {
                since: Some(t0() + Duration::seconds(23)),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(since.items.len(), 3);
    assert_eq!(store.max_ids().await.unwrap(), (25, 100));
}

async fn incident_detail_holds_its_alerts_and_actions(store: &dyn Store) {
    store
        .record(Findings {
            alerts: vec![alert(200, Severity::High, "10.9.9.9", Some(200))],
            incidents: vec![incident(200, IncidentStatus::Open, "10.9.9.9")],
            actions: vec![Action {
                id: 0,
                time: t0(),
                incident_id: Some(200),
                kind: "incident_opened".into(),
                target: None,
                by: "correlator".into(),
                detail: serde_json::Value::Null,
                ledger_index: Some(3000),
            }],
            progress: None,
        })
        .await
        .unwrap();
    let detail = store
        .incident(200)
        .await
        .unwrap()
        .expect("incident 200 exists");
    assert_eq!(detail.incident.id, 200);
    assert_eq!(detail.alerts.len(), 1);
    assert_eq!(detail.alerts[0].id, 200);
    assert_eq!(detail.actions.len(), 1);
    assert!(detail.actions[0].id > 0, "actions get ids");
    // Each stored record keeps its audit-log leaf index (issue 4).
    assert_eq!(detail.incident.ledger_index, Some(2200));
    assert_eq!(detail.alerts[0].ledger_index, Some(1200));
    assert_eq!(detail.actions[0].ledger_index, Some(3000));
    assert!(store.incident(99_999).await.unwrap().is_none());
}

async fn incident_updates_replace_the_stored_state(store: &dyn Store) {
    let mut inc = incident(300, IncidentStatus::Open, "10.3.3.3");
    store
        .record(Findings {
            incidents: vec![inc.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        store
            .open_incidents()
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == 300)
    );
    inc.status = IncidentStatus::Resolved;
    inc.alert_count = 7;
    store
        .record(Findings {
            incidents: vec![inc],
            ..Default::default()
        })
        .await
        .unwrap();
    let stored = store.incident(300).await.unwrap().unwrap().incident;
    assert_eq!(stored.alert_count, 7);
    assert!(
        !store
            .open_incidents()
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == 300)
    );
    let resolved = store
        .list_incidents(
            IncidentFilter {
                status: Some(IncidentStatus::Resolved),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        resolved.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![300]
    );
}

async fn retention_purges_only_old_batches(store: &dyn Store) {
    let old = t0() - Duration::days(10);
    let before = store.count_events().await.unwrap();
    let mut e = login("old", old);
    e.ingest_time = Some(old);
    store.append_events(&[e.clone(), e], None).await.unwrap();
    store
        .append_events(&[login("new", t0())], None)
        .await
        .unwrap();
    // Everything ingested before the cutoff goes, including the earlier checks' events at t0.
    let purged = store
        .purge_events_before(t0() - Duration::days(1))
        .await
        .unwrap();
    assert!(
        purged >= 2,
        "the two old events are purged (purged {purged})"
    );
    assert_eq!(store.count_events().await.unwrap(), before + 3 - purged);
    assert_eq!(
        store
            .purge_events_before(t0() - Duration::days(1))
            .await
            .unwrap(),
        0
    );
    // A key goes with its batch: sent again after the purge, the batch is stored anew.
    let key = || BatchKey {
        sender: "shop".into(),
        key: "old-batch".into(),
        digest: [1; 32],
    };
    let mut e = login("old", old);
    e.ingest_time = Some(old);
    let stored = store
        .append_batch(std::slice::from_ref(&e), None, Resend::Key(key()))
        .await
        .unwrap();
    assert!(matches!(stored, Appended::Stored(_)), "{stored:?}");
    store
        .purge_events_before(t0() - Duration::days(1))
        .await
        .unwrap();
    let again = store
        .append_batch(&[e], None, Resend::Key(key()))
        .await
        .unwrap();
    assert!(
        matches!(again, Appended::Stored(r) if r.first > stored.range().first),
        "a purged batch's key is forgotten with it: {again:?}"
    );
    // So are the marks of its messages.
    let mut e = login("old", old);
    e.ingest_time = Some(old);
    store
        .append_batch(&[e], None, Resend::Marks(vec![mark("mqtt:old", 9, 9)]))
        .await
        .unwrap();
    assert!(store.is_marked(&mark("mqtt:old", 9, 9)).await.unwrap());
    store
        .purge_events_before(t0() - Duration::days(1))
        .await
        .unwrap();
    assert!(
        !store.is_marked(&mark("mqtt:old", 9, 9)).await.unwrap(),
        "a purged batch's marks are forgotten with it"
    );
}

async fn tokens_are_hashed_scoped_and_revocable(store: &dyn Store) {
    let secret = store
        .create_token(NewToken {
            name: "shipper".into(),
            scopes: vec![Scope::Ingest],
            secret: None,
            replace: false,
            created: t0(),
        })
        .await
        .unwrap();
    assert!(secret.starts_with("es_") && secret.len() == 67, "{secret}");
    let info = store
        .authenticate(&secret)
        .await
        .unwrap()
        .expect("token is known");
    assert!(info.allows(Scope::Ingest));
    assert!(!info.allows(Scope::Read));
    assert!(store.authenticate("es_wrong").await.unwrap().is_none());
    let by_hash = store
        .token_by_hash(ensuresec_store::hash_token(&secret))
        .await;
    assert_eq!(
        by_hash.unwrap(),
        Some(info.clone()),
        "the same token by its hash"
    );
    assert!(store.token_by_hash(vec![0; 32]).await.unwrap().is_none());
    let dup = store
        .create_token(NewToken {
            name: "shipper".into(),
            scopes: vec![Scope::Read],
            secret: None,
            replace: false,
            created: t0(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::DuplicateToken(_))), "{dup:?}");
    assert!(store.revoke_token("shipper").await.unwrap());
    assert!(
        store.authenticate(&secret).await.unwrap().is_none(),
        "revoked tokens fail"
    );
    assert!(!store.revoke_token("nobody").await.unwrap());
    let fixed = store
        .create_token(NewToken {
            name: "admin".into(),
            scopes: vec![Scope::Admin],
            secret: Some("es_fixed".into()),
            replace: true,
            created: t0(),
        })
        .await
        .unwrap();
    assert_eq!(fixed, "es_fixed");
    let admin = store.authenticate("es_fixed").await.unwrap().unwrap();
    assert!(admin.allows(Scope::Read) && admin.allows(Scope::Ingest));
    let listed = store.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
}

async fn raw_ndjson_is_kept_and_reads_back_with_the_platform_ingest_time(store: &dyn Store) {
    let at = t0() + Duration::days(1);
    let mut a = login("raw-a", t0());
    let mut b = login("raw-b", t0());
    // What the client sent, blank lines and a client-side ingest_time included.
    let raw = format!(
        "{}\n\n{}\r\n",
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    a.ingest_time = Some(at);
    b.ingest_time = Some(at);
    let range = store
        .append_events(&[a.clone(), b.clone()], Some(raw.as_bytes()))
        .await
        .unwrap();
    assert_eq!(range.len, 2);
    let back = store.events_from(range.first, 2).await.unwrap();
    assert_eq!(back, vec![(range.first, a), (range.first + 1, b)]);
    // A window starting inside a batch returns only from there.
    let tail = store.events_from(range.first + 1, 10).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].0, range.first + 1);
}
