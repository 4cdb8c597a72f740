//! The offline verifier on a log directory whose `entries.log` and `index.bin` are arbitrary
//! bytes (no checkpoints, nothing synced): it frames, checks and hashes whatever is there, and
//! either accepts it or names a problem; never panics.
#![no_main]

use ensuresec_auditlog::note::VerifierSet;
use ensuresec_auditlog::verify_dir::{VerifyOptions, verify_log_dir};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (index, entries) = rest.split_at((usize::from(split) * 8).min(rest.len()));
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    };
    write("entries.log", entries);
    write("index.bin", index);
    write("checkpoints.log", b"");
    let mut options = VerifyOptions::new(VerifierSet::new(Vec::new()));
    options.max_entry_bytes = 1024;
    options.threads = 2;
    if let Ok(report) = verify_log_dir(dir.path(), &options) {
        assert!(report.underived <= report.entries);
        assert!(report.entry_bytes + report.torn_tail_bytes <= entries.len() as u64);
    }
});
