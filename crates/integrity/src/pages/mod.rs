//! The payment-page monitor (PCI DSS 6.4.3 and 11.6.1): what browsers receive from the shop's
//! checkout, payment and login pages, as opposed to what is on its disk.
//!
//! * [`fetch`] gets a page and its external scripts; [`inventory`] lists every script (external
//!   by source and SRI, inline by hash), iframe and form action, the security headers, and the
//!   visible text and structure.
//! * [`compare`] finds what differs from the last fetch ([`store`]): a new or changed script, a
//!   form posting to a new origin, a weakened policy ([`csp`]), a removed security header, a
//!   defacement ([`similarity`]); unauthorised scripts ([`authz`]) keep being reported.
//! * [`csp_report`] reads the violation reports browsers post.

pub mod authz;
pub mod compare;
pub mod config;
pub mod csp;
pub mod csp_report;
pub mod fetch;
pub mod inventory;
pub mod scan;
pub mod similarity;
pub mod store;
