//! The browser challenge for clients under a `captcha` decision: a small proof of work.
//!
//! 1. A challenged browser request (GET or HEAD accepting `text/html`) gets an interstitial page
//!    carrying a token: `expires.random.mac`, the MAC an HMAC-SHA-256 over the expiry, the random
//!    part, the client address and the difficulty.
//! 2. The page's script finds a nonce such that SHA-256(`token:nonce`) starts with
//!    `difficulty_bits` zero bits and posts both to [`VERIFY_PATH`].
//! 3. A valid, unexpired token for this address with enough work earns a pass cookie
//!    `expires.mac` (HMAC over the expiry and the address), `HttpOnly`, `SameSite=Lax`, `Secure`
//!    over TLS, which lets the client through until it expires.
//!
//! Other clients (no `text/html` in `Accept`, or writes) get the usual 403 page with the request
//! id. Hand-written over `hmac` and `sha2` because the whole exchange is these few lines; a
//! captcha service would send shoppers' addresses to a third party.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::ChallengeConfig;
use crate::error::GatewayError;

/// Where the solved challenge is posted.
pub const VERIFY_PATH: &str = "/.ensuresec/challenge";
/// Where the solving script is served.
pub const SCRIPT_PATH: &str = "/.ensuresec/challenge.js";
/// The pass cookie's name.
pub const PASS_COOKIE: &str = "ensuresec_pass";
/// The solving script.
pub const SCRIPT: &str = include_str!("challenge.js");
/// Largest verification form accepted, in bytes.
pub const MAX_FORM: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// Why a solution or a pass was refused (logged, never shown in detail to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not of the expected shape.
    Malformed,
    /// The MAC does not match: forged, altered, or issued for another address.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// The hash has too few leading zero bits.
    NotEnoughWork,
}

impl Refusal {
    /// For the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::BadSignature => "bad signature",
            Refusal::Expired => "expired",
            Refusal::NotEnoughWork => "not enough work",
        }
    }
}

/// Issues and checks tokens and passes with one key.
pub struct Challenger {
    /// HMAC-SHA-256 keyed once; cloned for every MAC.
    keyed: HmacSha256,
    bits: u8,
    token_seconds: i64,
    pass_seconds: i64,
}

impl std::fmt::Debug for Challenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenger")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Leading zero bits of `digest`.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut n = 0;
    for b in digest {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// SHA-256 of `token:nonce`, the hash the work is measured on.
pub fn work_hash(token: &str, nonce: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(token.as_bytes());
    h.update(b":");
    h.update(nonce.as_bytes());
    h.finalize().into()
}

impl Challenger {
    /// From the configuration: the key from `secret_file`, or a random one for this process (its
    /// passes then end when the process does).
    pub fn new(c: &ChallengeConfig) -> Result<Challenger, GatewayError> {
        let key = match &c.secret_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| GatewayError::Read {
                    path: path.clone(),
                    source,
                })?;
                let key = text.trim().as_bytes().to_vec();
                if key.len() < 32 {
                    return Err(GatewayError::Config {
                        key: "gateway.challenge.secret_file".into(),
                        message: format!("{}: at least 32 characters", path.display()),
                    });
                }
                key
            }
            None => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).map_err(|e| GatewayError::Config {
                    key: "gateway.challenge".into(),
                    message: format!("no random key: {e}"),
                })?;
                key
            }
        };
        let keyed = HmacSha256::new_from_slice(&key).map_err(|e| GatewayError::Config {
            key: "gateway.challenge.secret_file".into(),
            message: e.to_string(),
        })?;
        Ok(Challenger {
            keyed,
            bits: c.difficulty_bits,
            token_seconds: i64::try_from(c.token_seconds).unwrap_or(i64::MAX),
            pass_seconds: i64::try_from(c.pass_seconds).unwrap_or(i64::MAX),
        })
    }

    /// Leading zero bits asked for.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Seconds a pass lasts.
    pub fn pass_seconds(&self) -> i64 {
        self.pass_seconds
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(b"|");
        }
        mac
    }

    fn check(&self, parts: &[&str], tag_hex: &str) -> Result<(), Refusal> {
        let tag = hex::decode(tag_hex).map_err(|_| Refusal::Malformed)?;
        self.mac(parts)
            .verify_slice(&tag)
            .map_err(|_| Refusal::BadSignature)
    }

    /// A fresh token for `client`, valid until `now + token_seconds` (Unix seconds).
    pub fn issue(&self, client: IpAddr, now: i64) -> String {
        let mut random = [0u8; 16];
        // Without randomness the tokens of one second would be equal, which is harmless: they
        // are still bound to the address and the expiry.
        let _ = getrandom::fill(&mut random);
        let expires = now.saturating_add(self.token_seconds).to_string();
        let random = hex::encode(random);
        let ip = client.to_string();
        let bits = self.bits.to_string();
        let tag = hex::encode(
            self.mac(&["challenge", &expires, &random, &ip, &bits])
                .finalize()
                .into_bytes(),
        );
        format!("{expires}.{random}.{tag}")
    }

    /// Checks a solution: the token is ours, for `client`, unexpired, and `nonce` does the work.
    pub fn verify(
        &self,
        token: &str,
        nonce: &str,
        client: IpAddr,
        now: i64,
    ) -> Result<(), Refusal> {
        let mut it = token.split('.');
        let (Some(expires), Some(random), Some(tag), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(Refusal::Malformed);
        };
        if nonce.is_empty() || nonce.len() > 32 {
            return Err(Refusal::Malformed);
        }
        let ip = client.to_string();
        let bits = self.bits.to_string();
        self.check(&["challenge", expires, random, &ip, &bits], tag)?;
        let until: i64 = expires.parse().map_err(|_| Refusal::Malformed)?;
        if until <= now {
            return Err(Refusal::Expired);
        }
        if leading_zero_bits(&work_hash(token, nonce)) < u32::from(self.bits) {
            return Err(Refusal::NotEnoughWork);
        }
        Ok(())
    }

    /// The pass cookie's value for `client`, valid until `now + pass_seconds`.
    pub fn pass(&self, client: IpAddr, now: i64) -> String {
        let expires = now.saturating_add(self.pass_seconds).to_string();
        let tag = hex::encode(
            self.mac(&["pass", &expires, &client.to_string()])
                .finalize()
                .into_bytes(),
        );
        format!("{expires}.{tag}")
    }

    /// Whether `value` is a valid, unexpired pass for `client`.
    pub fn passes(&self, value: &str, client: IpAddr, now: i64) -> Result<(), Refusal> {
        let (expires, tag) = value.split_once('.').ok_or(Refusal::Malformed)?;
        self.check(&["pass", expires, &client.to_string()], tag)?;
        let until: i64 = expires.parse().map_err(|_| Refusal::Malformed)?;
        if until <= now {
            return Err(Refusal::Expired);
        }
        Ok(())
    }
}

/// The interstitial page: what is happening, the form the script fills in and submits, and a
/// note for browsers without JavaScript.
pub fn page(token: &str, bits: u8, return_to: &str, request_id: &str) -> String {
    let e = crate::pages::escape;
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Checking your browser</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\
         <h1>One moment, please</h1>\
         <p id=\"status\">Your browser is doing a short check before you continue to the shop. \
         This takes a second or two.</p>\
         <noscript><p>Please enable JavaScript to continue, or contact the shop and quote the \
         request id.</p></noscript>\
         <form id=\"challenge\" method=\"post\" action=\"{verify}\" data-bits=\"{bits}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <input type=\"hidden\" name=\"nonce\" value=\"\">\
         <input type=\"hidden\" name=\"return\" value=\"{ret}\"></form>\
         <p>Request id: <code>{id}</code></p>\
         <script src=\"{script}\"></script></body></html>",
        verify = VERIFY_PATH,
        script = SCRIPT_PATH,
        token = e(token),
        ret = e(return_to),
        id = e(request_id),
    )
}

/// A safe place to send the client back to: a local path (never `//host` or a URL), else `/`.
pub fn safe_return(target: &str) -> &str {
    let local = target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && !target.chars().any(|c| c.is_control());
    if local { target } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenger(bits: u8) -> Challenger {
        Challenger::new(&ChallengeConfig {
            difficulty_bits: bits,
            ..ChallengeConfig::default()
        })
        .unwrap()
    }

    fn solve(token: &str, bits: u8) -> String {
        (0u64..)
            .map(|n| n.to_string())
            .find(|n| leading_zero_bits(&work_hash(token, n)) >= u32::from(bits))
            .unwrap()
    }

    const ME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 8));

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x10, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn a_solved_token_verifies_only_for_its_address_and_before_expiry() {
        let c = challenger(8);
        let token = c.issue(ME, 1_000);
        let nonce = solve(&token, 8);
        assert_eq!(c.verify(&token, &nonce, ME, 1_001), Ok(()));
        assert_eq!(
            c.verify(&token, &nonce, OTHER, 1_001),
            Err(Refusal::BadSignature)
        );
        let late = 1_000 + i64::try_from(ChallengeConfig::default().token_seconds).unwrap();
        assert_eq!(c.verify(&token, &nonce, ME, late), Err(Refusal::Expired));
        // Another key (another gateway without a shared secret) does not know the token.
        assert_eq!(
            challenger(8).verify(&token, &nonce, ME, 1_001),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn too_little_work_and_altered_tokens_are_refused() {
        let c = challenger(12);
        let token = c.issue(ME, 1_000);
        let lazy = (0u64..)
            .map(|n| n.to_string())
            .find(|n| leading_zero_bits(&work_hash(&token, n)) < 12)
            .unwrap();
        assert_eq!(
            c.verify(&token, &lazy, ME, 1_001),
            Err(Refusal::NotEnoughWork)
        );
        // A later expiry written into the token breaks its MAC.
        let (_, rest) = token.split_once('.').unwrap();
        let forged = format!("9999999999.{rest}");
        let nonce = solve(&forged, 12);
        assert_eq!(
            c.verify(&forged, &nonce, ME, 1_001),
            Err(Refusal::BadSignature)
        );
        assert_eq!(c.verify("x.y", "1", ME, 1_001), Err(Refusal::Malformed));
    }

    #[test]
    fn passes_are_bound_to_the_address_and_expire() {
        let c = challenger(8);
        let pass = c.pass(ME, 1_000);
        assert_eq!(c.passes(&pass, ME, 1_001), Ok(()));
        assert_eq!(c.passes(&pass, OTHER, 1_001), Err(Refusal::BadSignature));
        assert_eq!(
            c.passes(&pass, ME, 1_000 + c.pass_seconds()),
            Err(Refusal::Expired)
        );
        assert_eq!(c.passes("garbage", ME, 1_001), Err(Refusal::Malformed));
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return("/products?q=1"), "/products?q=1");
        assert_eq!(safe_return("//evil.example/"), "/");
        assert_eq!(safe_return("https://evil.example/"), "/");
        assert_eq!(safe_return("/\\evil.example"), "/");
    }
}
