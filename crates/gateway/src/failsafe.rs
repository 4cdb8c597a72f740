//! Fail-safe mode at the gateway: the serve's switch (`GET /v1/failsafe`, polled) and an optional
//! local position from the configuration. A request is refused when either position refuses it:
//! the local one is a floor the operator sets without the platform.

use std::sync::Arc;
use std::time::Duration;

use ensuresec_respond::failsafe::{FailSafe, FailSafeState, Verdict};

/// The two positions.
#[derive(Debug, Default)]
pub struct Switch {
    local: Option<FailSafeState>,
    remote: FailSafe,
}

impl Switch {
    /// A switch with a local position (if any) and the remote one at normal.
    pub fn new(local: Option<FailSafeState>) -> Switch {
        Switch {
            local,
            remote: FailSafe::default(),
        }
    }

    /// The verdict for a request to route group `group`; `write` for anything but GET, HEAD and
    /// OPTIONS.
    pub fn verdict(&self, group: &str, write: bool) -> Verdict {
        if let Some(local) = &self.local
            && let refused @ Verdict::Refuse(_) = local.verdict(group, write)
        {
            return refused;
        }
        self.remote.verdict(group, write)
    }

    /// Polls the serve's switch forever.
    pub async fn poll(
        self: Arc<Self>,
        client: reqwest::Client,
        base: String,
        token: String,
        every: Duration,
    ) {
        let mut failing = false;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let url = format!("{base}/v1/failsafe");
        loop {
            tick.tick().await;
            let answer = async {
                client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?
                    .json::<FailSafeState>()
                    .await
            }
            .await;
            match answer {
                Ok(state) => {
                    failing = false;
                    if let Err(e) = self.remote.set(state) {
                        tracing::warn!(error = %e, "the serve's fail-safe position is invalid");
                    }
                }
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "cannot read the fail-safe switch; keeping the last position");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensuresec_respond::failsafe::Mode;

    #[test]
    fn the_local_position_is_a_floor() {
        let mut local = FailSafeState::default();
        local.groups.insert("checkout".into(), Mode::ReadOnly);
        let s = Switch::new(Some(local));
        assert_eq!(s.verdict("checkout", false), Verdict::Allow);
        assert!(matches!(s.verdict("checkout", true), Verdict::Refuse(_)));
        assert_eq!(s.verdict("catalogue", true), Verdict::Allow);
        let mut remote = FailSafeState::default();
        remote.groups.insert("catalogue".into(), Mode::Closed);
        s.remote.set(remote).unwrap();
        assert!(matches!(s.verdict("catalogue", false), Verdict::Refuse(_)));
    }
}
