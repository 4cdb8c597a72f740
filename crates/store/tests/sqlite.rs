//! The SQLite backend against the store contract, plus what only an embedded file can promise.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod contract;

use ensuresec_store::{Appended, BatchKey, Resend, SqliteOptions, SqliteStore, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    contract::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopening_and_sequence_numbers_continue() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        store
            .append_events(&[contract::login("a", contract::t0())], None)
            .await
            .unwrap()
    };
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    assert_eq!(store.count_events().await.unwrap(), 1);
    let next = store
        .append_events(&[contract::login("b", contract::t0())], None)
        .await
        .unwrap();
    assert_eq!(next.first, first.first + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_are_all_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<_> = (0..50)
                .map(|j| contract::login(&format!("u{i}-{j}"), contract::t0()))
                .collect();
            store.append_events(&batch, None).await.unwrap()
        }));
    }
    let mut ranges = Vec::new();
    for t in tasks {
        ranges.push(t.await.unwrap());
    }
    ranges.sort_by_key(|r| r.first);
    for pair in ranges.windows(2) {
        assert_eq!(
            pair[1].first,
            pair[0].first + pair[0].len,
            "ranges neither overlap nor gap"
        );
    }
    assert_eq!(store.count_events().await.unwrap(), 32 * 50);
}

fn shop_key(key: &str) -> BatchKey {
    BatchKey {
        sender: "shop".into(),
        key: key.into(),
        digest: [3; 32],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_many_times_at_once_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let batch: Vec<_> = (0..20)
        .map(|j| contract::login(&format!("u{j}"), contract::t0()))
        .collect();
    // Sent together, the copies share group commits: the key must hold within a transaction.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (store, batch) = (store.clone(), batch.clone());
        tasks.push(tokio::spawn(async move {
            store
                .append_batch(&batch, None, Resend::Key(shop_key("same")))
                .await
                .unwrap()
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let stored = answers
        .iter()
        .filter(|a| matches!(a, Appended::Stored(_)))
        .count();
    assert_eq!(stored, 1, "one copy is stored: {answers:?}");
    assert!(
        answers.iter().all(|a| a.range() == answers[0].range()),
        "every copy learns the same sequence numbers: {answers:?}"
    );
    assert_eq!(store.count_events().await.unwrap(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_key_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let batch = [contract::login("a", contract::t0())];
    let first = {
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        store
            .append_batch(&batch, None, Resend::Key(shop_key("k")))
            .await
            .unwrap()
    };
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let again = store
        .append_batch(&batch, None, Resend::Key(shop_key("k")))
        .await
        .unwrap();
    assert_eq!(again, Appended::Earlier(first.range()));
    assert_eq!(store.count_events().await.unwrap(), 1);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("ensuresec.db")).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = SqliteStore::open(dir.path(), SqliteOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("newer"), "{err}");
}
