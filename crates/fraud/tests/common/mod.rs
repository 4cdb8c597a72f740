//! What the journal tests share.

use std::path::Path;

/// The journal files in `dir`, by name.
pub fn journal_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".journal."))
        .collect();
    names.sort();
    names
}
