//! Network flows reach detection from a real exporter: `softflowd` replays a capture of a port
//! scan and exports its flows as NetFlow v5, NetFlow v9 and IPFIX to `serve`'s collector, and
//! the port-scan scenario raises an alert about each scanner.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use etherparse::PacketBuilder;
use support::{Server, TOKEN, client};

/// Ports each scanner probes: above the scenario's threshold of 100 distinct ports a minute.
const PORTS: u16 = 150;

/// A classic pcap (Ethernet, microseconds) of SYN probes from `scanner` to `PORTS` ports of one
/// host, 10 ms apart, from 2026-11-21T10:00:00Z.
fn scan_capture(scanner: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        f.extend(v.to_le_bytes());
    }
    let start = 1_795_255_200u32; // 2026-11-21T10:00:00Z
    for i in 0..PORTS {
        let mut frame = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(scanner, [198, 51, 100, 10], 64)
            .tcp(40_000 + i, 1 + i, 1, 1024)
            .syn()
            .write(&mut frame, &[])
            .unwrap();
        let micros = u32::from(i) * 10_000;
        for v in [start + micros / 1_000_000, micros % 1_000_000] {
            f.extend(v.to_le_bytes());
        }
        f.extend((frame.len() as u32).to_le_bytes());
        f.extend((frame.len() as u32).to_le_bytes());
        f.extend(frame);
    }
    f
}

/// Whether an alert of `rule` about `ip` is stored, waiting up to 30 s.
fn wait_for_alert(server: &Server, rule: &str, ip: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = server.url(&format!("/v1/alerts?rule={rule}&entity=ip:{ip}"));
    while Instant::now() < deadline {
        let body: serde_json::Value = client()
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if body["items"].as_array().is_some_and(|a| !a.is_empty()) {
            return true;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
    false
}

fn softflowd_present() -> bool {
    let present = Command::new("softflowd").arg("-h").output().is_ok();
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "softflowd is missing (scripts/test.sh installs it)"
        );
        eprintln!("skipping: softflowd is not installed (scripts/test.sh installs it)");
    }
    present
}

/// Replays `capture` through softflowd, exporting to `collector` with export `version`.
fn export(dir: &Path, capture: &[u8], collector: &str, version: &str) {
    let pcap = dir.join(format!("scan-v{version}.pcap"));
    std::fs::write(&pcap, capture).unwrap();
    let status = Command::new("softflowd")
        .arg("-r")
        .arg(&pcap)
        .args(["-n", collector, "-v", version])
        .arg("-p")
        .arg(dir.join(format!("softflowd-{version}.pid")))
        // No control socket: a capture replay needs none (with one, it may wait for commands).
        .args(["-c", "none"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "softflowd failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn flows_exported_by_softflowd_over_netflow_v5_v9_and_ipfix_raise_port_scan_alerts() {
    if !softflowd_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        "[[sources.flow_export]]\nlisten = \"127.0.0.1:0\"\nflush_interval_milliseconds = 100\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    let line = server.printed("receiving NetFlow/IPFIX on udp://");
    let collector = line.rsplit("udp://").next().unwrap().trim().to_string();

    let scanners = [
        ("5", [203, 0, 113, 5]),
        ("9", [203, 0, 113, 9]),
        ("10", [203, 0, 113, 10]),
    ];
    for (version, ip) in scanners {
        export(dir.path(), &scan_capture(ip), &collector, version);
    }
    for (version, ip) in scanners {
        let ip = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
        assert!(
            wait_for_alert(&server, "port-scan", &ip),
            "no port-scan alert about {ip}, whose flows went over export version {version}"
        );
    }
    let flows = support::metric(&server, "ensuresec_flow_export_flows_total")
        .expect("the collector counts its flows");
    assert_eq!(
        flows,
        f64::from(3 * PORTS),
        "every probe is one flow, over each version"
    );
}

fn ensuresec() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
    c.env("ENSURESEC_LOG", "warn");
    c
}

#[test]
fn ingest_converts_a_capture_into_flows_that_raise_a_port_scan_alert() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let pcap = dir.path().join("scan.pcap");
    std::fs::write(&pcap, scan_capture([192, 0, 2, 66])).unwrap();
    let out = ensuresec()
        .args([
            "ingest",
            "--format",
            "pcap",
            "--server",
            &server.base,
            "--token",
            TOKEN,
        ])
        .arg(&pcap)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{summary}");
    // The summary table's data row starts with the events stored: one flow per probe.
    let stored = summary
        .lines()
        .find(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .and_then(|l| l.split('|').nth(1))
        .map(str::trim)
        .unwrap();
    assert_eq!(stored, PORTS.to_string(), "{summary}");
    assert!(wait_for_alert(&server, "port-scan", "192.0.2.66"));
}

#[test]
fn ingest_of_a_damaged_log_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    std::fs::write(
        &eve,
        concat!(
            r#"{"timestamp":"2026-11-21T10:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.2"}"#,
            "\n",
            r#"{"timestamp":"2026-11-21T10:00:01.000000+0000","event_type":"flow""#,
            "\n"
        ),
    )
    .unwrap();
    let out = ensuresec()
        .args(["ingest", "--offline", "--format", "eve", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&eve)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("eve.json:2"), "{stderr}");
}

/// Suricata EVE records as Suricata 7 writes them: two alerts about one scanner, a flow and a DNS
/// record.
const EVE_LOG: &str = concat!(
    r#"{"timestamp":"2026-11-21T10:00:00.123456+0000","flow_id":1718291520741825,"in_iface":"eth0","event_type":"alert","src_ip":"198.51.100.7","src_port":51000,"dest_ip":"203.0.113.10","dest_port":3306,"proto":"TCP","pkt_src":"wire/pcap","alert":{"action":"allowed","gid":1,"signature_id":2010937,"rev":3,"signature":"ET SCAN Suspicious inbound to mySQL port 3306","category":"Potentially Bad Traffic","severity":2,"metadata":{"created_at":["2010_07_30"],"updated_at":["2019_07_26"]}},"app_proto":"failed","direction":"to_server","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":74,"bytes_toclient":0,"start":"2026-11-21T10:00:00.123456+0000","src_ip":"198.51.100.7","dest_ip":"203.0.113.10","src_port":51000,"dest_port":3306}}"#,
    "\n",
    r#"{"timestamp":"2026-11-21T10:00:01.500000+0000","flow_id":1718291520741826,"in_iface":"eth0","event_type":"alert","src_ip":"198.51.100.7","src_port":51002,"dest_ip":"203.0.113.10","dest_port":5432,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2010939,"rev":3,"signature":"ET SCAN Suspicious inbound to PostgreSQL port 5432","category":"Potentially Bad Traffic","severity":2}}"#,
    "\n",
    r#"{"timestamp":"2026-11-21T10:00:05.000000+0000","flow_id":1718291520741825,"event_type":"flow","src_ip":"198.51.100.7","src_port":51000,"dest_ip":"203.0.113.10","dest_port":3306,"proto":"TCP","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":74,"bytes_toclient":0,"start":"2026-11-21T10:00:00.123456+0000","end":"2026-11-21T10:00:00.123456+0000","age":0,"state":"new","reason":"timeout","alerted":true},"tcp":{"tcp_flags":"02","tcp_flags_ts":"02","tcp_flags_tc":"00","syn":true,"state":"syn_sent"}}"#,
    "\n",
    r#"{"timestamp":"2026-11-21T10:00:06.000000+0000","flow_id":3,"event_type":"dns","src_ip":"10.0.0.1","src_port":53000,"dest_ip":"10.0.0.2","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"shop.example","rrtype":"A","tx_id":0}}"#,
    "\n",
);

#[test]
fn ingest_of_suricata_alerts_raises_them_as_alerts_in_an_incident_on_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let eve = dir.path().join("eve.json");
    std::fs::write(&eve, EVE_LOG).unwrap();
    let out = ensuresec()
        .args([
            "ingest",
            "--format",
            "eve",
            "--server",
            &server.base,
            "--token",
            TOKEN,
        ])
        .arg(&eve)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{summary}");
    // Both alerts about the scanner, correlated into one incident and recorded in the audit log.
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = server.url("/v1/alerts?entity=ip:198.51.100.7");
    let items = loop {
        let body: serde_json::Value = client()
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let items = body["items"].as_array().cloned().unwrap_or_default();
        let suricata: Vec<_> = items
            .into_iter()
            .filter(|a| a["detector"] == "suricata")
            .collect();
        if suricata.len() == 2
            && suricata
                .iter()
                .all(|a| a["incident_id"].is_u64() && a["ledger_index"].is_u64())
        {
            break suricata;
        }
        assert!(Instant::now() < deadline, "alerts so far: {suricata:#?}");
        std::thread::park_timeout(Duration::from_millis(100));
    };
    let mut rules: Vec<&str> = items
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap())
        .collect();
    rules.sort_unstable();
    assert_eq!(rules, ["suricata:2010937", "suricata:2010939"]);
    assert_eq!(items[0]["incident_id"], items[1]["incident_id"]);
    let mysql = items
        .iter()
        .find(|a| a["rule_id"] == "suricata:2010937")
        .unwrap();
    assert_eq!(mysql["severity"], "medium");
    assert_eq!(
        mysql["title"],
        "ET SCAN Suspicious inbound to mySQL port 3306"
    );
    assert_eq!(mysql["evidence"]["dst_port"], 3306);
    assert_eq!(mysql["evidence"]["category"], "Potentially Bad Traffic");
}
