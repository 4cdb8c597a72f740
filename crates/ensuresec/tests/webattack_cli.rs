//! `ensuresec rules list|test` and `ensuresec scan`, run as a user would on small files.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;
use std::process::{Command, Output};

fn ensuresec() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
    c.env("ENSURESEC_LOG", "warn").env("NO_COLOR", "1");
    c
}

fn run(args: &[&str], dir: &Path) -> Output {
    ensuresec().args(args).current_dir(dir).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const COMBINED: &str = r#"203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] "GET /search?q=1%27%20OR%20%271%27%3D%271 HTTP/1.1" 200 512 "-" "python-requests/2.32"
203.0.113.9 - - [10/Oct/2024:13:55:37 +0000] "GET /product?id=1%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1" 200 512 "-" "python-requests/2.32"
192.0.2.1 - - [10/Oct/2024:13:55:39 +0000] "GET /product/aspirin-500 HTTP/1.1" 200 5120 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"
192.0.2.1 - - [10/Oct/2024:13:55:40 +0000] "GET /search?q=red+shoes HTTP/1.1" 200 5120 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"
not an access log line at all
192.0.2.1 - - [10/Oct/2024:13:55:41 +0000] "GET /basket HTTP/1.1" 200 5120 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"
"#;

const NGINX_JSON: &str = r#"{"remote_addr":"198.51.100.7","time_iso8601":"2024-10-10T14:00:00+00:00","request":"GET /search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1","status":"200","http_user_agent":"Mozilla/5.0"}
{"remote_addr":"192.0.2.5","time_iso8601":"2024-10-10T14:00:01+00:00","request":"GET /category/vitamins?page=2 HTTP/1.1","status":"200","http_user_agent":"Mozilla/5.0"}
"#;

fn logs(dir: &Path) {
    std::fs::write(dir.join("access.log"), COMBINED).unwrap();
    std::fs::write(dir.join("nginx.json"), NGINX_JSON).unwrap();
}

#[test]
fn scan_prints_a_summary_of_classes_paths_and_sources() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    let out = run(&["scan", "access.log", "nginx.json"], dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("7 requests in 2 file(s), 3 flagged"),
        "{stdout}"
    );
    assert!(stdout.contains("1 unreadable lines"), "{stdout}");
    assert!(
        stdout.contains("access.log:5"),
        "names the bad line: {stdout}"
    );
    assert!(stdout.contains("SQL injection"), "{stdout}");
    assert!(stdout.contains("Cross-site scripting"), "{stdout}");
    for needle in ["/search", "/product", "203.0.113.9", "198.51.100.7"] {
        assert!(stdout.contains(needle), "{needle} missing: {stdout}");
    }
    for benign in ["/basket", "192.0.2.1", "192.0.2.5", "/category/vitamins"] {
        assert!(!stdout.contains(benign), "{benign} listed: {stdout}");
    }
}

#[test]
fn scan_json_prints_one_ocsf_finding_per_flagged_request() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    let out = run(
        &["scan", "--format", "json", "access.log", "nginx.json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let findings: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 3, "{findings:#?}");
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["finding_info"]["analytic"]["uid"].as_str().unwrap())
        .collect();
    assert!(rules[0].starts_with("SQLI-") && rules[1].starts_with("SQLI-"));
    assert!(rules[2].starts_with("XSS-"), "{rules:?}");
    for f in &findings {
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["metadata"]["log_name"], "webattack");
    }
    assert_eq!(findings[0]["observables"][0]["value"], "203.0.113.9");
    assert_eq!(
        findings[0]["time"], 1_728_568_536_000_i64,
        "the logged time"
    );
    assert_eq!(
        findings[2]["time"], 1_728_568_800_000_i64,
        "the logged time"
    );
    assert_eq!(findings[2]["unmapped"]["log"]["format"], "nginx-json");
    assert_eq!(findings[1]["unmapped"]["log"]["line"], 2);
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f["finding_info"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
}

#[test]
fn scan_refuses_a_missing_file_and_an_unknown_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["scan", "nope.log"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("nope.log"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(dir.path().join("garbage.log"), "hello world\n").unwrap();
    let out = run(&["scan", "garbage.log"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot recognise the log format"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rules_list_shows_every_family_and_filters_by_paranoia() {
    let dir = tempfile::tempdir().unwrap();
    let all = run(&["rules", "list"], dir.path());
    assert!(all.status.success());
    let all = text(&all.stdout);
    for needle in [
        "SQLI-001",
        "XSS-001",
        "sqli",
        "critical",
        "PL",
        "description",
    ] {
        assert!(all.contains(needle), "{needle} missing");
    }
    let pl1 = text(&run(&["rules", "list", "--paranoia", "1"], dir.path()).stdout);
    let count = |s: &str| -> usize {
        let last = s.lines().last().unwrap();
        last.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(count(&pl1) < count(&all), "PL1 lists fewer rules");
    assert!(pl1.lines().last().unwrap().ends_with("at paranoia level 1"));
    assert!(!pl1.contains("PROTO-009"), "PROTO-009 is a PL2 rule");
}

const RULE: &str = r#"family: local
class: ecommerce
rules:
  - id: LOCAL-001
    description: Coupon code brute force marker
    targets: ["args:coupon"]
    operator:
      regex: '^TEST-'
    paranoia: 1
    severity: critical
    tests:
      match: ["TEST-123"]
      no_match: ["SUMMER24"]
"#;

#[test]
fn rules_test_passes_good_files_and_fails_on_a_broken_case() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = run(&["rules", "test"], dir.path());
    assert!(shipped.status.success(), "{}", text(&shipped.stdout));
    assert!(text(&shipped.stdout).contains(" 0 failed"));

    let good = dir.path().join("good");
    std::fs::create_dir(&good).unwrap();
    std::fs::write(good.join("local.yaml"), RULE).unwrap();
    let out = run(&["rules", "test", "good"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("2 cases: 2 passed, 0 failed"));

    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("local.yaml"),
        RULE.replace("no_match: [\"SUMMER24\"]", "no_match: [\"TEST-9\"]"),
    )
    .unwrap();
    let out = run(&["rules", "test", "bad"], dir.path());
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL LOCAL-001"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");

    // A local rule directory extends the scan.
    std::fs::write(
        dir.path().join("coupon.log"),
        "192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] \"GET /cart?coupon=TEST-1 HTTP/1.1\" 200 1 \"-\" \"Mozilla/5.0\"\n",
    )
    .unwrap();
    let out = run(&["scan", "coupon.log"], dir.path());
    assert!(text(&out.stdout).contains("No attack found"));
    let out = run(&["scan", "--rules-dir", "good", "coupon.log"], dir.path());
    assert!(
        text(&out.stdout).contains("LOCAL-001"),
        "{}",
        text(&out.stdout)
    );
}
