//! Replacing digests by disclosed values (RFC 9901 §7.1 step 3): the heart of verification,
//! also used by the holder to learn which claim each disclosure reveals.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::disclosure::Disclosure;
use crate::error::{IdentityError, Result};
use crate::jws::JsonObject;
use crate::path::ClaimPath;

/// The processed claims and where each disclosure landed.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The payload with disclosed claims in place and `_sd`, `_sd_alg` and undisclosed array
    /// elements removed.
    pub claims: JsonObject,
    /// For each disclosure (same order as given), the path of the claim it reveals.
    pub paths: Vec<ClaimPath>,
}

struct Walk<'a> {
    disclosures: &'a [Disclosure],
    by_digest: HashMap<String, usize>,
    seen: HashSet<&'a str>,
    paths: Vec<Option<ClaimPath>>,
    max_depth: usize,
}

/// Resolves `disclosures` against the issuer-signed `payload`.
///
/// # Errors
/// Every RFC 9901 §7.1 rejection: [`IdentityError::DuplicateDisclosure`],
/// [`IdentityError::DuplicateDigest`], [`IdentityError::DisclosureFormMismatch`],
/// [`IdentityError::ClaimNameCollision`], [`IdentityError::UnreferencedDisclosure`],
/// [`IdentityError::InvalidPayload`], and [`IdentityError::TooLarge`] past `max_depth`.
pub fn resolve(
    payload: &JsonObject,
    disclosures: &[Disclosure],
    max_depth: usize,
) -> Result<Resolved> {
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (i, d) in disclosures.iter().enumerate() {
        if by_digest.insert(d.digest(), i).is_some() {
            return Err(IdentityError::DuplicateDisclosure(i));
        }
    }
    let mut walk = Walk {
        disclosures,
        by_digest,
        seen: HashSet::new(),
        paths: vec![None; disclosures.len()],
        max_depth,
    };
    let mut claims = walk.object(payload, &ClaimPath::default(), 0)?;
    claims.remove("_sd_alg");
    let paths = walk
        .paths
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or(IdentityError::UnreferencedDisclosure(i)))
        .collect::<Result<_>>()?;
    Ok(Resolved { claims, paths })
}

impl<'a> Walk<'a> {
    fn depth(&self, depth: usize) -> Result<()> {
        if depth > self.max_depth {
            return Err(IdentityError::TooLarge {
                what: "claim nesting depth",
                actual: depth,
                limit: self.max_depth,
            });
        }
        Ok(())
    }

    fn value(&mut self, value: &'a Value, path: &ClaimPath, depth: usize) -> Result<Value> {
        Ok(match value {
            Value::Object(map) => Value::Object(self.object(map, path, depth)?),
            Value::Array(items) => Value::Array(self.array(items, path, depth)?),
            other => other.clone(),
        })
    }

    fn claim(&mut self, digest: &'a str) -> Result<Option<usize>> {
        if !self.seen.insert(digest) {
            return Err(IdentityError::DuplicateDigest(digest.to_owned()));
        }
        Ok(self.by_digest.get(digest).copied())
    }

    fn object(
        &mut self,
        map: &'a JsonObject,
        path: &ClaimPath,
        depth: usize,
    ) -> Result<JsonObject> {
        self.depth(depth)?;
        let mut out = JsonObject::new();
        for (key, value) in map.iter().filter(|(k, _)| *k != "_sd") {
            out.insert(key.clone(), self.value(value, &path.child(key), depth + 1)?);
        }
        let Some(sd) = map.get("_sd") else {
            return Ok(out);
        };
        let Value::Array(digests) = sd else {
            return Err(IdentityError::InvalidPayload(format!(
                "_sd at {path} is not an array"
            )));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(IdentityError::InvalidPayload(format!(
                    "_sd at {path} holds a non-string"
                )));
            };
            let Some(i) = self.claim(digest)? else {
                continue;
            };
            let disclosures = self.disclosures;
            let disclosure = &disclosures[i];
            let Some(name) = &disclosure.name else {
                return Err(IdentityError::DisclosureFormMismatch(i));
            };
            if out.contains_key(name) {
                return Err(IdentityError::ClaimNameCollision(name.clone()));
            }
            let claim_path = path.child(name);
            let value = self.value(&disclosure.value, &claim_path, depth + 1)?;
            self.paths[i] = Some(claim_path);
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    fn array(&mut self, items: &'a [Value], path: &ClaimPath, depth: usize) -> Result<Vec<Value>> {
        self.depth(depth)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let element_path = path.child(&index.to_string());
            match item {
                Value::Object(map) if map.contains_key("...") => {
                    let (1, Some(Value::String(digest))) = (map.len(), map.get("...")) else {
                        return Err(IdentityError::InvalidPayload(format!(
                            "array element {element_path} has a malformed \"...\""
                        )));
                    };
                    let Some(i) = self.claim(digest)? else {
                        continue;
                    };
                    let disclosures = self.disclosures;
                    let disclosure = &disclosures[i];
                    if disclosure.name.is_some() {
                        return Err(IdentityError::DisclosureFormMismatch(i));
                    }
                    out.push(self.value(&disclosure.value, &element_path, depth + 1)?);
                    self.paths[i] = Some(element_path);
                }
                other => out.push(self.value(other, &element_path, depth + 1)?),
            }
        }
        Ok(out)
    }
}
