//! Property: issue → present (random subset) → verify yields exactly the plain claims plus the
//! revealed ones, for random claim trees, disclosable sets and decoy counts.

mod common;

use common::random_claims::{all_paths, claims, expected, pick};
use ensuresec_identity::issue::{IssueRequest, RandomSalts, issue};
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::status_list::StatusLists;
use ensuresec_identity::{
    Algorithm, ClaimPath, KeyBinding, SigningKey, TrustedIssuers, VerifyOptions, verify,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: i64 = 1_796_392_800;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn issue_present_verify_round_trip(
        user in claims(),
        sd_mask in proptest::collection::vec(any::<bool>(), 1..16),
        reveal_mask in proptest::collection::vec(any::<bool>(), 1..16),
        decoys in 0usize..3,
        eddsa in any::<bool>(),
    ) {
        let alg = if eddsa { Algorithm::EdDsa } else { Algorithm::Es256 };
        let issuer = SigningKey::generate(alg).expect("randomness");
        let holder = SigningKey::generate(alg).expect("randomness");
        let mut paths = Vec::new();
        all_paths(&Value::Object(user.clone()), &ClaimPath::default(), &mut paths);
        let disclosable = pick(&paths, &sd_mask);
        let revealed = pick(&disclosable, &reveal_mask);

        let mut claims = user.clone();
        claims.insert("iss".into(), "https://issuer.example".into());
        claims.insert("cnf".into(), json!({"jwk": holder.to_jwk().public()}));
        let request = IssueRequest { claims: claims.clone(), disclosable: disclosable.clone(), decoys_per_object: decoys };
        let issued = issue(&request, "dc+sd-jwt", &issuer, &mut RandomSalts).expect("issues");
        let binding = Binding { key: &holder, nonce: "n-1", audience: "shop", issued_at: NOW };
        let presentation = present(&issued, &revealed, Some(&binding)).expect("presents");

        let mut trusted = TrustedIssuers::default();
        trusted.add("https://issuer.example", issuer.verifying_key());
        let options = VerifyOptions::new(NOW, KeyBinding::Required { nonce: "n-1".into(), audience: "shop".into() });
        let verified = verify(&presentation.serialize(), &trusted, &StatusLists::default(), &options).expect("verifies");
        prop_assert_eq!(Value::Object(verified.claims), expected(&Value::Object(claims), &ClaimPath::default(), &disclosable, &revealed));
        prop_assert!(verified.key_bound);
    }
}
