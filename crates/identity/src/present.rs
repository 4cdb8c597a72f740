//! The holder's side: disclosing only what the verifier asks for, and binding the presentation
//! to the verifier's nonce and audience with a KB-JWT (RFC 9901 §4.3).

use crate::disclosure::Disclosure;
use crate::error::{IdentityError, Result};
use crate::jwk::SigningKey;
use crate::jws::{self, JsonObject};
use crate::path::ClaimPath;
use crate::resolve::resolve;
use crate::sd_jwt::{Limits, SdJwt};

/// The KB-JWT's `typ` header.
pub const KB_JWT_TYP: &str = "kb+jwt";

/// What the KB-JWT binds the presentation to.
#[derive(Debug, Clone)]
pub struct Binding<'a> {
    /// The holder's private key (its public half is the credential's `cnf.jwk`).
    pub key: &'a SigningKey,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// The audience: the verifier, and in checkout the order.
    pub audience: &'a str,
    /// Seconds since the epoch.
    pub issued_at: i64,
}

/// Builds a presentation from the SD-JWT `issued` that reveals the claims at `reveal` (and
/// what is needed to reach them: the parents of recursive disclosures), and nothing else.
///
/// # Errors
/// [`IdentityError::UnknownClaimPath`] when a path names no claim of the credential; the
/// parsing errors of a damaged credential.
pub fn present(
    issued: &SdJwt,
    reveal: &[ClaimPath],
    binding: Option<&Binding<'_>>,
) -> Result<SdJwt> {
    let jwt = jws::decode("issuer-signed JWT", &issued.jwt)?;
    let disclosures = issued
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| Disclosure::parse(i, d))
        .collect::<Result<Vec<_>>>()?;
    let resolved = resolve(&jwt.payload, &disclosures, Limits::default().max_depth)?;
    let all = serde_json::Value::Object(resolved.claims);
    if let Some(missing) = reveal
        .iter()
        .find(|p| all.pointer(&p.to_string()).is_none())
    {
        return Err(IdentityError::UnknownClaimPath(missing.to_string()));
    }
    let chosen = issued
        .disclosures
        .iter()
        .zip(&resolved.paths)
        .filter(|(_, at)| {
            reveal
                .iter()
                .any(|r| at.is_prefix_of(r) || r.is_prefix_of(at))
        })
        .map(|(d, _)| d.clone())
        .collect();
    let mut presentation = SdJwt {
        jwt: issued.jwt.clone(),
        disclosures: chosen,
        kb_jwt: None,
    };
    if let Some(b) = binding {
        let mut claims = JsonObject::new();
        claims.insert("nonce".into(), b.nonce.into());
        claims.insert("aud".into(), b.audience.into());
        claims.insert("iat".into(), b.issued_at.into());
        claims.insert("sd_hash".into(), presentation.sd_hash().into());
        presentation.kb_jwt = Some(jws::sign(KB_JWT_TYP, &JsonObject::new(), &claims, b.key));
    }
    Ok(presentation)
}
