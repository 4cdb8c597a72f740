//! Web integrity: knowing that the shop's code is what was deployed, and putting it back when it
//! is not.
//!
//! * [`ops::create`] takes a **baseline** of a root: every file's BLAKE3 hash, size, mode, owner
//!   and mtime in a manifest ([`manifest`]), a copy of every file in a content-addressed store
//!   ([`objects`]), and a header naming the manifest's hash, signed with Ed25519 as a C2SP
//!   signed note ([`header`], [`state`]). Ignore patterns ([`ignore`]) leave out caches and
//!   uploads.
//! * [`ops::accept`] signs the tree as it is now (a deploy) as the next generation, so only
//!   unplanned changes show.
//! * [`ops::status`] compares the tree with the verified baseline ([`diff`]).
//! * [`restore::apply`] quarantines planted files and rewrites tampered or deleted ones from the
//!   store, byte for byte, recording what it did.
//! * [`pages`] watches what browsers receive from the payment pages: scripts, forms, security
//!   headers, defacement (PCI DSS 6.4.3 / 11.6.1), and reads CSP violation reports.

pub mod config;
pub mod content;
pub mod diff;
pub mod error;
pub mod header;
pub mod ignore;
pub mod manifest;
pub mod monitor;
pub mod objects;
pub mod ops;
pub mod pages;
pub mod restore;
pub mod state;
pub mod walk;
pub mod watch;

pub use diff::{Change, ChangeKind, TextDiff};
pub use error::IntegrityError;
pub use state::{Baseline, StateDir};
