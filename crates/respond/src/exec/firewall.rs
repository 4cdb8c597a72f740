//! nftables through the `nft` command: banned addresses go into the timed sets `banned4` and
//! `banned6` of an `inet` table whose input chain drops them.

use async_trait::async_trait;
use tokio::process::Command;

use super::Firewall;
use crate::config::FirewallConfig;

/// The real firewall.
pub struct Nft {
    command: Vec<String>,
    table: String,
}

impl Nft {
    /// Creates (idempotently) the table, sets and chain; fails when `nft` is missing or lacks
    /// the privilege.
    pub async fn setup(config: &FirewallConfig) -> Result<Nft, String> {
        let nft = Nft {
            command: config.command.clone(),
            table: config.table.clone(),
        };
        let t = &nft.table;
        let script = format!(
            "add table inet {t}\n\
             add set inet {t} banned4 {{ type ipv4_addr; flags interval, timeout; }}\n\
             add set inet {t} banned6 {{ type ipv6_addr; flags interval, timeout; }}\n\
             add chain inet {t} input {{ type filter hook input priority -10; policy accept; }}\n\
             flush chain inet {t} input\n\
             add rule inet {t} input ip saddr @banned4 drop\n\
             add rule inet {t} input ip6 saddr @banned6 drop\n"
        );
        nft.run(&["-f", "-"], Some(script)).await?;
        Ok(nft)
    }

    async fn run(&self, args: &[&str], stdin: Option<String>) -> Result<(), String> {
        let (program, leading) = self
            .command
            .split_first()
            .ok_or("firewall command is empty")?;
        let mut cmd = Command::new(program);
        cmd.args(leading).args(args);
        cmd.stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
        cmd.stdout(std::process::Stdio::null());
        cmd.stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            use tokio::io::AsyncWriteExt;
            input
                .write_all(text.as_bytes())
                .await
                .map_err(|e| format!("{program}: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn set_of(value: &str) -> &'static str {
        if value.contains(':') {
            "banned6"
        } else {
            "banned4"
        }
    }
}

#[async_trait]
impl Firewall for Nft {
    async fn block(&self, value: &str, seconds: u64) -> Result<(), String> {
        let element = format!("{{ {value} timeout {seconds}s }}");
        self.run(
            &[
                "add",
                "element",
                "inet",
                &self.table,
                Self::set_of(value),
                &element,
            ],
            None,
        )
        .await
    }

    async fn unblock(&self, value: &str) -> Result<(), String> {
        let element = format!("{{ {value} }}");
        self.run(
            &[
                "delete",
                "element",
                "inet",
                &self.table,
                Self::set_of(value),
                &element,
            ],
            None,
        )
        .await
    }
}
