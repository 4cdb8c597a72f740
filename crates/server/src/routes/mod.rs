//! HTTP handlers, one file per resource.

pub(crate) mod alerts;
pub(crate) mod assets;
pub(crate) mod body;
pub(crate) mod decisions;
pub(crate) mod diagnosis;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod identity;
pub(crate) mod incidents;
pub(crate) mod integrity;
pub(crate) mod ledger;
pub(crate) mod meta;
pub(crate) mod payments;
pub(crate) mod recovery;
pub(crate) mod response;
pub(crate) mod stream;
