//! The configuration loader on arbitrary text: errors with a line, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("ensuresec-fuzz-config-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("ensuresec.toml");
    if std::fs::write(&path, data).is_ok() {
        let _ = ensuresec_server::config::Config::check_file(&path);
    }
});
