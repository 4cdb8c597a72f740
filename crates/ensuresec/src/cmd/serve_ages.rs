//! The in-process gateway's checkout age gates, answered by this serve's identity gate: the
//! same check, metric and audit record as `POST /v1/identity/verify`, without HTTP.

use std::sync::Arc;

use ensuresec_gateway::age::{AgeAnswer, AgeFuture, AgeVerifier};
use ensuresec_server::Platform;
use ensuresec_server::identity::{AgeCheck, check_and_record};

/// This serve's `[identity]` gate, as the gateway sees it.
pub struct PlatformAges(pub Arc<Platform>);

impl AgeVerifier for PlatformAges {
    fn verify<'a>(&'a self, presentation: &'a str) -> AgeFuture<'a> {
        Box::pin(async move {
            let gate = self
                .0
                .identity()
                .ok_or("age verification is disabled in [identity]")?;
            match check_and_record(&self.0, gate, presentation).await {
                Ok(AgeCheck::Accepted { order_id, .. }) => Ok(AgeAnswer::Accepted { order_id }),
                Ok(AgeCheck::Refused { code, message, .. }) => Ok(AgeAnswer::Refused {
                    code: code.into(),
                    message,
                }),
                // Not recorded, so not acknowledged: the checkout is refused.
                Err(e) => Err(format!("the audit log refused the record: {e}")),
            }
        })
    }
}
