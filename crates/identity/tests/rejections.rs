//! The age gate end to end, and each RFC 9901 §7 rejection (plus replay, revocation and age)
//! producing its own named reason.

mod common;

use common::fixture::{ISSUER, LIST_URI, NOW, World};
use ensuresec_identity::disclosure::Disclosure;
use ensuresec_identity::gate::AgeProof;
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::status_list::REVOKED;
use ensuresec_identity::{Algorithm, ClaimPath, IdentityError, SdJwt, SigningKey};
use serde_json::Value;

fn check(world: &World, presentation: &str) -> Result<AgeProof, IdentityError> {
    world.gate.check(presentation, 18, NOW)
}

/// The credential's disclosures, decoded.
fn disclosures(credential: &SdJwt) -> Vec<Disclosure> {
    credential
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| Disclosure::parse(i, d).expect("own disclosure"))
        .collect()
}

fn disclosure_named(credential: &SdJwt, name: &str) -> Disclosure {
    disclosures(credential)
        .into_iter()
        .find(|d| d.name.as_deref() == Some(name))
        .expect("disclosure present")
}

#[test]
fn adult_is_accepted_with_only_the_threshold_disclosed() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let world = World::new(alg);
        let presentation = world.present_for_order(&world.credential("1990-01-01", 1), "order-1");
        let proof = check(&world, &presentation).expect("adult accepted");
        assert_eq!(
            (
                proof.order_id.as_str(),
                proof.min_age,
                proof.issuer.as_str()
            ),
            ("order-1", 18, ISSUER)
        );
        let shown = disclosures(&SdJwt::parse(&presentation, &Default::default()).expect("parses"));
        assert_eq!(
            shown.len(),
            1,
            "{alg:?}: only the 18 threshold is disclosed"
        );
        assert_eq!(
            (shown[0].name.as_deref(), &shown[0].value),
            (Some("18"), &Value::Bool(true))
        );
    }
}

#[test]
fn under_age_holder_is_refused() {
    let world = World::new(Algorithm::Es256);
    let presentation = world.present_for_order(&world.credential("2010-06-01", 1), "order-1");
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::UnderAge(18))
    );
}

#[test]
fn replayed_and_unknown_nonces_are_refused() {
    let world = World::new(Algorithm::Es256);
    let credential = world.credential("1990-01-01", 1);
    let presentation = world.present_for_order(&credential, "order-1");
    assert!(check(&world, &presentation).is_ok());
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::ReplayedNonce)
    );

    let binding = Binding {
        key: &world.holder_key,
        nonce: "never-issued",
        audience: &world.gate.audience("order-1"),
        issued_at: NOW,
    };
    let forged = present(
        &credential,
        &[ClaimPath(vec!["age_equal_or_over".into(), "18".into()])],
        Some(&binding),
    )
    .expect("presents");
    assert_eq!(
        check(&world, &forged.serialize()),
        Err(IdentityError::UnknownNonce)
    );

    let late = world.present_for_order(&credential, "order-2");
    assert_eq!(
        world.gate.check(&late, 18, NOW + 301),
        Err(IdentityError::UnknownNonce),
        "challenge expired"
    );
}

#[test]
fn missing_or_wrong_key_binding_is_refused() {
    let world = World::new(Algorithm::Es256);
    let credential = world.credential("1990-01-01", 1);
    let unbound =
        present(&credential, &[ClaimPath(vec!["birthdate".into()])], None).expect("presents");
    assert_eq!(
        check(&world, &unbound.serialize()),
        Err(IdentityError::MissingKeyBinding)
    );

    let d18 = disclosure_named(&credential, "18").encoded;
    let thief = SigningKey::generate(Algorithm::Es256).expect("randomness");
    let stolen = world.present_raw(&credential.jwt, vec![d18.clone()], "order-1", &thief);
    assert_eq!(
        check(&world, &stolen),
        Err(IdentityError::BadKeyBindingSignature)
    );

    // Another order's audience.
    let challenge = world.gate.challenge("order-1", NOW).expect("room");
    let other = world.gate.audience("order-2");
    let binding = Binding {
        key: &world.holder_key,
        nonce: &challenge.nonce,
        audience: &other,
        issued_at: NOW,
    };
    let misdirected = present(
        &credential,
        &[ClaimPath(vec!["birthdate".into()])],
        Some(&binding),
    )
    .expect("presents");
    assert!(
        matches!(check(&world, &misdirected.serialize()), Err(IdentityError::AudienceMismatch(a)) if a == other)
    );

    // A KB-JWT from an hour ago.
    let challenge = world.gate.challenge("order-3", NOW).expect("room");
    let audience = world.gate.audience("order-3");
    let binding = Binding {
        key: &world.holder_key,
        nonce: &challenge.nonce,
        audience: &audience,
        issued_at: NOW - 3600,
    };
    let stale = present(
        &credential,
        &[ClaimPath(vec!["birthdate".into()])],
        Some(&binding),
    )
    .expect("presents");
    assert!(matches!(
        check(&world, &stale.serialize()),
        Err(IdentityError::KeyBindingNotFresh { .. })
    ));

    // A disclosure added after the KB-JWT was made.
    let mut widened = SdJwt::parse(
        &world.present_for_order(&credential, "order-4"),
        &Default::default(),
    )
    .expect("parses");
    widened
        .disclosures
        .push(disclosure_named(&credential, "birthdate").encoded);
    assert_eq!(
        check(&world, &widened.serialize()),
        Err(IdentityError::SdHashMismatch)
    );
}

#[test]
fn tampered_and_duplicated_disclosures_are_refused() {
    let world = World::new(Algorithm::Es256);
    let credential = world.credential("2010-06-01", 1);
    let honest = disclosure_named(&credential, "18");
    assert_eq!(honest.value, Value::Bool(false));
    let lie = Disclosure::new(honest.salt.clone(), honest.name.clone(), Value::Bool(true));
    let tampered = world.present_raw(
        &credential.jwt,
        vec![lie.encoded],
        "order-1",
        &world.holder_key,
    );
    assert_eq!(
        check(&world, &tampered),
        Err(IdentityError::UnreferencedDisclosure(0))
    );

    let twice = world.present_raw(
        &credential.jwt,
        vec![honest.encoded.clone(), honest.encoded],
        "order-2",
        &world.holder_key,
    );
    assert_eq!(
        check(&world, &twice),
        Err(IdentityError::DuplicateDisclosure(1))
    );
}

#[test]
fn duplicate_digest_and_wrong_sd_alg_are_refused() {
    let world = World::new(Algorithm::Es256);
    let credential = world.credential("1990-01-01", 1);
    let d18 = disclosure_named(&credential, "18");
    let doubled = world.resign(&credential, |payload| {
        let sd = payload["age_equal_or_over"]["_sd"]
            .as_array_mut()
            .expect("_sd array");
        sd.push(d18.digest().into());
    });
    let presentation = world.present_raw(
        &doubled.jwt,
        vec![d18.encoded.clone()],
        "order-1",
        &world.holder_key,
    );
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::DuplicateDigest(d18.digest()))
    );

    let sha512 = world.resign(&credential, |payload| {
        payload.insert("_sd_alg".into(), "sha-512".into());
    });
    let presentation =
        world.present_raw(&sha512.jwt, vec![d18.encoded], "order-2", &world.holder_key);
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::UnsupportedSdAlg("sha-512".into()))
    );
}

#[test]
fn expired_and_not_yet_valid_credentials_are_refused() {
    let world = World::new(Algorithm::EdDsa);
    let mut old = world.age_credential("1990-01-01", 1);
    old.issued_at = NOW - 10 * 86_400;
    old.valid_for_secs = 86_400;
    let presentation = world.present_for_order(&world.issue(&old), "order-1");
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::Expired(NOW - 9 * 86_400))
    );

    let early = world.resign(&world.credential("1990-01-01", 1), |payload| {
        payload.insert("nbf".into(), (NOW + 3600).into());
    });
    let presentation = world.present_for_order(&early, "order-2");
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::NotYetValid(NOW + 3600))
    );
}

#[test]
fn revoked_credential_is_refused_and_its_neighbour_accepted() {
    let mut world = World::new(Algorithm::Es256);
    world.status.set(5, REVOKED).expect("in range");
    world.publish_status();
    let revoked = world.present_for_order(&world.credential("1990-01-01", 5), "order-1");
    assert_eq!(
        check(&world, &revoked),
        Err(IdentityError::Revoked(REVOKED))
    );
    let fine = world.present_for_order(&world.credential("1990-01-01", 6), "order-2");
    assert!(check(&world, &fine).is_ok());

    let mut elsewhere = world.age_credential("1990-01-01", 1);
    elsewhere.status = Some((format!("{LIST_URI}-unknown"), 1));
    let presentation = world.present_for_order(&world.issue(&elsewhere), "order-3");
    assert!(matches!(
        check(&world, &presentation),
        Err(IdentityError::StatusListUnavailable(_))
    ));
}

#[test]
fn untrusted_issuer_and_forged_signature_are_refused() {
    let world = World::new(Algorithm::Es256);
    let mut stranger = world.age_credential("1990-01-01", 1);
    stranger.issuer = "https://stranger.example".into();
    let presentation = world.present_for_order(&world.issue(&stranger), "order-1");
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::UntrustedIssuer(
            "https://stranger.example".into()
        ))
    );

    let impostor = World::new(Algorithm::Es256);
    let forged = impostor.credential("1990-01-01", 1);
    let d18 = disclosure_named(&forged, "18").encoded;
    let presentation = world.present_raw(&forged.jwt, vec![d18], "order-2", &world.holder_key);
    assert_eq!(
        check(&world, &presentation),
        Err(IdentityError::BadIssuerSignature)
    );
}

#[test]
fn malformed_input_gets_a_named_error_not_a_panic() {
    let world = World::new(Algorithm::Es256);
    for (input, reason) in [
        ("", "malformed"),
        ("abc", "malformed"),
        ("a.b.c~", "missing_key_binding"),
        ("a.b.c~d~x.y.z", "malformed_jwt"),
        ("a.b.c~d~e.f", "malformed_jwt"),
        ("A".repeat(70_000).as_str(), "too_large"),
    ] {
        let err = check(&world, input).expect_err(input);
        assert_eq!(err.reason(), reason, "{input:.40}: {err}");
    }
}
