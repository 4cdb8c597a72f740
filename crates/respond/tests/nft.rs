//! The nftables executor against the real `nft` in a throw-away network namespace (needs root;
//! skips with a message otherwise).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::process::Command;

use ensuresec_respond::config::FirewallConfig;
use ensuresec_respond::exec::Firewall;
use ensuresec_respond::exec::firewall::Nft;

/// A network namespace, deleted when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn list(ns: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "nft",
            "list",
            "table",
            "inet",
            "ensuresec",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn bans_go_into_the_nft_set_and_come_out_again() {
    let name = format!("ensuresec-test-{}", std::process::id());
    let created = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .is_ok_and(|s| s.success());
    let has_nft = Command::new("nft").arg("--version").output().is_ok();
    if !created || !has_nft {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root, iproute2 and nftables"
        );
        eprintln!("skipping: creating a network namespace needs root, and nft must be installed");
        return;
    }
    let ns = Netns(name);
    let config = FirewallConfig {
        enabled: true,
        command: vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            ns.0.clone(),
            "nft".into(),
        ],
        table: "ensuresec".into(),
    };
    let nft = Nft::setup(&config).await.unwrap();
    // Setting up twice is harmless (a restart).
    Nft::setup(&config).await.unwrap();
    nft.block("198.51.100.7", 600).await.unwrap();
    nft.block("2001:db8::7", 600).await.unwrap();
    nft.block("203.0.113.0/24", 600).await.unwrap();
    let table = list(&ns.0);
    assert!(table.contains("198.51.100.7"), "{table}");
    assert!(table.contains("2001:db8::7"), "{table}");
    assert!(table.contains("203.0.113.0/24"), "{table}");
    assert_eq!(table.matches("saddr @banned4 drop").count(), 1, "{table}");
    nft.unblock("198.51.100.7").await.unwrap();
    let table = list(&ns.0);
    assert!(!table.contains("198.51.100.7"), "{table}");
    assert!(nft.unblock("192.0.2.250").await.is_err());
}
