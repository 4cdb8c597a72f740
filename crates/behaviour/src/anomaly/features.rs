//! Per-entity behaviour vectors: what one entity did in one window of event time, as numbers.

use chrono::{DateTime, Timelike, Utc};
use ensuresec_model::event::AuthOutcome;
use ensuresec_model::{Event, EventData};

use crate::hash::hash_bytes;

/// The features, in vector order, with how each is scaled to [0, 1].
pub const FEATURES: [&str; 10] = [
    "requests",
    "error_ratio",
    "distinct_paths",
    "bytes_per_request",
    "mean_gap_seconds",
    "post_ratio",
    "static_ratio",
    "login_failures",
    "hour_sin",
    "hour_cos",
];

/// Distinct paths kept exactly per entity and window.
const MAX_PATHS: usize = 64;

const STATIC: [&str; 9] = [
    ".css", ".js", ".png", ".jpg", ".svg", ".webp", ".woff", ".woff2", ".ico",
];

/// What one entity did so far in its current window.
#[derive(Debug, Clone)]
pub struct Accumulator {
    /// Window start (ms).
    pub start_ms: i64,
    /// Last event time (ms).
    pub last_ms: i64,
    requests: u32,
    errors: u32,
    posts: u32,
    statics: u32,
    login_failures: u32,
    bytes: f64,
    paths: Vec<u32>,
}

impl Accumulator {
    /// An empty window starting at `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        Accumulator {
            start_ms,
            last_ms: start_ms,
            requests: 0,
            errors: 0,
            posts: 0,
            statics: 0,
            login_failures: 0,
            bytes: 0.0,
            paths: Vec::new(),
        }
    }

    /// Adds an event.
    pub fn add(&mut self, event: &Event, time_ms: i64) {
        self.last_ms = self.last_ms.max(time_ms);
        match &event.data {
            EventData::HttpRequest(h) => {
                self.requests += 1;
                if h.status.is_some_and(|s| s >= 400) {
                    self.errors += 1;
                }
                if h.method.eq_ignore_ascii_case("POST") {
                    self.posts += 1;
                }
                let lower = h.path.as_bytes();
                if STATIC.iter().any(|s| {
                    lower.len() >= s.len()
                        && lower[lower.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
                }) {
                    self.statics += 1;
                }
                self.bytes += h.bytes_sent.unwrap_or(0) as f64;
                let p = hash_bytes(h.path.as_bytes()) as u32;
                if self.paths.len() < MAX_PATHS && !self.paths.contains(&p) {
                    self.paths.push(p);
                }
            }
            EventData::Auth(a) if a.outcome == AuthOutcome::Failure => self.login_failures += 1,
            _ => {}
        }
    }

    /// Whether it saw anything worth scoring.
    pub fn is_empty(&self) -> bool {
        self.requests == 0 && self.login_failures == 0
    }

    /// The raw (unscaled) feature values, for explanations.
    pub fn raw(&self, window_ms: i64) -> [f64; 10] {
        let n = f64::from(self.requests.max(1));
        let gap = if self.requests > 1 {
            (self.last_ms - self.start_ms).max(0) as f64 / 1000.0 / f64::from(self.requests - 1)
        } else {
            window_ms as f64 / 1000.0
        };
        let hour = DateTime::<Utc>::from_timestamp_millis(self.start_ms).map_or(0, |t| t.hour());
        let angle = f64::from(hour) / 24.0 * std::f64::consts::TAU;
        [
            f64::from(self.requests),
            f64::from(self.errors) / n,
            self.paths.len() as f64,
            self.bytes / n,
            gap,
            f64::from(self.posts) / n,
            f64::from(self.statics) / n,
            f64::from(self.login_failures),
            angle.sin(),
            angle.cos(),
        ]
    }
}

/// Scales raw features to [0, 1]: logarithms for counts and sizes (so that 10 and 10 000 requests
/// are far apart but 10 000 and 20 000 are not), identity for ratios.
pub fn scale(raw: &[f64; 10]) -> [f64; 10] {
    let log = |v: f64, max: f64| ((v.max(0.0) + 1.0).ln() / (max + 1.0).ln()).clamp(0.0, 1.0);
    [
        log(raw[0], 100_000.0),
        raw[1].clamp(0.0, 1.0),
        log(raw[2], MAX_PATHS as f64),
        log(raw[3], 10_000_000.0),
        log(raw[4], 3600.0),
        raw[5].clamp(0.0, 1.0),
        raw[6].clamp(0.0, 1.0),
        log(raw[7], 10_000.0),
        (raw[8] + 1.0) / 2.0,
        (raw[9] + 1.0) / 2.0,
    ]
}
