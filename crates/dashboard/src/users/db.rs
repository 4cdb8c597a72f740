//! The accounts database: users, sessions, failed-login counters. Synchronous (SQLite, and
//! Argon2 takes tens of milliseconds): async callers run it on blocking threads.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::password::{hash_password, verify_password};
use super::role::Role;

/// Consecutive failures after which an account is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;
/// Shortest accepted password.
pub const MIN_PASSWORD: usize = 12;
/// Longest accepted password (Argon2 would take anything; a bound keeps requests cheap).
pub const MAX_PASSWORD: usize = 1024;

const MIGRATIONS: &[&str] = &["CREATE TABLE users (
         name TEXT PRIMARY KEY,
         role TEXT NOT NULL,
         partner TEXT,
         hash TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         failures INTEGER NOT NULL DEFAULT 0,
         last_failure_ms INTEGER NOT NULL DEFAULT 0,
         locked_until_ms INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE sessions (
         id_hash BLOB PRIMARY KEY,
         name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
         csrf TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         expires_ms INTEGER NOT NULL
     );
     CREATE INDEX sessions_name ON sessions(name);"];

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The database failed.
    #[error("accounts database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// Hashing failed.
    #[error("password hashing: {0}")]
    Hash(String),
    /// A name, password or partner is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// No such user.
    #[error("no user `{0}`")]
    NotFound(String),
    /// The name is taken.
    #[error("user `{0}` already exists")]
    Exists(String),
    /// The database was written by a newer version.
    #[error("accounts database schema {found} is newer than this version supports ({supported})")]
    SchemaTooNew {
        /// Found.
        found: i64,
        /// Supported.
        supported: i64,
    },
}

/// An account (never with its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// For partners: the partner organisation whose assets they see.
    pub partner: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Locked until then, after too many failed logins.
    pub locked_until: Option<DateTime<Utc>>,
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// The CSRF token every state-changing form of this session must carry.
    pub csrf: String,
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the session id for the cookie (shown only here) and the session.
    Ok(String, Session),
    /// Wrong name or password.
    Failed,
    /// Too soon after a failure: try again after this many seconds.
    Throttled(i64),
    /// Locked after too many failures, until then.
    Locked(DateTime<Utc>),
}

/// The accounts database.
pub struct UserDb {
    conn: Mutex<Connection>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn random_hex() -> Result<String, UserError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| UserError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn session_hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// A hash to verify against when the user does not exist, so that unknown and known names take
/// the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password, for timing").unwrap_or_default())
}

/// Whether `name` can be a user (or partner) name: 1 to 64 letters, digits, `.`, `_`, `-`, `@`.
pub fn is_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

fn check_name(name: &str) -> Result<(), UserError> {
    if is_user_name(name) {
        Ok(())
    } else {
        Err(UserError::Invalid(
            "a user name is 1 to 64 characters of letters, digits, `.`, `_`, `-`, `@`".into(),
        ))
    }
}

fn check_password(password: &str) -> Result<(), UserError> {
    let n = password.chars().count();
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        Ok(())
    } else {
        Err(UserError::Invalid(format!(
            "a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )))
    }
}

fn check_role(role: Role, partner: Option<&str>) -> Result<(), UserError> {
    match (role, partner) {
        (Role::Partner, None) => Err(UserError::Invalid(
            "a partner user needs the partner it belongs to".into(),
        )),
        (Role::Partner, Some(p)) => check_name(p),
        (_, Some(_)) => Err(UserError::Invalid(
            "only partner users belong to a partner".into(),
        )),
        (_, None) => Ok(()),
    }
}

impl UserDb {
    /// Opens (creating and migrating) `DATA_DIR/users.db`.
    pub fn open(data_dir: &Path) -> Result<UserDb, UserError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| UserError::Invalid(format!("{}: {e}", data_dir.display())))?;
        let mut conn = Connection::open(data_dir.join("users.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let latest = MIGRATIONS.len() as i64;
        if current > latest {
            return Err(UserError::SchemaTooNew {
                found: current,
                supported: latest,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(UserDb {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates an account.
    pub fn add(
        &self,
        name: &str,
        password: &str,
        role: Role,
        partner: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<User, UserError> {
        check_name(name)?;
        check_password(password)?;
        check_role(role, partner)?;
        let hash = hash_password(password)?;
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO users (name, role, partner, hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role.as_str(), partner, hash, ms(now)],
        )?;
        if inserted == 0 {
            return Err(UserError::Exists(name.into()));
        }
        self.get(name)?
            .ok_or_else(|| UserError::NotFound(name.into()))
    }

    /// Sets a new password, unlocks the account and ends its sessions.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), UserError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE users SET hash = ?2, failures = 0, locked_until_ms = 0 WHERE name = ?1",
            params![name, hash],
        )?;
        if n == 0 {
            return Err(UserError::NotFound(name.into()));
        }
        conn.execute("DELETE FROM sessions WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Changes a role (and partner); ends the user's sessions so the change applies at once.
    pub fn set_role(&self, name: &str, role: Role, partner: Option<&str>) -> Result<(), UserError> {
        check_role(role, partner)?;
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE users SET role = ?2, partner = ?3 WHERE name = ?1",
            params![name, role.as_str(), partner],
        )?;
        if n == 0 {
            return Err(UserError::NotFound(name.into()));
        }
        conn.execute("DELETE FROM sessions WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Removes an account and its sessions.
    pub fn remove(&self, name: &str) -> Result<(), UserError> {
        let n = self
            .conn()
            .execute("DELETE FROM users WHERE name = ?1", [name])?;
        if n == 0 {
            return Err(UserError::NotFound(name.into()));
        }
        Ok(())
    }

    /// Every account, by name.
    pub fn list(&self) -> Result<Vec<User>, UserError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, role, partner, created_ms, locked_until_ms FROM users ORDER BY name",
        )?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One account.
    pub fn get(&self, name: &str) -> Result<Option<User>, UserError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, role, partner, created_ms, locked_until_ms FROM users WHERE name = ?1",
                [name],
                user_row,
            )
            .optional()?)
    }

    /// Checks a login: throttled after a failure (1, 2, 4… seconds, at most 30), locked for
    /// [`LOCKOUT_MINUTES`] after [`MAX_FAILURES`] failures in a row; on success, a new session.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginOutcome, UserError> {
        let row: Option<(String, i64, i64, i64)> = self
            .conn()
            .query_row(
                "SELECT hash, failures, last_failure_ms, locked_until_ms FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((hash, failures, last_failure, locked_until)) = row else {
            let _ = verify_password(password, dummy_hash());
            return Ok(LoginOutcome::Failed);
        };
        if locked_until > ms(now) {
            return Ok(LoginOutcome::Locked(time(locked_until)));
        }
        if failures > 0 {
            let wait_ms = (1000i64 << failures.clamp(0, 5)).min(30_000);
            let ready = last_failure + wait_ms;
            if ready > ms(now) {
                return Ok(LoginOutcome::Throttled((ready - ms(now) + 999) / 1000));
            }
        }
        if password.len() > MAX_PASSWORD * 4 || !verify_password(password, &hash) {
            let failures = failures + 1;
            let conn = self.conn();
            if failures >= i64::from(MAX_FAILURES) {
                let until = now + Duration::minutes(LOCKOUT_MINUTES);
                conn.execute(
                    "UPDATE users SET failures = 0, last_failure_ms = ?2, locked_until_ms = ?3 WHERE name = ?1",
                    params![name, ms(now), ms(until)],
                )?;
                return Ok(LoginOutcome::Locked(until));
            }
            conn.execute(
                "UPDATE users SET failures = ?2, last_failure_ms = ?3 WHERE name = ?1",
                params![name, failures, ms(now)],
            )?;
            return Ok(LoginOutcome::Failed);
        }
        let id = random_hex()?;
        let csrf = random_hex()?;
        let conn = self.conn();
        conn.execute(
            "UPDATE users SET failures = 0, locked_until_ms = 0 WHERE name = ?1",
            [name],
        )?;
        conn.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [ms(now)])?;
        conn.execute(
            "INSERT INTO sessions (id_hash, name, csrf, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![session_hash(&id), name, csrf, ms(now), ms(now + Duration::hours(SESSION_HOURS))],
        )?;
        drop(conn);
        let user = self
            .get(name)?
            .ok_or_else(|| UserError::NotFound(name.into()))?;
        Ok(LoginOutcome::Ok(id, Session { user, csrf }))
    }

    /// The live session with this id.
    pub fn session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Session>, UserError> {
        if id.len() != 64 {
            return Ok(None);
        }
        let conn = self.conn();
        let found = conn
            .query_row(
                "SELECT u.name, u.role, u.partner, u.created_ms, u.locked_until_ms, s.csrf
                 FROM sessions s JOIN users u ON u.name = s.name
                 WHERE s.id_hash = ?1 AND s.expires_ms > ?2",
                params![session_hash(id), ms(now)],
                |r| Ok((user_row(r)?, r.get::<_, String>(5)?)),
            )
            .optional()?;
        Ok(found.map(|(user, csrf)| Session { user, csrf }))
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) -> Result<(), UserError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE id_hash = ?1",
            [session_hash(id)],
        )?;
        Ok(())
    }
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(1)?;
    let locked: i64 = r.get(4)?;
    Ok(User {
        name: r.get(0)?,
        role: role.parse().unwrap_or(Role::Partner),
        partner: r.get(2)?,
        created: time(r.get(3)?),
        locked_until: (locked > 0).then(|| time(locked)),
    })
}
