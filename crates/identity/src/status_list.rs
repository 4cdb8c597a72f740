//! IETF Token Status List: revocation as one bit (or 2, 4, 8) per credential in a
//! zlib-compressed, base64url bit string, published by the issuer as a signed
//! `statuslist+jwt`. A credential points to its entry with
//! `"status": {"status_list": {"idx": n, "uri": "…"}}`.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde_json::{Value, json};

use crate::b64;
use crate::error::{IdentityError, Result};
use crate::jwk::SigningKey;
use crate::jws::{self, JsonObject, int_claim};
use crate::verify::TrustedIssuers;

/// The status list token's `typ` header.
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";

/// Largest decompressed list accepted (8 Mi entries at one bit): a zlib bomb stops here.
pub const MAX_LIST_BYTES: usize = 1 << 20;

/// Status value 0: valid.
pub const VALID: u8 = 0;
/// Status value 1: revoked (invalid for good).
pub const REVOKED: u8 = 1;

fn invalid(detail: impl Into<String>) -> IdentityError {
    IdentityError::InvalidStatusList(detail.into())
}

/// A decoded status list: `bits` per entry, least significant bits first within each byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `entries` valid statuses, `bits` (1, 2, 4 or 8) each.
    ///
    /// # Errors
    /// [`IdentityError::InvalidStatusList`] for another `bits` or a list over [`MAX_LIST_BYTES`].
    pub fn new(bits: u8, entries: usize) -> Result<Self> {
        if ![1, 2, 4, 8].contains(&bits) {
            return Err(invalid(format!("bits is {bits}, expected 1, 2, 4 or 8")));
        }
        let bytes = entries.saturating_mul(usize::from(bits)).div_ceil(8);
        if bytes > MAX_LIST_BYTES {
            return Err(invalid(format!(
                "{bytes} bytes is over the limit of {MAX_LIST_BYTES}"
            )));
        }
        Ok(Self {
            bits,
            bytes: vec![0; bytes],
        })
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / usize::from(self.bits)
    }

    /// Whether the list has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn locate(&self, index: usize) -> Result<(usize, u32, u8)> {
        if index >= self.len() {
            return Err(invalid(format!(
                "index {index} is past the list's {} entries",
                self.len()
            )));
        }
        let bit = index * usize::from(self.bits);
        let mask = u8::try_from((1u16 << self.bits) - 1).expect("bits ≤ 8");
        Ok((bit / 8, u32::try_from(bit % 8).expect("< 8"), mask))
    }

    /// The status at `index`.
    ///
    /// # Errors
    /// [`IdentityError::InvalidStatusList`] when `index` is out of range.
    pub fn get(&self, index: usize) -> Result<u8> {
        let (byte, shift, mask) = self.locate(index)?;
        Ok((self.bytes[byte] >> shift) & mask)
    }

    /// Sets the status at `index` (e.g. [`REVOKED`]).
    ///
    /// # Errors
    /// [`IdentityError::InvalidStatusList`] when `index` is out of range or `status` does not
    /// fit in `bits`.
    pub fn set(&mut self, index: usize, status: u8) -> Result<()> {
        let (byte, shift, mask) = self.locate(index)?;
        if status > mask {
            return Err(invalid(format!(
                "status {status} does not fit in {} bits",
                self.bits
            )));
        }
        self.bytes[byte] = (self.bytes[byte] & !(mask << shift)) | (status << shift);
        Ok(())
    }

    /// The `status_list` claim: `{"bits": …, "lst": base64url(zlib(bytes))}`.
    #[must_use]
    pub fn to_claim(&self) -> Value {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&self.bytes)
            .expect("writing into memory cannot fail");
        let compressed = encoder.finish().expect("writing into memory cannot fail");
        json!({"bits": self.bits, "lst": b64::encode(compressed)})
    }

    /// Reads a `status_list` claim, refusing more than [`MAX_LIST_BYTES`] once decompressed.
    ///
    /// # Errors
    /// [`IdentityError::InvalidStatusList`] naming the broken field.
    pub fn from_claim(claim: &Value) -> Result<Self> {
        let bits = claim
            .get("bits")
            .and_then(Value::as_u64)
            .and_then(|b| u8::try_from(b).ok())
            .ok_or_else(|| invalid("bits is missing or not a small integer"))?;
        let lst = claim
            .get("lst")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("lst is missing"))?;
        let compressed = b64::decode(lst, "lst").map_err(invalid)?;
        let mut bytes = Vec::new();
        ZlibDecoder::new(compressed.as_slice())
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| invalid(format!("lst is not zlib: {e}")))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(invalid(format!(
                "lst decompresses past {MAX_LIST_BYTES} bytes"
            )));
        }
        let mut list = Self::new(bits, 0)?;
        list.bytes = bytes;
        Ok(list)
    }

    /// The issuer-signed status list token published at `uri`.
    #[must_use]
    pub fn to_token(
        &self,
        issuer: &str,
        uri: &str,
        issued_at: i64,
        ttl_secs: i64,
        key: &SigningKey,
    ) -> String {
        let mut claims = JsonObject::new();
        claims.insert("iss".into(), issuer.into());
        claims.insert("sub".into(), uri.into());
        claims.insert("iat".into(), issued_at.into());
        claims.insert("ttl".into(), ttl_secs.into());
        claims.insert("status_list".into(), self.to_claim());
        jws::sign(STATUS_LIST_TYP, &JsonObject::new(), &claims, key)
    }
}

/// The status lists a verifier holds, by URI, each taken from a verified token.
#[derive(Debug, Clone, Default)]
pub struct StatusLists {
    lists: HashMap<String, StatusList>,
}

impl StatusLists {
    /// Verifies a status list token (typ, trusted issuer, signature, `exp`) and keeps its list
    /// under its `sub`, replacing an older one. Returns the URI.
    ///
    /// # Errors
    /// [`IdentityError::InvalidStatusList`], [`IdentityError::UntrustedIssuer`],
    /// [`IdentityError::BadIssuerSignature`], [`IdentityError::Expired`], or JWS errors.
    pub fn accept_token(
        &mut self,
        token: &str,
        trusted: &TrustedIssuers,
        now: i64,
    ) -> Result<String> {
        let jwt = jws::decode("status list token", token.trim())?;
        if jwt.typ() != STATUS_LIST_TYP {
            return Err(invalid(format!(
                "typ is {:?}, expected {STATUS_LIST_TYP:?}",
                jwt.typ()
            )));
        }
        let issuer = jwt
            .payload
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("iss is missing"))?;
        trusted.check_signature(issuer, &jwt)?;
        if let Some(exp) = int_claim(&jwt.payload, "exp")?
            && exp <= now
        {
            return Err(IdentityError::Expired(exp));
        }
        let uri = jwt
            .payload
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("sub (the list's URI) is missing"))?;
        let list = StatusList::from_claim(
            jwt.payload
                .get("status_list")
                .ok_or_else(|| invalid("status_list is missing"))?,
        )?;
        self.lists.insert(uri.to_owned(), list);
        Ok(uri.to_owned())
    }

    /// Checks a credential's `status` claim, if it has one.
    ///
    /// # Errors
    /// [`IdentityError::Revoked`] for a non-zero status, [`IdentityError::StatusListUnavailable`]
    /// when the list was never fetched, [`IdentityError::InvalidStatusList`] for a malformed claim.
    pub fn check(&self, claims: &JsonObject) -> Result<()> {
        let Some(status) = claims.get("status") else {
            return Ok(());
        };
        let entry = status
            .get("status_list")
            .ok_or_else(|| invalid("status has no status_list"))?;
        let index = entry
            .get("idx")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| invalid("status_list.idx is missing or not an integer"))?;
        let uri = entry
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("status_list.uri is missing"))?;
        let list = self
            .lists
            .get(uri)
            .ok_or_else(|| IdentityError::StatusListUnavailable(uri.to_owned()))?;
        match list.get(index)? {
            VALID => Ok(()),
            status => Err(IdentityError::Revoked(status)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_drafts_example_and_round_trips() {
        // draft-ietf-oauth-status-list §4.1: statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1.
        let list =
            StatusList::from_claim(&json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})).expect("example");
        let statuses: Vec<u8> = (0..16).map(|i| list.get(i).expect("in range")).collect();
        assert_eq!(statuses, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
        assert_eq!(
            StatusList::from_claim(&list.to_claim()).expect("round trip"),
            list
        );
    }

    #[test]
    fn two_bit_entries_and_range_errors() {
        let mut list = StatusList::new(2, 10).expect("valid");
        list.set(5, 2).expect("in range");
        assert_eq!(
            (
                list.get(4).expect("ok"),
                list.get(5).expect("ok"),
                list.get(6).expect("ok")
            ),
            (0, 2, 0)
        );
        assert!(list.set(5, 4).is_err());
        assert!(list.get(list.len()).is_err());
        assert!(StatusList::new(3, 1).is_err());
    }

    #[test]
    fn refuses_a_zlib_bomb() {
        let big = StatusList {
            bits: 1,
            bytes: vec![0; MAX_LIST_BYTES + 1],
        };
        assert!(
            matches!(StatusList::from_claim(&big.to_claim()), Err(IdentityError::InvalidStatusList(m)) if m.contains("past"))
        );
    }
}
