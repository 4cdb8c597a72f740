//! The SD-JWT specification's examples: our verifier accepts each presentation and yields the
//! reference `verified_contents.json`; our issuer, given the same claims, key and salts,
//! produces byte-identical disclosures and digests and the same payload.

mod common;

use std::collections::HashSet;
use std::path::Path;

use ensuresec_identity::issue::{FixedSalts, IssueRequest, conceal, issue};
use ensuresec_identity::jws::JsonObject;
use ensuresec_identity::status_list::StatusLists;
use ensuresec_identity::{ClaimPath, KeyBinding, TrustedIssuers, VerifyOptions, verify};
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

/// The settings' issuer key, trusted under the settings' issuer name and under the name the
/// example's payload uses (some examples name their own issuer; the key is the same).
fn trusted(settings: &common::Settings, dir: &Path) -> TrustedIssuers {
    let mut trusted = TrustedIssuers::default();
    trusted.add(&settings.issuer, settings.issuer_key.verifying_key());
    let payload = common::json(dir, "sd_jwt_payload.json");
    if let Some(iss) = payload["iss"].as_str().or(payload["issuer"].as_str()) {
        trusted.add(iss, settings.issuer_key.verifying_key());
    }
    trusted
}

/// Options the example's presentation was made for: its KB-JWT's time, nonce and audience.
fn options(dir: &Path, settings: &common::Settings) -> VerifyOptions {
    if dir.join("kb_jwt_payload.json").is_file() {
        let kb = common::json(dir, "kb_jwt_payload.json");
        let now = kb["iat"].as_i64().expect("KB-JWT iat");
        VerifyOptions::new(
            now,
            KeyBinding::Required {
                nonce: settings.nonce.clone(),
                audience: settings.verifier.clone(),
            },
        )
    } else {
        VerifyOptions::new(settings.iat + 1, KeyBinding::Optional)
    }
}

#[test]
fn verifier_accepts_every_example_and_yields_its_verified_contents() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let settings = common::settings(&corpus);
    let examples = common::compact_examples(&corpus);
    assert!(
        examples.len() >= 12,
        "expected the RFC's compact examples, found {}",
        examples.len()
    );
    for dir in examples {
        let presentation = common::unwrapped(&dir, "sd_jwt_presentation.txt");
        let options = options(&dir, &settings);
        let verified = verify(
            &presentation,
            &trusted(&settings, &dir),
            &StatusLists::default(),
            &options,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(
            Value::Object(verified.claims),
            common::json(&dir, "verified_contents.json"),
            "{}",
            dir.display()
        );
        assert_eq!(
            verified.key_bound,
            matches!(options.key_binding, KeyBinding::Required { .. }),
            "{}",
            dir.display()
        );
    }
}

/// The `!sd`-tagged claim paths of `specification.yml`'s `user_claims`.
fn tagged_paths(yaml: &Yaml, path: &ClaimPath, out: &mut Vec<ClaimPath>) {
    match yaml {
        Yaml::Mapping(map) => {
            for (key, value) in map {
                let (name, sd) = match key {
                    Yaml::Tagged(tagged) if tagged.tag == "sd" => {
                        (tagged.value.as_str().expect("string key"), true)
                    }
                    other => (other.as_str().expect("string key"), false),
                };
                let child = path.child(name);
                tagged_paths(value, &child, out);
                if sd {
                    out.push(child);
                }
            }
        }
        Yaml::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let child = path.child(&i.to_string());
                match item {
                    Yaml::Tagged(tagged) if tagged.tag == "sd" => {
                        tagged_paths(&tagged.value, &child, out);
                        out.push(child);
                    }
                    other => tagged_paths(other, &child, out),
                }
            }
        }
        Yaml::Tagged(tagged) => tagged_paths(&tagged.value, path, out),
        _ => {}
    }
}

/// Drops every `_sd` digest and `...` element not in `keep` (decoys are random).
fn without_decoys(value: &Value, keep: &HashSet<String>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("_sd", Value::Array(d)) => (
                        k.clone(),
                        Value::Array(
                            d.iter()
                                .filter(|d| keep.contains(d.as_str().unwrap_or("")))
                                .cloned()
                                .collect(),
                        ),
                    ),
                    _ => (k.clone(), without_decoys(v, keep)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| {
                    i.get("...")
                        .and_then(Value::as_str)
                        .is_none_or(|d| keep.contains(d))
                })
                .map(|i| without_decoys(i, keep))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn issuer_reproduces_every_examples_disclosures_byte_for_byte() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let settings = common::settings(&corpus);
    for dir in common::compact_examples(&corpus) {
        let spec: Yaml = serde_yaml_ng::from_str(
            &std::fs::read_to_string(dir.join("specification.yml")).expect("readable"),
        )
        .expect("YAML");
        let mut disclosable = Vec::new();
        tagged_paths(
            &spec["user_claims"],
            &ClaimPath::default(),
            &mut disclosable,
        );
        let listed = common::listed_disclosures(&dir);
        assert_eq!(
            disclosable.len(),
            listed.len(),
            "{}: one disclosure per !sd tag",
            dir.display()
        );

        let Value::Object(user_claims) = common::json(&dir, "user_claims.json") else {
            panic!("claims are an object")
        };
        // The reference adds iss, iat, exp (from the settings) and cnf where the example has them.
        let expected_payload = common::json(&dir, "sd_jwt_payload.json");
        let added = [
            ("iss", Value::from(settings.issuer.clone())),
            ("iat", settings.iat.into()),
            ("exp", settings.exp.into()),
        ];
        let mut claims: JsonObject = added
            .into_iter()
            .filter(|(name, _)| expected_payload.get(*name).is_some())
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        claims.extend(user_claims);
        if expected_payload.get("cnf").is_some() {
            claims
                .entry("cnf")
                .or_insert_with(|| serde_json::json!({"jwk": settings.holder_jwk}));
        }
        let request = IssueRequest {
            claims,
            disclosable,
            decoys_per_object: 0,
        };
        let salts = || FixedSalts(listed.iter().map(|(_, d)| d.salt.clone()).collect());

        let concealed =
            conceal(&request, &mut salts()).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let ours: Vec<(String, &str)> = concealed
            .disclosures
            .iter()
            .map(|d| (d.digest(), d.encoded.as_str()))
            .collect();
        let theirs: Vec<(String, &str)> = listed
            .iter()
            .map(|(h, d)| (h.clone(), d.encoded.as_str()))
            .collect();
        assert_eq!(ours, theirs, "{}: disclosures and digests", dir.display());

        let keep: HashSet<String> = listed.iter().map(|(h, _)| h.clone()).collect();
        let mut payload = Value::Object(concealed.payload);
        payload["_sd_alg"] = "sha-256".into();
        assert_eq!(
            without_decoys(&payload, &keep),
            without_decoys(&expected_payload, &keep),
            "{}: payload",
            dir.display()
        );

        // Signed with the example's issuer key, the whole credential verifies to the user claims.
        let issued = issue(
            &request,
            "example+sd-jwt",
            &settings.issuer_key,
            &mut salts(),
        )
        .expect("issues");
        let all = verify(
            &issued.serialize(),
            &trusted(&settings, &dir),
            &StatusLists::default(),
            &VerifyOptions::new(settings.iat, KeyBinding::Optional),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(
            Value::Object(all.claims),
            Value::Object(request.claims.clone()),
            "{}",
            dir.display()
        );
    }
}
