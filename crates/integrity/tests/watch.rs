//! The watcher against a real temporary web root: planted web shell, edit, delete, an editor's
//! save, a folder renamed, and a deploy under a hold then accepted (which raises nothing).
//! Every wait polls the event channel with a deadline.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ensuresec_integrity::monitor::{Hold, Monitor};
use ensuresec_integrity::watch::{self, WatchOptions};
use ensuresec_integrity::{StateDir, ops};
use ensuresec_model::event::{FileChange, FileChangeKind};
use ensuresec_model::{Clock, Event, EventData};

struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .to_utc()
    }
}

const DEADLINE: Duration = Duration::from_secs(20);

fn file_changes(
    rx: &Receiver<Vec<Event>>,
    until: impl Fn(&[FileChange]) -> bool,
) -> Vec<FileChange> {
    let start = Instant::now();
    let mut got = Vec::new();
    while !until(&got) {
        let left = DEADLINE
            .checked_sub(start.elapsed())
            .unwrap_or_else(|| panic!("no matching events within {DEADLINE:?}; got {got:#?}"));
        let Ok(batch) = rx.recv_timeout(left) else {
            panic!("no matching events within {DEADLINE:?}; got {got:#?}")
        };
        for e in batch {
            let EventData::FileChange(f) = e.data else {
                panic!("not a file change")
            };
            got.push(f);
        }
    }
    got
}

fn has(got: &[FileChange], path: &str, kind: FileChangeKind) -> bool {
    got.iter().any(|f| f.path == path && f.change == kind)
}

fn start(root: &Path, state_dir: &Path) -> (StateDir, Receiver<Vec<Event>>) {
    let state = StateDir::open(state_dir, None).unwrap();
    ops::create(&state, root, vec!["cache/**".into()], Fixed.now(), None).unwrap();
    let monitor = Monitor::open(state.clone(), Some("web-1".into())).unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        watch::run(
            monitor,
            WatchOptions {
                settle: Duration::from_millis(300),
                rescan: None,
            },
            Arc::new(Fixed),
            move |events| tx.send(events).is_ok(),
        )
    });
    (state, rx)
}

fn shop(root: &Path) {
    std::fs::create_dir_all(root.join("app/js")).unwrap();
    std::fs::create_dir_all(root.join("cache")).unwrap();
    std::fs::write(root.join("index.php"), "<?php run();\n").unwrap();
    std::fs::write(root.join("app/js/checkout.js"), "function pay() {}\n").unwrap();
    std::fs::write(root.join("app/util.php"), "<?php // util\n").unwrap();
}

/// Waits until the watch is live: a sentinel file's creation is reported. Removing it puts the
/// tree back as the baseline has it, which raises nothing.
fn ready(root: &Path, rx: &Receiver<Vec<Event>>) {
    std::fs::write(root.join("sentinel.txt"), "x").unwrap();
    file_changes(rx, |g| has(g, "sentinel.txt", FileChangeKind::Created));
    std::fs::remove_file(root.join("sentinel.txt")).unwrap();
}

#[test]
fn shell_edit_delete_editor_save_and_folder_rename_are_reported_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    shop(&root);
    let (_state, rx) = start(&root, &dir.path().join("state"));
    ready(&root, &rx);

    std::fs::write(root.join("app/shell.php"), "<?php @eval($_POST['x']);").unwrap();
    let got = file_changes(&rx, |g| has(g, "app/shell.php", FileChangeKind::Created));
    let shell = got.iter().find(|f| f.path == "app/shell.php").unwrap();
    assert_eq!(
        shell.hash_after.as_deref(),
        Some(blake3::hash(b"<?php @eval($_POST['x']);").to_hex().as_str())
    );
    assert_eq!(shell.asset.as_deref(), Some("web-1"));

    std::fs::write(
        root.join("index.php"),
        "<?php run();\nsystem($_GET['c']);\n",
    )
    .unwrap();
    let got = file_changes(&rx, |g| has(g, "index.php", FileChangeKind::Modified));
    let edit = got.iter().find(|f| f.path == "index.php").unwrap();
    assert_eq!((edit.size_before, edit.size), (Some(13), Some(33)));
    assert_ne!(edit.hash_before, edit.hash_after);
    let diff = edit.diff.as_deref().unwrap();
    assert!(
        diff.starts_with("+1 -0 lines") && diff.contains("system($_GET['c'])"),
        "{diff}"
    );

    std::fs::remove_file(root.join("app/util.php")).unwrap();
    file_changes(&rx, |g| has(g, "app/util.php", FileChangeKind::Deleted));

    // An editor's save: write a temporary file, rename it over the original.
    std::fs::write(
        root.join("app/js/.checkout.js.tmp"),
        "function pay() { skim(); }\n",
    )
    .unwrap();
    std::fs::rename(
        root.join("app/js/.checkout.js.tmp"),
        root.join("app/js/checkout.js"),
    )
    .unwrap();
    let got = file_changes(&rx, |g| {
        has(g, "app/js/checkout.js", FileChangeKind::Modified)
    });
    assert!(
        got.iter()
            .find(|f| f.path == "app/js/checkout.js")
            .unwrap()
            .diff
            .as_deref()
            .unwrap()
            .contains("skim()")
    );

    // A folder renamed: its files are gone from one place and planted in another, and the
    // renamed folder is still watched.
    std::fs::rename(root.join("app/js"), root.join("app/js2")).unwrap();
    file_changes(&rx, |g| {
        has(g, "app/js/checkout.js", FileChangeKind::Deleted)
            && has(g, "app/js2/checkout.js", FileChangeKind::Created)
    });
    std::fs::write(root.join("app/js2/new.js"), "x").unwrap();
    file_changes(&rx, |g| has(g, "app/js2/new.js", FileChangeKind::Created));

    // Ignored paths raise nothing; the next event is the next real change.
    std::fs::write(root.join("cache/page.html"), "cached").unwrap();
    std::fs::write(root.join("late.php"), "<?php").unwrap();
    let got = file_changes(&rx, |g| has(g, "late.php", FileChangeKind::Created));
    assert!(
        got.iter().all(|f| !f.path.starts_with("cache/")),
        "{got:#?}"
    );
}

#[test]
fn an_accepted_deploy_under_a_hold_raises_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    shop(&root);
    let (state, rx) = start(&root, &dir.path().join("state"));
    ready(&root, &rx);

    state
        .set_hold(&Hold {
            until: Fixed.now() + chrono::Duration::minutes(30),
            reason: "release 2".into(),
        })
        .unwrap();
    std::fs::write(
        root.join("app/js/checkout.js"),
        "function pay() { v2(); }\n",
    )
    .unwrap();
    std::fs::write(root.join("app/feature.php"), "<?php feature();").unwrap();
    std::fs::remove_file(root.join("app/util.php")).unwrap();
    ops::accept(&state, Fixed.now(), Some("release 2".into()), None).unwrap();
    assert!(!state.hold_path().exists(), "accept ends the hold");

    // Events are handled in order: if the deploy had raised anything it would come first.
    std::fs::write(root.join("after.php"), "<?php").unwrap();
    let got = file_changes(&rx, |g| has(g, "after.php", FileChangeKind::Created));
    assert_eq!(got.len(), 1, "only the change after the deploy: {got:#?}");
}
