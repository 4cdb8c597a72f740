//! The checks, one file per concern. Each reads the operations and the description and reports
//! through the [`Sink`], which keeps one finding per rule and location.

mod authz;
mod bounds;
mod errors;
mod exposure;
mod inventory;
mod mass_assignment;
mod rate_limit;
mod schemes;
mod ssrf;
mod tls;

use super::Sink;
use super::model::Operation;

/// Runs every check.
pub(crate) fn run(sink: &mut Sink<'_>, ops: &[Operation<'_>]) {
    authz::check(sink, ops);
    schemes::check(sink, ops);
    exposure::check(sink, ops);
    mass_assignment::check(sink, ops);
    rate_limit::check(sink, ops);
    bounds::check(sink, ops);
    ssrf::check(sink, ops);
    tls::check(sink, ops);
    inventory::check(sink, ops);
    errors::check(sink, ops);
}
