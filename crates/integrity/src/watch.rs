//! Real-time watching: inotify (through `notify`, recursive: folders created or renamed into the
//! root are watched as they appear) feeds the [`Monitor`]; events for one burst are gathered for
//! a short settle time, so that an editor's write-to-temporary-then-rename save is checked once,
//! at its end. A full scan runs at start (what changed while nobody watched), at every interval,
//! and whenever the kernel's queue overflowed, since then events were lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use ensuresec_model::{Clock, Event};
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::error::IntegrityError;
use crate::monitor::Monitor;

/// How the watcher runs.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// How long events are gathered after the first of a burst.
    pub settle: Duration,
    /// Full scans at this interval (none: only at start and after an overflow).
    pub rescan: Option<Duration>,
}

/// Longest wait without anything to do (also how often an expired hold is noticed).
const IDLE: Duration = Duration::from_secs(5);

/// Watches the monitor's root and hands every non-empty batch of events to `emit` until `emit`
/// returns `false` (the receiver is gone). Blocking: run it on a thread of its own.
pub fn run(
    mut monitor: Monitor,
    options: WatchOptions,
    clock: Arc<dyn Clock>,
    mut emit: impl FnMut(Vec<Event>) -> bool,
) -> Result<(), IntegrityError> {
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let root = monitor.root().to_path_buf();
    let mut watcher = notify::recommended_watcher(move |res| {
        let _ = tx.send(res);
    })
    .map_err(|e| watch_error(&root, e))?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&root, e))?;
    let first = monitor.full_scan(clock.now())?;
    if !first.is_empty() && !emit(first) {
        return Ok(());
    }
    let mut next_scan = options.rescan.map(|d| Instant::now() + d);
    loop {
        let wait = next_scan
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(IDLE)
            .min(IDLE);
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut rescan = false;
        match rx.recv_timeout(wait) {
            Ok(first) => {
                take(first, &mut paths, &mut rescan);
                let until = Instant::now() + options.settle;
                loop {
                    match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                        Ok(more) => take(more, &mut paths, &mut rescan),
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if next_scan.is_some_and(|at| Instant::now() >= at) {
            rescan = true;
            next_scan = options.rescan.map(|d| Instant::now() + d);
        }
        let now = clock.now();
        let events = if rescan {
            monitor.full_scan(now)
        } else {
            // An empty list still lets an ended hold report what it held back.
            monitor.check_paths(paths, now)
        };
        let events = match events {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "integrity check failed");
                continue;
            }
        };
        if !events.is_empty() && !emit(events) {
            return Ok(());
        }
    }
}

/// Adds an event's paths; an overflow or a watch error asks for a full scan.
fn take(res: notify::Result<notify::Event>, paths: &mut Vec<PathBuf>, rescan: &mut bool) {
    match res {
        Ok(ev) => {
            if ev.need_rescan() {
                *rescan = true;
            }
            if !matches!(ev.kind, EventKind::Access(_)) {
                paths.extend(ev.paths);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "file watch error; rescanning");
            *rescan = true;
        }
    }
}

fn watch_error(root: &std::path::Path, e: notify::Error) -> IntegrityError {
    IntegrityError::Path {
        path: root.to_path_buf(),
        message: format!("cannot watch: {e}"),
    }
}
