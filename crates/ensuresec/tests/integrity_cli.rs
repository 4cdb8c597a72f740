//! `ensuresec integrity`: baseline, status, restore with a dry run first, accept.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::output_text;

fn integrity(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .env("ENSURESEC_LOG", "warn")
        .arg("integrity")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap()
}

#[test]
fn status_restore_and_accept_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let data = dir.path().join("data");
    std::fs::create_dir_all(www.join("js")).unwrap();
    std::fs::write(www.join("index.php"), "<?php echo 'shop';\n").unwrap();
    std::fs::write(www.join("js/checkout.js"), "pay();\n").unwrap();

    let o = integrity(
        &data,
        &["baseline", www.to_str().unwrap(), "--reason", "first"],
    );
    assert!(o.status.success(), "{}", output_text(&o));
    assert!(
        output_text(&o).contains("baseline 1 of"),
        "{}",
        output_text(&o)
    );
    let o = integrity(&data, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));

    std::fs::write(www.join("js/checkout.js"), "pay();\nskim();\n").unwrap();
    std::fs::write(www.join("x.php"), "<?php eval($_POST[1]);").unwrap();
    let o = integrity(&data, &["status"]);
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    let out = output_text(&o);
    assert!(out.contains("planted") && out.contains("x.php"), "{out}");
    assert!(out.contains("+ skim();"), "{out}");

    // A dry run changes nothing.
    let o = integrity(&data, &["restore", "--all"]);
    assert!(
        output_text(&o).contains("run again with --yes"),
        "{}",
        output_text(&o)
    );
    assert!(www.join("x.php").exists());
    let o = integrity(&data, &["restore", "--all", "--yes"]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert!(!www.join("x.php").exists());
    assert_eq!(
        std::fs::read_to_string(www.join("js/checkout.js")).unwrap(),
        "pay();\n"
    );
    // Recorded for the audit log.
    let inbox: Vec<String> = std::fs::read_dir(data.join("ledger-inbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        inbox
            .iter()
            .any(|r| r.contains("\"integrity_restore\"") && r.contains("x.php"))
    );
    assert!(inbox.iter().any(|r| r.contains("\"integrity_baseline\"")));

    // A deploy, accepted, raises nothing.
    std::fs::write(www.join("js/checkout.js"), "pay2();\n").unwrap();
    let o = integrity(&data, &["accept", "--reason", "release 2"]);
    assert!(o.status.success(), "{}", output_text(&o));
    let o = integrity(&data, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));

    // Restoring needs a path or --all.
    let o = integrity(&data, &["restore"]);
    assert!(!o.status.success());
}
