//! Improper inventory management (API9): debug, test and maintenance endpoints in the API.

use crate::audit::Sink;
use crate::audit::model::Operation;

pub(super) fn check(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    let debug = sink.rules.params.debug_paths.clone();
    for op in ops.iter().filter(|o| debug.is_match(&o.path)) {
        let auth = if op.authenticated() {
            ""
        } else {
            ", without authentication"
        };
        sink.report(
            "inventory-debug-endpoint",
            &op.loc,
            format!(
                "{} looks like a debug or maintenance endpoint{auth}",
                op.name()
            ),
        );
    }
}
