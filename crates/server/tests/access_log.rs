//! The access-log tail on real files: partial lines, rename and copy-truncate rotation, resume
//! from the stored offset after a restart (also across a rotation that happened while stopped),
//! bad lines, and the live source feeding the pipeline.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ensuresec_model::{Clock, Event, EventData};
use ensuresec_pipeline::{Source, SystemClock};
use ensuresec_server::Platform;
use ensuresec_server::access_log::{AccessLogSource, LogTail, ReadFrom};
use ensuresec_server::config::Config;
use ensuresec_store::{SqliteOptions, SqliteStore, Store};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

/// One Combined Log Format line requesting `path`.
fn line(path: &str) -> String {
    format!(
        "192.0.2.1 - - [21/Nov/2026:12:00:00 +0000] \"GET {path} HTTP/1.1\" 200 10 \"-\" \"Mozilla/5.0\"\n"
    )
}

fn append(file: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn paths(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.data {
            EventData::HttpRequest(r) => r.path.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn tail(dir: &Path) -> LogTail {
    LogTail::new(
        dir.join("access.log"),
        None,
        &dir.join("state"),
        ReadFrom::Beginning,
    )
}

#[test]
fn partial_lines_wait_and_a_rename_rotation_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut t = tail(dir.path());
    assert!(t.poll(t0()).unwrap().is_empty(), "no file yet is no error");
    let half = line("/3");
    append(
        &log,
        &format!("{}{}{}", line("/1"), line("/2"), &half[..20]),
    );
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/1", "/2"]);
    append(&log, &format!("{}{}", &half[20..], line("/4")));
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/3", "/4"]);
    assert!(t.poll(t0()).unwrap().is_empty());

    // logrotate: rename, the server writes one more line to its open file, then reopens.
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    assert!(
        t.poll(t0()).unwrap().is_empty(),
        "rotated away, not recreated"
    );
    append(&dir.path().join("access.log.1"), &line("/5"));
    append(&log, &format!("{}{}", line("/6"), line("/7")));
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/5", "/6", "/7"]);
    append(&log, &line("/8"));
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/8"]);
    let e = &t.poll(t0()).unwrap();
    assert!(e.is_empty());
}

#[test]
fn a_copy_truncate_rotation_rereads_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &format!("{}{}", line("/a"), line("/b")));
    let mut t = tail(dir.path());
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/a", "/b"]);
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &line("/c"));
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/c"]);
}

#[test]
fn a_restart_resumes_from_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &format!("{}{}", line("/1"), line("/2")));
    {
        let mut t = tail(dir.path());
        assert_eq!(paths(&t.poll(t0()).unwrap()), ["/1", "/2"]);
        t.commit().unwrap();
        append(&log, &line("/3"));
        assert_eq!(paths(&t.poll(t0()).unwrap()), ["/3"]);
        // Stopped before /3 was durable: no commit.
    }
    append(&log, &line("/4"));
    let mut t = tail(dir.path());
    assert!(t.state_path().exists());
    assert_eq!(
        paths(&t.poll(t0()).unwrap()),
        ["/3", "/4"],
        "at least once: the uncommitted line comes again, nothing before it"
    );
    t.commit().unwrap();
    drop(t);
    let mut t = tail(dir.path());
    assert!(t.poll(t0()).unwrap().is_empty());
}

#[test]
fn a_restart_finishes_a_file_rotated_while_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &format!("{}{}", line("/1"), line("/2")));
    {
        let mut t = tail(dir.path());
        assert_eq!(paths(&t.poll(t0()).unwrap()), ["/1", "/2"]);
        t.commit().unwrap();
    }
    // While stopped: more lines, a rotation, a new file.
    append(&log, &line("/3"));
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &format!("{}{}", line("/4"), line("/5")));
    let mut t = tail(dir.path());
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/3", "/4", "/5"]);
    t.commit().unwrap();
    drop(t);
    let mut t = tail(dir.path());
    assert!(t.poll(t0()).unwrap().is_empty(), "nothing read twice");
    append(&log, &line("/6"));
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/6"]);
}

#[test]
fn a_new_file_that_reused_the_inode_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &format!("{}{}", line("/old1"), line("/old2")));
    {
        let mut t = tail(dir.path());
        assert_eq!(t.poll(t0()).unwrap().len(), 2);
        t.commit().unwrap();
    }
    // Same inode, other content (a rewrite in place): the stored offset no longer applies.
    std::fs::write(
        &log,
        format!("{}{}{}", line("/new1"), line("/new2"), line("/new3")),
    )
    .unwrap();
    let mut t = tail(dir.path());
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/new1", "/new2", "/new3"]);
}

#[test]
fn bad_and_overlong_lines_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &line("/first"));
    append(&log, "garbage that is not a log line\n");
    append(&log, &format!("{}\n", "x".repeat(200_000)));
    append(&log, &line("/last"));
    let mut t = tail(dir.path());
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/first", "/last"]);
    assert_eq!(t.bad_lines(), 2);
}

#[test]
fn read_from_end_skips_the_history_only_the_first_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &line("/history"));
    let mut t = LogTail::new(&log, None, &dir.path().join("state"), ReadFrom::End);
    assert!(t.poll(t0()).unwrap().is_empty());
    append(&log, &line("/new"));
    assert_eq!(paths(&t.poll(t0()).unwrap()), ["/new"]);
}

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        t0()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_source_turns_logged_attacks_into_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &line("/product/aspirin-500"));
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("data"), SqliteOptions::default()).unwrap());
    // The audit log and the response state live in the data directory too: keep them in the
    // test's directory.
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    let platform = Platform::with_store(&config, store.clone(), Arc::new(FixedClock))
        .await
        .unwrap();
    let mut live = platform.live().subscribe();
    let t = tail(dir.path());
    let source = AccessLogSource::new(t, Duration::from_millis(20), Arc::new(SystemClock));
    let task = tokio::spawn(Box::new(source).run(platform.ingestor().clone()));
    append(
        &log,
        &line("/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--"),
    );
    let findings = tokio::time::timeout(Duration::from_secs(30), live.recv())
        .await
        .expect("an alert within 30 s")
        .unwrap();
    let alert = &findings.alerts[0];
    assert_eq!(alert.detector, "webattack");
    assert!(alert.rule_id.starts_with("SQLI-"), "{}", alert.rule_id);
    assert_eq!(alert.entity.value, "192.0.2.1");
    assert_eq!(alert.evidence["request"]["partial"], true);
    assert_eq!(
        alert.time,
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    );
    // The alert comes after its batch was stored, so both lines are in.
    task.abort();
    let _ = task.await;
    assert_eq!(store.count_events().await.unwrap(), 2);
    platform.shutdown().await;
}
