//! Privacy-preserving age verification with SD-JWT verifiable credentials (RFC 9901).
//!
//! A trusted issuer signs a credential whose claims are hidden behind salted digests; the
//! holder's wallet reveals only what a shop asks ("18 or over") and binds the presentation to
//! the shop's nonce and the order with a key-binding JWT; the shop verifies it offline.
//!
//! * [`issue`] conceals chosen claims ([`disclosure`]), adds decoys and signs ([`jws`], [`jwk`]).
//! * [`present`] selects disclosures and adds the KB-JWT.
//! * [`verify`] checks everything RFC 9901 §7 asks ([`resolve`]) plus revocation
//!   ([`status_list`]); [`challenge`] makes nonces single-use; [`age`] is the age credential
//!   and its predicate.
//! * Every failure is an [`IdentityError`] with its own [`IdentityError::reason`].

pub mod age;
mod b64;
pub mod challenge;
pub mod disclosure;
pub mod error;
pub mod gate;
pub mod issue;
pub mod jwk;
pub mod jws;
pub mod path;
pub mod present;
pub mod python_json;
pub mod resolve;
pub mod sd_jwt;
pub mod status_list;
pub mod verify;

pub use error::IdentityError;
pub use jwk::{Algorithm, Jwk, SigningKey, VerifyingKey};
pub use path::ClaimPath;
pub use sd_jwt::{Limits, SdJwt};
pub use verify::{KeyBinding, TrustedIssuers, Verified, VerifyOptions, verify};
