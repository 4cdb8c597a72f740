//! Event builders for tests across the workspace, so that every crate's tests speak of the same
//! events without each writing its own copy. Enabled by the `fixtures` feature.

use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};

use crate::event::{AuthAction, AuthEvent, AuthOutcome, HttpRequest};
use crate::{Clock, Event, EventData};

/// A fixed instant the tests start from: 2026-11-21 12:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A clock that stands still until the test moves it, so that time-outs, undos and lapsing
/// decisions can be tested without waiting for them.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// A failed password login for `account` from `from` at `at`.
pub fn failed_login(account: &str, from: &str, at: DateTime<Utc>) -> Event {
    Event {
        time: at,
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data: EventData::Auth(AuthEvent {
            account: account.into(),
            ip: ip(from),
            action: AuthAction::Login,
            outcome: AuthOutcome::Failure,
            reason: None,
            device: None,
            user_agent: None,
        }),
    }
}

/// A `GET path` from `from` answered with `status` at `at`.
pub fn http_get(path: &str, from: &str, status: u16, at: DateTime<Utc>) -> Event {
    Event {
        time: at,
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data: EventData::HttpRequest(HttpRequest {
            client_ip: ip(from),
            method: "GET".into(),
            host: None,
            path: path.into(),
            query: None,
            http_version: None,
            status: Some(status),
            user_agent: None,
            referer: None,
            headers: vec![],
            body: None,
            bytes_sent: None,
            duration_ms: None,
            session: None,
            account: None,
            device: None,
        }),
    }
}
