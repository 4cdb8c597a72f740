//! Response and mitigation: incidents become actions that really happen.
//!
//! - [`playbook`]: playbooks as data (trigger, ordered steps with conditions, time-outs,
//!   approvals, undo), validated at load with errors naming file, line and key;
//!   [`stage`] reads an incident's attack progression for triggers.
//! - [`decision`] and [`book`]: decisions (ban, throttle, challenge, review) with a TTL, served
//!   to CrowdSec bouncers in their JSON shape (serialised once per decision, see `wire`).
//! - [`Responder`]: the pipeline sink that runs playbooks, with its durable state in [`db`]
//!   (restarts resume; idempotency keys keep every step to one run) and its background
//!   [`worker`](Responder::run): webhooks signed per [`sign`], e-mail, undo, lapsing decisions.
//! - [`exec`]: the executors that talk to the outside (HTTP, SMTP, `nft`), behind small traits.
//! - [`failsafe`]: the fail-safe switch the gateway honours; [`breach`]: GDPR Art. 33 drafts.
//!
//! Architecture invariant: an unreachable receiver delays only its own delivery; the pipeline
//! never waits for the outside world.

pub mod book;
pub mod breach;
pub mod config;
pub mod db;
pub mod decision;
pub mod exec;
pub mod failsafe;
pub mod journal;
pub mod metric;
pub mod playbook;
mod responder;
mod runner;
pub mod sign;
pub mod stage;
pub mod template;
mod wire;
mod worker;

#[cfg(test)]
mod testing;

pub use config::RespondConfig;
pub use responder::{Parts, RespondError, Responder};
