//! Presentations verified per second on one core: an age credential (ES256 or EdDSA, three
//! decoys, a status list entry) presenting "18 or over" with a KB-JWT, through `verify` plus
//! the age predicate — what `POST /v1/identity/verify` does apart from HTTP and the nonce store.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ensuresec_identity::age::{AgeCredential, SD_JWT_VC_TYP, age_claim_path, prove_age};
use ensuresec_identity::issue::{RandomSalts, issue};
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::status_list::{StatusList, StatusLists};
use ensuresec_identity::{
    Algorithm, KeyBinding, SigningKey, TrustedIssuers, VerifyOptions, verify,
};

const NOW: i64 = 1_796_392_800;
const ISSUER: &str = "https://issuer.example";
const LIST: &str = "https://issuer.example/status/1";

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("identity");
    group.throughput(Throughput::Elements(1));
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let issuer = SigningKey::generate(alg).expect("randomness");
        let holder = SigningKey::generate(alg).expect("randomness");
        let credential = AgeCredential {
            issuer: ISSUER.into(),
            birthdate: NaiveDate::from_ymd_opt(1990, 5, 17).expect("date"),
            thresholds: vec![18, 21],
            holder: holder.to_jwk().public(),
            issued_at: NOW - 86_400,
            valid_for_secs: 365 * 86_400,
            status: Some((LIST.into(), 7)),
        };
        let issued = issue(
            &credential.request().expect("request"),
            SD_JWT_VC_TYP,
            &issuer,
            &mut RandomSalts,
        )
        .expect("issues");
        let binding = Binding {
            key: &holder,
            nonce: "nonce-1",
            audience: "https://shop.example#order=1",
            issued_at: NOW,
        };
        let presentation = present(&issued, &[age_claim_path(18)], Some(&binding))
            .expect("presents")
            .serialize();
        let mut trusted = TrustedIssuers::default();
        trusted.add(ISSUER, issuer.verifying_key());
        let mut lists = StatusLists::default();
        let token = StatusList::new(1, 65_536)
            .expect("list")
            .to_token(ISSUER, LIST, NOW, 3600, &issuer);
        lists
            .accept_token(&token, &trusted, NOW)
            .expect("list accepted");
        let options = VerifyOptions::new(
            NOW,
            KeyBinding::Required {
                nonce: "nonce-1".into(),
                audience: "https://shop.example#order=1".into(),
            },
        );
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).expect("date");
        group.bench_function(format!("verify_presentation_{}", alg.as_str()), |b| {
            b.iter(|| {
                let verified = verify(&presentation, &trusted, &lists, &options).expect("verifies");
                prove_age(&verified.claims, 18, today).expect("adult");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
