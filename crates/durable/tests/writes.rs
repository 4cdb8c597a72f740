//! The durable writes against a real file system: content, mode, refusals, and that a failure
//! leaves the old file and no temporary one behind.

use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use ensuresec_durable::{
    LOCK_FILE, create_new, lock_folder, remove_leftovers, replace, replace_with, sync_dir,
    temporary_in, try_lock_file,
};

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

/// The names in a folder, sorted, so that a leftover temporary file shows.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn replace_creates_then_replaces_with_the_mode_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    replace(&path, 0o640, b"first").expect("create");
    assert_eq!(std::fs::read(&path).expect("read"), b"first");
    assert_eq!(mode_of(&path), 0o640);
    replace(&path, 0o600, b"second, longer").expect("replace");
    assert_eq!(std::fs::read(&path).expect("read"), b"second, longer");
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(names_in(dir.path()), ["state.json"]);
}

#[test]
fn the_file_being_written_is_owner_only_whatever_the_final_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("public.note");
    let seen = replace_with(&path, 0o644, |file| {
        file.write_all(b"signed note")?;
        Ok(file.metadata()?.permissions().mode() & 0o777)
    })
    .expect("write");
    assert_eq!(seen, 0o600);
    assert_eq!(mode_of(&path), 0o644);
}

#[test]
fn a_failing_writer_leaves_the_old_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("model.json");
    replace(&path, 0o644, b"old model").expect("create");
    let err = replace_with(&path, 0o644, |file| {
        file.write_all(b"half a new mo")?;
        Err::<(), _>(std::io::Error::other("the model did not serialise"))
    })
    .expect_err("the writer failed");
    assert_eq!(err.action, "writing");
    assert_eq!(err.path, path);
    let message = err.to_string();
    assert!(message.contains("model.json"), "{message}");
    assert!(message.contains("did not serialise"), "{message}");
    assert_eq!(std::fs::read(&path).expect("read"), b"old model");
    assert_eq!(names_in(dir.path()), ["model.json"]);
}

#[test]
fn replace_returns_what_the_writer_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("count");
    let written = replace_with(&path, 0o600, |file| {
        file.write_all(b"12345")?;
        Ok(5usize)
    })
    .expect("write");
    assert_eq!(written, 5);
}

#[test]
fn create_new_refuses_an_existing_file_and_keeps_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.skey");
    create_new(&path, 0o600, b"first key").expect("create");
    assert_eq!(mode_of(&path), 0o600);
    let err = create_new(&path, 0o600, b"second key").expect_err("exists");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(err.action, "creating");
    assert_eq!(std::fs::read(&path).expect("read"), b"first key");
    assert_eq!(names_in(dir.path()), ["log.skey"]);
}

#[test]
fn a_missing_folder_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-folder");
    let err = replace(&missing.join("state.json"), 0o600, b"x").expect_err("no folder");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.path, missing);
    assert!(
        err.to_string().starts_with("creating a temporary file in "),
        "{err}"
    );
    let as_io: std::io::Error = err.into();
    assert_eq!(as_io.kind(), ErrorKind::NotFound);
    assert!(as_io.to_string().contains("no-such-folder"), "{as_io}");
}

#[test]
fn a_folder_that_cannot_be_opened_is_an_error_when_synced() {
    let dir = tempfile::tempdir().expect("tempdir");
    sync_dir(dir.path()).expect("an existing folder syncs");
    let err = sync_dir(&dir.path().join("gone")).expect_err("missing");
    assert_eq!(err.action, "syncing");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn set_user_id_bits_asked_for_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("restored-tool");
    replace(&path, 0o4755, b"#!/bin/sh\n").expect("write");
    assert_eq!(mode_of(&path), 0o4755);
}

#[test]
fn leftovers_of_a_crashed_write_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The name of the temporary file a write uses, seen while it is being written: what a
    // crash at that moment would leave.
    let temporary = replace_with(&dir.path().join("state.bin"), 0o600, |file| {
        file.write_all(b"whole")?;
        let before: Vec<String> = names_in(dir.path())
            .into_iter()
            .filter(|n| n.starts_with(".state.bin."))
            .collect();
        Ok(before)
    })
    .expect("write");
    assert_eq!(temporary.len(), 1, "{temporary:?}");
    let crashed = dir.path().join(&temporary[0]);
    std::fs::write(&crashed, b"half of a state").expect("the crash's leftover");
    std::fs::write(dir.path().join(".other.tmp"), b"not ours").expect("write");
    std::fs::write(dir.path().join("notes.ensuresec.tmp"), b"not hidden").expect("write");
    assert_eq!(remove_leftovers(dir.path()).expect("sweep"), 1);
    assert!(!crashed.exists());
    assert_eq!(
        names_in(dir.path()),
        [".other.tmp", "notes.ensuresec.tmp", "state.bin"]
    );
    assert_eq!(remove_leftovers(dir.path()).expect("again"), 0);
    assert_eq!(
        remove_leftovers(&dir.path().join("missing")).expect("no folder"),
        0
    );
}

#[test]
fn a_locked_folder_cannot_be_locked_again_until_the_holder_lets_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = lock_folder(dir.path(), &[]).expect("lock");
    let lock_file = dir.path().join(LOCK_FILE);
    assert_eq!(mode_of(&lock_file), 0o600);
    // Another open of the lock file stands for another process: `flock` locks belong to the
    // open file, not to the process.
    let other = std::fs::File::open(&lock_file).expect("open");
    assert!(matches!(
        other.try_lock(),
        Err(std::fs::TryLockError::WouldBlock)
    ));
    drop(held);
    other.try_lock().expect("free once the holder is dropped");
}

#[test]
fn taking_the_lock_sweeps_the_folders_named_and_no_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("objects")).expect("mkdir");
    std::fs::create_dir(dir.path().join("other")).expect("mkdir");
    let mut leftovers = Vec::new();
    for folder in [".", "objects", "other"] {
        let temporary = temporary_in(&dir.path().join(folder), "object").expect("temporary");
        let (_, path) = temporary.keep().expect("kept, as a crash would leave it");
        leftovers.push(path);
    }
    std::fs::write(dir.path().join("objects").join("ab"), b"finished").expect("write");
    let _held = lock_folder(dir.path(), &[".", "objects", "missing"]).expect("lock");
    assert!(!leftovers[0].exists() && !leftovers[1].exists());
    assert!(leftovers[2].exists(), "a folder not named is not swept");
    assert_eq!(names_in(&dir.path().join("objects")), ["ab"]);
}

#[test]
fn a_lock_file_is_had_by_one_holder_at_a_time_without_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json.lock");
    let first = try_lock_file(&path).expect("opens").expect("free");
    assert!(try_lock_file(&path).expect("opens").is_none(), "held");
    drop(first);
    assert!(try_lock_file(&path).expect("opens").is_some(), "free again");
    let missing = try_lock_file(&dir.path().join("no/such.lock")).expect_err("no folder");
    assert!(missing.to_string().contains("no/such.lock"), "{missing}");
}
