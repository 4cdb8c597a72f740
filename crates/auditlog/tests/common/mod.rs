//! Helpers shared by the integration tests: locating the shared corpus (absent on users' machines).

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::PathBuf;

/// The shared tlog corpus, or `None` (after printing why) when it is absent outside CI.
/// Under `CI=true` an absent corpus is a failure, so CI can never pass by skipping.
pub fn tlog_corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/tlog");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared corpus missing at {} (required when CI=true)",
        dir.display()
    );
    eprintln!(
        "SKIP: shared corpus not found at {}; skipping",
        dir.display()
    );
    None
}
