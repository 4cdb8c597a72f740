//! Signed notes (C2SP signed-note) on arbitrary bytes: parse, format, reparse; never panics.
#![no_main]

use ensuresec_auditlog::note::Note;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let again = Note::parse(note.to_string().as_bytes()).expect("a formatted note parses");
        assert_eq!(again, note);
    }
});
