//! Dashboard accounts and their sessions, in `DATA_DIR/users.db`: passwords as Argon2id hashes,
//! session ids as SHA-256 hashes (the cookie holds the only copy of the id), failed-login
//! counters for throttling and lockout.
//!
//! Accounts live in their own database, apart from findings: a different trust level (these
//! rows grant access), a different write pattern (rare, small), and a store backend swapped for
//! findings need not carry them.

mod db;
mod password;
mod role;

pub use db::{LoginOutcome, Session, User, UserDb, UserError, is_user_name};
pub use password::{hash_password, verify_password};
pub use role::Role;

/// How long a session cookie lives, in seconds (the session row expires at the same time).
pub fn db_session_seconds() -> i64 {
    db::SESSION_HOURS * 3600
}
