//! Differential tests against `sd-jwt-payload`, an independent RFC 9901 implementation: both
//! must derive the same claims from the same SD-JWT, whoever issued it.

mod common;

use common::random_claims::{all_paths, claims, pick};
use ensuresec_identity::issue::{IssueRequest, RandomSalts, issue};
use ensuresec_identity::jws::{self, JsonObject};
use ensuresec_identity::present::present;
use ensuresec_identity::status_list::StatusLists;
use ensuresec_identity::{
    Algorithm, ClaimPath, KeyBinding, SigningKey, TrustedIssuers, VerifyOptions, verify,
};
use proptest::prelude::*;
use sd_jwt_payload::{JwsSigner, SdJwtBuilder, Sha256Hasher};
use serde_json::Value;

const ISSUER: &str = "https://issuer.example";
const NOW: i64 = 1_796_392_800;

/// The oracle's reading of an SD-JWT (no signature check: it has none of its own).
fn oracle_claims(presentation: &str) -> Value {
    let claims = sd_jwt_payload::SdJwt::parse(presentation)
        .and_then(|sd| sd.into_disclosed_object(&Sha256Hasher::new()))
        .unwrap_or_else(|e| panic!("oracle refused {presentation:.60}: {e}"));
    comparable(&Value::Object(claims))
}

/// Both readings with the oracle's three departures from RFC 9901 §7.1 evened out: when a
/// nested object or array decodes to nothing it keeps the undecoded original (its `_sd` list,
/// its `{"...": digest}` elements), and it drops `{}` array elements. So `_sd` keys,
/// `{"...": …}` elements and `{}` elements are removed from both sides.
fn comparable(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "_sd")
                .map(|(k, v)| (k.clone(), comparable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| {
                    !i.as_object()
                        .is_some_and(|o| o.is_empty() || o.contains_key("..."))
                })
                .map(comparable)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn ours(presentation: &str, issuer: &SigningKey) -> Value {
    let mut trusted = TrustedIssuers::default();
    trusted.add(ISSUER, issuer.verifying_key());
    let claims = verify(
        presentation,
        &trusted,
        &StatusLists::default(),
        &VerifyOptions::new(NOW, KeyBinding::Optional),
    )
    .unwrap_or_else(|e| panic!("{presentation:.60}: {e}"))
    .claims;
    comparable(&Value::Object(claims))
}

#[test]
fn oracle_agrees_on_every_corpus_presentation() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for dir in common::compact_examples(&corpus) {
        let presentation = common::unwrapped(&dir, "sd_jwt_presentation.txt");
        assert_eq!(
            oracle_claims(&presentation),
            comparable(&common::json(&dir, "verified_contents.json")),
            "{}",
            dir.display()
        );
    }
}

/// Signs for the oracle's builder with our keys.
struct OurSigner(SigningKey);

#[async_trait::async_trait]
impl JwsSigner for OurSigner {
    type Error = String;
    async fn sign(&self, header: &JsonObject, payload: &JsonObject) -> Result<Vec<u8>, String> {
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or("sd-jwt");
        Ok(jws::sign(typ, header, payload, &self.0).into_bytes())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn oracle_reads_what_we_issue_and_present(
        user in claims(),
        sd_mask in proptest::collection::vec(any::<bool>(), 1..16),
        reveal_mask in proptest::collection::vec(any::<bool>(), 1..16),
        decoys in 0usize..3,
    ) {
        let issuer = SigningKey::generate(Algorithm::Es256).expect("randomness");
        let mut paths = Vec::new();
        all_paths(&Value::Object(user.clone()), &ClaimPath::default(), &mut paths);
        let disclosable = pick(&paths, &sd_mask);
        let mut claims = user;
        claims.insert("iss".into(), ISSUER.into());
        let request = IssueRequest { claims, disclosable: disclosable.clone(), decoys_per_object: decoys };
        let issued = issue(&request, "dc+sd-jwt", &issuer, &mut RandomSalts).expect("issues");
        let presentation = present(&issued, &pick(&disclosable, &reveal_mask), None).expect("presents").serialize();
        prop_assert_eq!(oracle_claims(&presentation), ours(&presentation, &issuer));
    }

    #[test]
    fn we_read_what_the_oracle_issues(
        user in claims(),
        sd_mask in proptest::collection::vec(any::<bool>(), 1..16),
    ) {
        let issuer = SigningKey::generate(Algorithm::EdDsa).expect("randomness");
        let mut paths = Vec::new();
        all_paths(&Value::Object(user.clone()), &ClaimPath::default(), &mut paths);
        let mut claims = user;
        claims.insert("iss".into(), ISSUER.into());
        let mut builder = SdJwtBuilder::new(Value::Object(claims)).expect("object");
        // Children before parents: a concealed parent's members are no longer reachable.
        for path in pick(&paths, &sd_mask).iter().rev() {
            builder = builder.make_concealable(&path.to_string()).expect("path exists");
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let issued = runtime.block_on(builder.finish(&OurSigner(issuer.clone()), "EdDSA")).expect("oracle issues").presentation();
        prop_assert_eq!(ours(&issued, &issuer), oracle_claims(&issued));
    }
}
