//! The ensuresec server: configuration ([`config`]), the HTTP API ([`app`]), the wiring of store,
//! pipeline and sinks ([`Platform`]), and the demo traffic source ([`demo`]).
//!
//! Architecture invariant: the HTTP layer only translates. It decodes and authenticates
//! requests, calls the [`Ingestor`](ensuresec_pipeline::Ingestor) or the
//! [`Store`](ensuresec_store::Store), and maps their errors to status codes in one place
//! ([`error::ApiError`]). It holds no detection logic.

pub mod access_log;
pub mod app;
pub mod assets;
mod auth;
pub mod batch_key;
mod client;
pub mod config;
pub mod demo;
pub mod error;
pub mod flow_export;
pub mod fraud;
pub mod identity;
pub mod integrity;
pub mod integrity_restore;
pub mod ledger;
pub mod mqtt;
mod openapi;
pub mod page_authz;
pub mod pages;
mod params;
mod platform;
pub mod recovery;
pub mod respond;
mod routes;
pub mod telemetry;
mod token_cache;

pub use platform::{Platform, PlatformError, web_engine};
