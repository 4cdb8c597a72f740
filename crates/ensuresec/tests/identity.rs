//! Age verification end to end: an issuer and a wallet made with `ensuresec identity`, a shop
//! running `ensuresec serve` with `[identity]`, a checkout's challenge and verification over
//! HTTP, replay, revocation through a re-published status list, and the audit log holding the
//! outcome but never the disclosed claims.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::{Server, TOKEN, client, wait_for};

fn identity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .env("ENSURESEC_LOG", "warn")
        .arg("identity")
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asks the server for a challenge on `order` and has the wallet answer it.
fn checkout(server: &Server, wallet: &Path, id: &str, order: &str) -> (Value, String) {
    let challenge: Value = client()
        .post(server.url("/v1/identity/challenge"))
        .bearer_auth(TOKEN)
        .json(&json!({"order_id": order}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let claim = challenge["request"]["dcql_query"]["credentials"][0]["claims"][0]["path"].clone();
    assert_eq!(claim, json!(["age_equal_or_over", "18"]), "{challenge}");
    let presentation = ok(identity(&[
        "wallet",
        "present",
        "--dir",
        s(wallet),
        "--id",
        id,
        "--disclose",
        "/age_equal_or_over/18",
        "--nonce",
        challenge["nonce"].as_str().unwrap(),
        "--audience",
        challenge["audience"].as_str().unwrap(),
    ]));
    (challenge, presentation.trim().to_owned())
}

fn verify(server: &Server, presentation: &str) -> (u16, Value) {
    let r = client()
        .post(server.url("/v1/identity/verify"))
        .bearer_auth(TOKEN)
        .json(&json!({"presentation": presentation}))
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

#[test]
fn checkout_proves_age_once_and_revocation_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let (issuer, wallet) = (dir.path().join("issuer"), dir.path().join("wallet"));
    ok(identity(&[
        "issuer",
        "init",
        "--dir",
        s(&issuer),
        "--issuer",
        "https://bank.example",
    ]));
    ok(identity(&[
        "wallet",
        "init",
        "--dir",
        s(&wallet),
        "--alg",
        "eddsa",
    ]));
    let credential = ok(identity(&[
        "issuer",
        "issue",
        "--dir",
        s(&issuer),
        "--holder-jwk",
        s(&wallet.join("holder.pub.jwk")),
        "--birthdate",
        "1990-05-17",
    ]));
    let file = dir.path().join("credential.sd-jwt");
    std::fs::write(&file, &credential).unwrap();
    let added = ok(identity(&["wallet", "add", "--dir", s(&wallet), s(&file)]));
    let id = added.trim().rsplit(' ').next().unwrap().to_owned();
    let listed = ok(identity(&["wallet", "list", "--dir", s(&wallet)]));
    assert!(
        listed.contains(&id)
            && listed.contains("/age_equal_or_over/18")
            && listed.contains("/birthdate"),
        "{listed}"
    );

    // The issuer publishes its status list; the shop reads it as a file here.
    let published = dir.path().join("status.jwt");
    std::fs::write(
        &published,
        ok(identity(&["status-list", "token", "--dir", s(&issuer)])),
    )
    .unwrap();
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nenabled = true\nverifier_id = \"https://shop.example\"\ntrusted_issuers = [{:?}]\nstatus_lists = [{:?}]\nstatus_refresh_seconds = 1\n",
            s(&issuer.join("metadata.json")),
            s(&published)
        ),
    )
    .unwrap();
    let server = Server::start(&dir.path().join("data"), &["--config", s(&config)]);

    let unauthenticated = client()
        .post(server.url("/v1/identity/challenge"))
        .json(&json!({"order_id": "o-1"}))
        .send()
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);

    let (_, presentation) = wait_for("the status list to be fetched", 20, || {
        let (challenge, presentation) = checkout(&server, &wallet, &id, "o-1");
        let (status, answer) = verify(&server, &presentation);
        (status == 200)
            .then_some((challenge, presentation))
            .or_else(|| {
                assert_eq!(
                    answer["error"]["code"], "status_list_unavailable",
                    "{answer}"
                );
                None
            })
    });
    let (status, answer) = verify(&server, &presentation);
    assert_eq!(
        (status, &answer["error"]["code"]),
        (422, &json!("replayed_nonce")),
        "{answer}"
    );

    // The same credential, checked offline by the CLI verifier.
    let (challenge, presentation) = checkout(&server, &wallet, &id, "o-2");
    let p = dir.path().join("presentation.txt");
    std::fs::write(&p, &presentation).unwrap();
    let offline = ok(identity(&[
        "verify",
        "--trust",
        s(&issuer.join("metadata.json")),
        "--status-list",
        s(&published),
        "--nonce",
        challenge["nonce"].as_str().unwrap(),
        "--audience",
        challenge["audience"].as_str().unwrap(),
        s(&p),
    ]));
    assert_eq!(
        serde_json::from_str::<Value>(&offline).unwrap()["age_over_18"],
        true,
        "{offline}"
    );

    // Revoked and re-published: the shop refuses once it has fetched the new list.
    ok(identity(&[
        "status-list",
        "revoke",
        "--dir",
        s(&issuer),
        "--index",
        "0",
    ]));
    std::fs::write(
        &published,
        ok(identity(&["status-list", "token", "--dir", s(&issuer)])),
    )
    .unwrap();
    wait_for("the revocation to reach the shop", 20, || {
        let (_, presentation) = checkout(&server, &wallet, &id, "o-3");
        let (status, answer) = verify(&server, &presentation);
        (answer["error"]["code"] == "revoked").then_some(status)
    });

    // The audit log has every outcome and nothing the wallet disclosed.
    let entries: Value = client()
        .get(server.url("/v1/ledger/entries?start=0&limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let records: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"]["kind"] == "age_verification")
        .collect();
    assert!(
        records
            .iter()
            .any(|r| r["record"]["record"]["outcome"] == "accepted"
                && r["record"]["record"]["order_id"] == "o-1")
    );
    assert!(
        records
            .iter()
            .any(|r| r["record"]["record"]["reason"] == "replayed_nonce")
    );
    assert!(
        records
            .iter()
            .any(|r| r["record"]["record"]["reason"] == "revoked")
    );
    let text = entries.to_string();
    assert!(
        !text.contains("1990") && !text.contains("age_equal_or_over"),
        "claims leaked into the audit log"
    );
}
