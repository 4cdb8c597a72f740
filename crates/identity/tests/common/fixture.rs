//! An issuer, a holder and an age gate wired together, for the behaviour tests.

use chrono::NaiveDate;
use ensuresec_identity::age::{AgeCredential, SD_JWT_VC_TYP, age_claim_path};
use ensuresec_identity::gate::{AgeGate, GateConfig};
use ensuresec_identity::issue::{RandomSalts, issue};
use ensuresec_identity::jws::{self, JsonObject};
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::status_list::StatusList;
use ensuresec_identity::{Algorithm, Limits, SdJwt, SigningKey, TrustedIssuers};

/// 2026-12-04 12:00 UTC.
pub const NOW: i64 = 1_796_392_800;
pub const ISSUER: &str = "https://issuer.example";
pub const LIST_URI: &str = "https://issuer.example/status/1";
pub const VERIFIER: &str = "https://shop.example";

pub struct World {
    pub issuer_key: SigningKey,
    pub holder_key: SigningKey,
    pub status: StatusList,
    pub gate: AgeGate,
}

impl World {
    pub fn new(alg: Algorithm) -> Self {
        let issuer_key = SigningKey::generate(alg).expect("randomness");
        let mut trusted = TrustedIssuers::default();
        trusted.add(ISSUER, issuer_key.verifying_key());
        let config = GateConfig {
            verifier_id: VERIFIER.into(),
            nonce_ttl_secs: 300,
            max_challenges: 1000,
            limits: Limits::default(),
        };
        let world = Self {
            holder_key: SigningKey::generate(alg).expect("randomness"),
            status: StatusList::new(1, 1024).expect("valid list"),
            gate: AgeGate::new(config, trusted),
            issuer_key,
        };
        world.publish_status();
        world
    }

    /// Publishes the current status list to the gate.
    pub fn publish_status(&self) {
        let token = self
            .status
            .to_token(ISSUER, LIST_URI, NOW, 3600, &self.issuer_key);
        self.gate
            .accept_status_list(&token, NOW)
            .expect("own status list is accepted");
    }

    /// The age credential for someone born on `birthdate`, at status index `idx`, valid for a
    /// year from yesterday.
    pub fn age_credential(&self, birthdate: &str, idx: usize) -> AgeCredential {
        AgeCredential {
            issuer: ISSUER.into(),
            birthdate: NaiveDate::parse_from_str(birthdate, "%Y-%m-%d").expect("date"),
            thresholds: vec![18, 21],
            holder: self.holder_key.to_jwk().public(),
            issued_at: NOW - 86_400,
            valid_for_secs: 365 * 86_400,
            status: Some((LIST_URI.into(), idx)),
        }
    }

    /// Issues `credential`.
    pub fn issue(&self, credential: &AgeCredential) -> SdJwt {
        issue(
            &credential.request().expect("valid request"),
            SD_JWT_VC_TYP,
            &self.issuer_key,
            &mut RandomSalts,
        )
        .expect("issues")
    }

    /// The credential for someone born on `birthdate`, at status index `idx`.
    pub fn credential(&self, birthdate: &str, idx: usize) -> SdJwt {
        self.issue(&self.age_credential(birthdate, idx))
    }

    /// A presentation of `jwt` with exactly `disclosures`, bound by `key` to a fresh challenge
    /// on `order` (whether or not the disclosures belong to the JWT).
    pub fn present_raw(
        &self,
        jwt: &str,
        disclosures: Vec<String>,
        order: &str,
        key: &SigningKey,
    ) -> String {
        let challenge = self
            .gate
            .challenge(order, NOW)
            .expect("room for a challenge");
        let mut sd = SdJwt {
            jwt: jwt.to_owned(),
            disclosures,
            kb_jwt: None,
        };
        let mut claims = JsonObject::new();
        claims.insert("nonce".into(), challenge.nonce.into());
        claims.insert("aud".into(), self.gate.audience(order).into());
        claims.insert("iat".into(), NOW.into());
        claims.insert("sd_hash".into(), sd.sd_hash().into());
        sd.kb_jwt = Some(jws::sign("kb+jwt", &JsonObject::new(), &claims, key));
        sd.serialize()
    }

    /// `credential` with its payload changed by `change` and signed again by the issuer.
    pub fn resign(&self, credential: &SdJwt, change: impl FnOnce(&mut JsonObject)) -> SdJwt {
        let decoded = jws::decode("issuer-signed JWT", &credential.jwt).expect("own JWT decodes");
        let typ = decoded.typ().to_owned();
        let mut payload = decoded.payload;
        change(&mut payload);
        SdJwt {
            jwt: jws::sign(&typ, &JsonObject::new(), &payload, &self.issuer_key),
            ..credential.clone()
        }
    }

    /// A presentation disclosing "18 or over" for a fresh challenge on `order`.
    pub fn present_for_order(&self, credential: &SdJwt, order: &str) -> String {
        let challenge = self
            .gate
            .challenge(order, NOW)
            .expect("room for a challenge");
        let audience = self.gate.audience(order);
        let binding = Binding {
            key: &self.holder_key,
            nonce: &challenge.nonce,
            audience: &audience,
            issued_at: NOW,
        };
        present(credential, &[age_claim_path(18)], Some(&binding))
            .expect("presents")
            .serialize()
    }
}
