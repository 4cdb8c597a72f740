//! Fail-safe mode at the gateway: the platform's switch (from the [`Authority`]) and an optional
//! local position from the configuration. A request is refused when either position refuses it:
//! the local one is a floor the operator sets without the platform.

use ensuresec_respond::failsafe::{FailSafeState, Verdict};

use crate::authority::Authority;

/// The local position, checked before the platform's.
#[derive(Debug, Default)]
pub struct Switch {
    local: Option<FailSafeState>,
}

impl Switch {
    /// A switch with a local position (if any).
    pub fn new(local: Option<FailSafeState>) -> Switch {
        Switch { local }
    }

    /// The verdict for a request to route group `group`; `write` for anything but GET, HEAD and
    /// OPTIONS.
    pub fn verdict(&self, platform: &dyn Authority, group: &str, write: bool) -> Verdict {
        if let Some(local) = &self.local
            && let refused @ Verdict::Refuse(_) = local.verdict(group, write)
        {
            return refused;
        }
        platform.failsafe(group, write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Standalone;
    use crate::enforce::{Sanction, Subject};
    use ensuresec_model::event::Event;
    use ensuresec_respond::failsafe::{FailSafe, Mode};

    /// A platform whose only opinion is its fail-safe switch.
    struct Platform(FailSafe);

    impl Authority for Platform {
        fn sanction(&self, _who: &Subject<'_>) -> Option<Sanction> {
            None
        }
        fn failsafe(&self, group: &str, write: bool) -> Verdict {
            self.0.verdict(group, write)
        }
        fn report(&self, _event: Event) {}
    }

    #[test]
    fn the_local_position_is_a_floor() {
        let mut local = FailSafeState::default();
        local.groups.insert("checkout".into(), Mode::ReadOnly);
        let s = Switch::new(Some(local));
        assert_eq!(s.verdict(&Standalone, "checkout", false), Verdict::Allow);
        assert!(matches!(
            s.verdict(&Standalone, "checkout", true),
            Verdict::Refuse(_)
        ));
        let mut remote = FailSafeState::default();
        remote.groups.insert("catalogue".into(), Mode::Closed);
        let platform = Platform(FailSafe::new(remote));
        assert_eq!(s.verdict(&Standalone, "catalogue", true), Verdict::Allow);
        assert!(matches!(
            s.verdict(&platform, "catalogue", false),
            Verdict::Refuse(_)
        ));
        assert!(matches!(
            s.verdict(&platform, "checkout", true),
            Verdict::Refuse(_)
        ));
    }
}
