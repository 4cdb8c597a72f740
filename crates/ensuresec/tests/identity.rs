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
    support::assert_success(&o);
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

/// An issuer (with its published status list) and a wallet holding one age credential.
struct Parties {
    issuer: std::path::PathBuf,
    wallet: std::path::PathBuf,
    /// The credential's id in the wallet.
    id: String,
    /// The status list token file the shop reads.
    published: std::path::PathBuf,
}

/// `identity issuer init` in `dir` for https://bank.example.
fn issuer_init(dir: &Path) -> Output {
    identity(&[
        "issuer",
        "init",
        "--dir",
        s(dir),
        "--issuer",
        "https://bank.example",
    ])
}

fn parties(dir: &Path) -> Parties {
    let (issuer, wallet) = (dir.join("issuer"), dir.join("wallet"));
    ok(issuer_init(&issuer));
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
    let file = dir.join("credential.sd-jwt");
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
    let published = dir.join("status.jwt");
    std::fs::write(
        &published,
        ok(identity(&["status-list", "token", "--dir", s(&issuer)])),
    )
    .unwrap();
    Parties {
        issuer,
        wallet,
        id,
        published,
    }
}

/// `[identity]` trusting the parties' issuer and reading its status list every second.
fn identity_section(p: &Parties) -> String {
    format!(
        "[identity]\nenabled = true\nverifier_id = \"https://shop.example\"\ntrusted_issuers = [{:?}]\nstatus_lists = [{:?}]\nstatus_refresh_seconds = 1\n",
        s(&p.issuer.join("metadata.json")),
        s(&p.published)
    )
}

#[test]
fn checkout_proves_age_once_and_revocation_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let parties = parties(dir.path());
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(&config, identity_section(&parties)).unwrap();
    let Parties {
        issuer,
        wallet,
        id,
        published,
    } = parties;
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
    let entries: Value = support::ledger_entries(&server);
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

/// What the test shop received at its checkout: the order's form and whether a presentation
/// reached it.
type Orders = std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>;

/// A shop on 127.0.0.1:0 whose `POST /checkout/order` records what it received.
fn start_shop() -> (String, Orders) {
    let orders = Orders::default();
    let seen = orders.clone();
    let app = axum::Router::new().route(
        "/checkout/order",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let presented = headers.contains_key("age-presentation");
                seen.lock().unwrap().push((body, presented));
                "ordered"
            }
        }),
    );
    (support::serve_app(app), orders)
}

#[test]
fn the_gateway_refuses_restricted_checkouts_without_a_proof_of_age_for_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let parties = parties(dir.path());
    let (shop, orders) = start_shop();
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            r#"{identity}audit_wait = false
[respond]
default_playbooks = false
[gateway]
listen = "127.0.0.1:0"
[[gateway.age_gates]]
path = "/checkout/order"
restricted = ["WINE-*", "RX-0042"]
product_field = "sku"
[[gateway.routes]]
prefix = "/"
upstream = "{shop}"
"#,
            identity = identity_section(&parties)
        ),
    )
    .unwrap();
    let server = Server::start(&dir.path().join("data"), &["--config", s(&config)]);
    let gateway = server
        .printed("gateway (in-process): ")
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let order_at = |base: &str, form: &[(&str, &str)], presentation: Option<&str>| {
        let mut r = client().post(format!("{base}/checkout/order")).form(form);
        if let Some(p) = presentation {
            r = r.header("Age-Presentation", p);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let order =
        |form: &[(&str, &str)], presentation: Option<&str>| order_at(&gateway, form, presentation);
    let refusal = |(status, text): (u16, String)| {
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status} {text}"));
        (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
    };

    // Nothing restricted: no proof needed.
    assert_eq!(
        order(&[("order_id", "o-1"), ("sku", "BREAD")], None),
        (200, "ordered".into())
    );
    // Wine without a proof of age: refused at the gateway, the shop never sees it.
    assert_eq!(
        refusal(order(&[("order_id", "o-2"), ("sku", "WINE-RED")], None)),
        (403, "age_proof_required".into())
    );
    // A proof for this order goes through once the issuer's status list is in (fetched every
    // second); the shop gets the order but not the credential.
    let presentation = wait_for("the status list to be fetched", 20, || {
        let (_, presentation) = checkout(&server, &parties.wallet, &parties.id, "o-5");
        let answer = order(
            &[("order_id", "o-5"), ("sku", "WINE-RED"), ("sku", "BREAD")],
            Some(&presentation),
        );
        if answer.0 == 200 {
            return Some(presentation);
        }
        assert_eq!(refusal(answer), (403, "status_list_unavailable".into()));
        None
    });
    // The nonce was used: the same presentation cannot buy twice.
    assert_eq!(
        refusal(order(
            &[("order_id", "o-5"), ("sku", "WINE-RED")],
            Some(&presentation)
        )),
        (403, "replayed_nonce".into())
    );
    // A proof made for another order does not carry over.
    let (_, other) = checkout(&server, &parties.wallet, &parties.id, "o-3");
    assert_eq!(
        refusal(order(
            &[("order_id", "o-4"), ("sku", "RX-0042")],
            Some(&other)
        )),
        (403, "order_mismatch".into())
    );
    // A gateway on another host asks the same serve over its link: same gate, same nonces.
    let linked = support::gateway(
        dir.path(),
        &format!(
            r#"[gateway]
[gateway.serve]
url = "{serve}"
token = "{TOKEN}"
[[gateway.age_gates]]
path = "/checkout/order"
restricted = ["WINE-*"]
product_field = "sku"
[[gateway.routes]]
prefix = "/"
upstream = "{shop}"
"#,
            serve = server.base
        ),
    );
    let (_, presentation) = checkout(&server, &parties.wallet, &parties.id, "o-6");
    let form = [("order_id", "o-6"), ("sku", "WINE-WHITE")];
    assert_eq!(
        order_at(&linked.base, &form, Some(&presentation)),
        (200, "ordered".into())
    );
    assert_eq!(
        refusal(order(&form, Some(&presentation))),
        (403, "replayed_nonce".into())
    );
    let received = orders.lock().unwrap().clone();
    let bodies: Vec<&str> = received.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "order_id=o-1&sku=BREAD",
            "order_id=o-5&sku=WINE-RED&sku=BREAD",
            "order_id=o-6&sku=WINE-WHITE"
        ]
    );
    assert!(received.iter().all(|(_, presented)| !presented));

    // The gateway's checks are in the audit log like any other verification; with
    // `audit_wait = false` the answer came first and the records follow within milliseconds.
    wait_for("the queued audit records", 20, || {
        let entries = support::ledger_entries(&server);
        let accepted: Vec<&Value> = entries
            .as_array()?
            .iter()
            .filter(|e| {
                e["record"]["kind"] == "age_verification"
                    && e["record"]["record"]["outcome"] == "accepted"
            })
            .map(|e| &e["record"]["record"]["order_id"])
            .collect();
        (accepted.contains(&&json!("o-5")) && accepted.contains(&&json!("o-6"))).then_some(())
    });
}

/// Credential ids and nonces are base64url and start with '-' one time in 64: the wallet takes
/// them as values, not as flags.
#[test]
fn ids_and_nonces_starting_with_a_hyphen_are_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = identity(&[
        "wallet",
        "present",
        "--dir",
        s(dir.path()),
        "--id",
        "-uV3aQ9zkT0c",
        "--disclose",
        "/age_equal_or_over/18",
        "--nonce",
        "-x7Jd",
        "--audience",
        "shop",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(
        err.contains(s(dir.path())),
        "the wallet directory was read: {err}"
    );
}

#[test]
fn a_second_issuer_init_refuses_and_keeps_the_key_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let issuer = dir.path().join("issuer");
    ok(issuer_init(&issuer));
    let key = issuer.join("issuer.jwk");
    let before = std::fs::read(&key).unwrap();
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = issuer_init(&issuer);
    assert!(!again.status.success(), "a second init must fail");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("issuer.jwk exists already; it is not overwritten"),
        "{err}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), before, "the key is untouched");
    let names: Vec<String> = std::fs::read_dir(&issuer)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "no temporary file left: {names:?}"
    );
}

#[test]
fn credentials_issued_at_once_get_their_own_indexes_and_a_revocation_beside_them_holds() {
    let dir = tempfile::tempdir().unwrap();
    let parties = parties(dir.path());
    let issuer = s(&parties.issuer).to_owned();
    let holder = s(&parties.wallet.join("holder.pub.jwk")).to_owned();
    // Index 0 is the parties' credential; six more are issued while it is revoked.
    let mut running: Vec<std::process::Child> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_ensuresec"))
                .args(["identity", "issuer", "issue", "--dir", &issuer])
                .args(["--holder-jwk", &holder, "--birthdate", "1990-05-17"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    ok(identity(&[
        "status-list",
        "revoke",
        "--dir",
        &issuer,
        "--index",
        "0",
    ]));
    let mut indexes: Vec<usize> = running
        .drain(..)
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            support::assert_success(&out);
            let said = String::from_utf8(out.stderr).unwrap();
            let line = said
                .lines()
                .find_map(|l| l.strip_prefix("status list index "));
            line.unwrap_or_else(|| panic!("no index in {said:?}"))
                .parse()
                .unwrap()
        })
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6]);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(parties.issuer.join("status.json")).unwrap())
            .unwrap();
    assert_eq!(state["next_index"], 7);
    let list = ensuresec_identity::status_list::StatusList::from_claim(&state["list"]).unwrap();
    assert_eq!(
        list.get(0).unwrap(),
        ensuresec_identity::status_list::REVOKED,
        "the revocation was not undone by an issue that read the list before it"
    );
    assert_eq!(list.get(1).unwrap(), 0);
}

#[test]
fn revoking_in_a_folder_that_is_not_an_issuers_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = identity(&[
        "status-list",
        "revoke",
        "--dir",
        s(dir.path()),
        "--index",
        "0",
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(
        said.contains("is not an issuer folder") && said.contains("issuer init"),
        "{said}"
    );
}
