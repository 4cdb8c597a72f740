//! The loader and the audit on mangled descriptions (every prefix of the test specs, and byte
//! flips): a clear error with a line, or a report, never a panic. The fuzz target
//! `fuzz/fuzz_targets/openapi_loader.rs` explores further.

mod common;

use std::path::Path;

use ensuresec_prevention::spec::{Limits, load_with};
use ensuresec_prevention::{RuleSet, audit};

fn try_text(text: &[u8], rules: &RuleSet) -> bool {
    let read = |_: &Path, _: u64| Ok(text.to_vec());
    match load_with(Path::new("m.yaml"), Limits::default(), &read) {
        Ok(spec) => {
            let _ = audit(&spec, rules);
            true
        }
        Err(e) => {
            assert!(e.line > 0 || e.message.contains("cannot"), "{e}");
            assert!(!e.message.is_empty());
            false
        }
    }
}

#[test]
fn prefixes_and_flipped_bytes_give_errors_or_reports() {
    let rules = RuleSet::builtin();
    let text = std::fs::read(common::spec_path("shop-bad.yaml")).expect("spec");
    let (mut ok, mut refused) = (0, 0);
    for end in (0..text.len()).step_by(37) {
        if try_text(&text[..end], &rules) {
            ok += 1
        } else {
            refused += 1
        }
    }
    for at in (0..text.len()).step_by(53) {
        for byte in [b'{', b'[', b':', b'\'', b'&', b'*', b'\t', b'-', 0xC3] {
            let mut t = text.clone();
            t[at] = byte;
            if try_text(&t, &rules) {
                ok += 1
            } else {
                refused += 1
            }
        }
    }
    // Both outcomes occur: the mangling is neither always harmless nor always fatal.
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
}
