//! Issuance (RFC 9901 §4–5): turning chosen claims into salted disclosures and digests, adding
//! decoys, and signing the result.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;

use crate::b64;
use crate::disclosure::{Disclosure, SD_ALG, digest};
use crate::error::{IdentityError, Result};
use crate::jwk::SigningKey;
use crate::jws::{self, JsonObject};
use crate::path::ClaimPath;
use crate::sd_jwt::SdJwt;

/// Where salts come from. Real issuance uses [`RandomSalts`]; reproducing a published example
/// needs that example's salts ([`FixedSalts`]).
pub trait SaltSource {
    /// The next salt, base64url.
    fn next_salt(&mut self) -> String;
}

/// 128-bit salts from the operating system's generator (RFC 9901 §9.3 asks for at least 128).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomSalts;

impl SaltSource for RandomSalts {
    fn next_salt(&mut self) -> String {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random generator is available");
        b64::encode(salt)
    }
}

/// Salts given in advance, used in order, then random ones: reproduces published examples.
#[derive(Debug, Default, Clone)]
pub struct FixedSalts(pub VecDeque<String>);

impl SaltSource for FixedSalts {
    fn next_salt(&mut self) -> String {
        self.0
            .pop_front()
            .unwrap_or_else(|| RandomSalts.next_salt())
    }
}

/// What to issue: the claims, which of them are selectively disclosable, and how many decoys.
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    /// All claims, including `iss`, `iat`, `exp`, `cnf`, `vct`, `status`.
    pub claims: JsonObject,
    /// Paths of the claims (object members or array elements) to make selectively disclosable.
    pub disclosable: Vec<ClaimPath>,
    /// Decoy digests added to every `_sd` array, so the number of hidden claims does not show.
    pub decoys_per_object: usize,
}

/// The payload to sign and the disclosures the holder receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Concealed {
    /// The payload with digests in place of the disclosable claims.
    pub payload: JsonObject,
    /// The disclosures, in the order they were made (innermost first).
    pub disclosures: Vec<Disclosure>,
}

struct Concealer<'a> {
    disclosable: HashSet<&'a ClaimPath>,
    used: HashSet<ClaimPath>,
    decoys: usize,
    salts: &'a mut dyn SaltSource,
    disclosures: Vec<Disclosure>,
}

/// Replaces the disclosable claims of `request` by digests. Children are concealed before
/// their parent (recursive disclosure), in claim order, as the RFC's reference implementation
/// does, so its examples' salts reproduce its disclosures.
///
/// # Errors
/// [`IdentityError::UnknownClaimPath`] for a path that names no claim,
/// [`IdentityError::ClaimNameCollision`] for a claim named `_sd` or `...`.
pub fn conceal(request: &IssueRequest, salts: &mut dyn SaltSource) -> Result<Concealed> {
    let mut concealer = Concealer {
        disclosable: request.disclosable.iter().collect(),
        used: HashSet::new(),
        decoys: request.decoys_per_object,
        salts,
        disclosures: Vec::new(),
    };
    let payload = concealer.object(&request.claims, &ClaimPath::default())?;
    if let Some(missing) = request
        .disclosable
        .iter()
        .find(|p| !concealer.used.contains(*p))
    {
        return Err(IdentityError::UnknownClaimPath(missing.to_string()));
    }
    Ok(Concealed {
        payload,
        disclosures: concealer.disclosures,
    })
}

impl Concealer<'_> {
    fn value(&mut self, value: &Value, path: &ClaimPath) -> Result<Value> {
        Ok(match value {
            Value::Object(map) => Value::Object(self.object(map, path)?),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_path = path.child(&i.to_string());
                    let item = self.value(item, &item_path)?;
                    if self.disclosable.contains(&item_path) {
                        let d = self.disclose(item_path, None, item);
                        out.push(Value::Object(JsonObject::from_iter([(
                            "...".to_owned(),
                            d.into(),
                        )])));
                    } else {
                        out.push(item);
                    }
                }
                Value::Array(out)
            }
            other => other.clone(),
        })
    }

    fn disclose(&mut self, path: ClaimPath, name: Option<String>, value: Value) -> String {
        let d = Disclosure::new(self.salts.next_salt(), name, value);
        let digest = d.digest();
        self.disclosures.push(d);
        self.used.insert(path);
        digest
    }

    fn object(&mut self, map: &JsonObject, path: &ClaimPath) -> Result<JsonObject> {
        let mut out = JsonObject::new();
        let mut digests = Vec::new();
        for (key, value) in map {
            if key == "_sd" || key == "..." {
                return Err(IdentityError::ClaimNameCollision(key.clone()));
            }
            let claim_path = path.child(key);
            let value = self.value(value, &claim_path)?;
            if self.disclosable.contains(&claim_path) {
                digests.push(self.disclose(claim_path, Some(key.clone()), value));
            } else {
                out.insert(key.clone(), value);
            }
        }
        if digests.is_empty() {
            return Ok(out);
        }
        digests.extend((0..self.decoys).map(|_| digest(&self.salts.next_salt())));
        // Sorted, so the position of a digest says nothing about which claim it hides; first
        // in the object, as the RFC's examples have it.
        digests.sort_unstable();
        let mut with_digests = JsonObject::new();
        with_digests.insert("_sd".into(), digests.into_iter().map(Value::from).collect());
        with_digests.extend(out);
        Ok(with_digests)
    }
}

/// Conceals and signs: the SD-JWT as issued (all disclosures, no key binding).
///
/// `typ` is the JWT's `typ` header, `dc+sd-jwt` for SD-JWT VCs.
///
/// # Errors
/// As [`conceal`].
pub fn issue(
    request: &IssueRequest,
    typ: &str,
    key: &SigningKey,
    salts: &mut dyn SaltSource,
) -> Result<SdJwt> {
    let Concealed {
        mut payload,
        disclosures,
    } = conceal(request, salts)?;
    payload.insert("_sd_alg".into(), SD_ALG.into());
    Ok(SdJwt {
        jwt: jws::sign(typ, &JsonObject::new(), &payload, key),
        disclosures: disclosures.into_iter().map(|d| d.encoded).collect(),
        kb_jwt: None,
    })
}
