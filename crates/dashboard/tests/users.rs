#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

//! The accounts database on a real SQLite file: hashing, sessions, throttling, lockout, roles.

use chrono::{Duration, TimeZone, Utc};
use ensuresec_dashboard::users::{LoginOutcome, Role, UserDb, UserError};

const PW: &str = "correct horse battery";

fn t(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn session_id(outcome: LoginOutcome) -> String {
    match outcome {
        LoginOutcome::Ok(id, session) => {
            assert_eq!(session.csrf.len(), 64);
            id
        }
        other => panic!("expected a session, got {other:?}"),
    }
}

#[test]
fn passwords_are_argon2id_and_sessions_are_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let db = UserDb::open(dir.path()).unwrap();
    db.add("alice", PW, Role::Admin, None, t(0)).unwrap();
    let id = session_id(db.login("alice", PW, t(1)).unwrap());
    assert_eq!(
        db.session(&id, t(2)).unwrap().unwrap().user.role,
        Role::Admin
    );
    // Neither the password nor the session id is in the file.
    drop(db);
    let conn = rusqlite::Connection::open(dir.path().join("users.db")).unwrap();
    let hash: String = conn
        .query_row("SELECT hash FROM users", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let stored: Vec<u8> = conn
        .query_row("SELECT id_hash FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, id.as_bytes());
}

#[test]
fn failures_throttle_then_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = UserDb::open(dir.path()).unwrap();
    db.add("bob", PW, Role::Viewer, None, t(0)).unwrap();
    assert!(matches!(
        db.login("bob", "wrong password!", t(0)).unwrap(),
        LoginOutcome::Failed
    ));
    // Right after a failure even the right password waits.
    assert!(matches!(
        db.login("bob", PW, t(1)).unwrap(),
        LoginOutcome::Throttled(_)
    ));
    let mut at = 0;
    let mut locked = false;
    for _ in 0..10 {
        at += 60;
        match db.login("bob", "wrong password!", t(at)).unwrap() {
            LoginOutcome::Locked(_) => {
                locked = true;
                break;
            }
            LoginOutcome::Failed => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(locked, "locked after repeated failures");
    assert!(matches!(
        db.login("bob", PW, t(at + 60)).unwrap(),
        LoginOutcome::Locked(_)
    ));
    // After the lockout the right password works again.
    session_id(db.login("bob", PW, t(at + 16 * 60)).unwrap());
    // Unknown users fail the same way, without throttling anything.
    assert!(matches!(
        db.login("nobody", PW, t(0)).unwrap(),
        LoginOutcome::Failed
    ));
}

#[test]
fn role_and_password_changes_end_sessions_and_sessions_expire() {
    let dir = tempfile::tempdir().unwrap();
    let db = UserDb::open(dir.path()).unwrap();
    db.add("carol", PW, Role::Analyst, None, t(0)).unwrap();
    let id = session_id(db.login("carol", PW, t(0)).unwrap());
    db.set_role("carol", Role::Viewer, None).unwrap();
    assert!(db.session(&id, t(1)).unwrap().is_none());
    let id = session_id(db.login("carol", PW, t(2)).unwrap());
    assert_eq!(
        db.session(&id, t(3)).unwrap().unwrap().user.role,
        Role::Viewer
    );
    assert!(
        db.session(&id, t(9 * 3600)).unwrap().is_none(),
        "expired after 8 hours"
    );
    db.set_password("carol", "another long password").unwrap();
    assert!(matches!(
        db.login("carol", PW, t(10)).unwrap(),
        LoginOutcome::Failed
    ));
}

#[test]
fn bad_names_passwords_and_partner_roles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = UserDb::open(dir.path()).unwrap();
    assert!(matches!(
        db.add("a b", PW, Role::Viewer, None, t(0)),
        Err(UserError::Invalid(_))
    ));
    assert!(matches!(
        db.add("dave", "short", Role::Viewer, None, t(0)),
        Err(UserError::Invalid(_))
    ));
    assert!(matches!(
        db.add("erin", PW, Role::Partner, None, t(0)),
        Err(UserError::Invalid(_))
    ));
    assert!(matches!(
        db.add("erin", PW, Role::Viewer, Some("x"), t(0)),
        Err(UserError::Invalid(_))
    ));
    let p = db
        .add("erin", PW, Role::Partner, Some("parcel-express"), t(0))
        .unwrap();
    assert_eq!(p.partner.as_deref(), Some("parcel-express"));
    assert!(matches!(
        db.add("erin", PW, Role::Viewer, None, t(0)),
        Err(UserError::Exists(_))
    ));
}
