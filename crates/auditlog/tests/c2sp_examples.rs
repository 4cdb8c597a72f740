//! The examples in the C2SP specifications (`shared/corpora/tlog/c2sp-specs`) parse and, where the
//! spec gives the key, verify; tampering with them is caught.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::path::Path;

use ensuresec_auditlog::checkpoint::Checkpoint;
use ensuresec_auditlog::note::{
    Note, NoteError, VerifierSet, cosigned_message, parse_verifier_key,
};
use ensuresec_auditlog::receipt::Receipt;
use ensuresec_auditlog::witness::AddCheckpoint;

/// Fenced code blocks of a markdown file.
fn fenced(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        if line.starts_with("```") {
            match cur.take() {
                Some(block) => out.push(block),
                None => cur = Some(String::new()),
            }
        } else if let Some(block) = cur.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    out
}

/// Indented (four-space) code blocks of a markdown file, blank lines inside kept.
fn indented(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines().chain(std::iter::once("end")) {
        if let Some(rest) = line.strip_prefix("    ") {
            cur.get_or_insert_with(String::new)
                .push_str(&format!("{rest}\n"));
        } else if line.is_empty() {
            if let Some(block) = cur.as_mut() {
                block.push('\n');
            }
        } else if let Some(block) = cur.take() {
            out.push(block.trim_end_matches('\n').to_owned() + "\n");
        }
    }
    out
}

fn spec(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("c2sp-specs").join(name)).expect("spec readable")
}

#[test]
fn signed_note_example_verifies_with_its_vkey() {
    let Some(dir) = common::tlog_corpus() else {
        return;
    };
    let md = spec(&dir, "signed-note.md");
    let vkey = indented(&md)
        .into_iter()
        .find(|b| b.starts_with("example.com/foo+"))
        .expect("the spec's example vkey");
    let key = parse_verifier_key(vkey.trim()).expect("vkey parses and its key id matches");
    let keys = VerifierSet::new(vec![key]);
    let blocks = fenced(&md);
    let example = blocks
        .iter()
        .find(|b| b.starts_with("This is an example message."))
        .expect("the example note");
    let note = Note::parse(example.as_bytes()).expect("example note parses");
    assert_eq!(note.verify(&keys), Ok(vec![0]));
    let tampered = Note::parse(
        example
            .replace("example message", "exemple message")
            .as_bytes(),
    )
    .expect("parses");
    assert!(matches!(
        tampered.verify(&keys),
        Err(NoteError::BadSignature { .. })
    ));
    // The poem is signed by a key we were not given: it parses, but nothing trusted signed it.
    let poem = blocks
        .iter()
        .find(|b| b.contains("quasimodo.example/salvatore"))
        .expect("the poem");
    let poem = Note::parse(poem.as_bytes()).expect("poem parses");
    assert_eq!(poem.signatures[0].signature.len(), 64);
    assert_eq!(poem.verify(&keys), Err(NoteError::NoTrustedSignature));
    // A vkey whose id does not match its key is refused.
    let bad_id = vkey.trim().replace("+530d903a+", "+530d903b+");
    assert!(matches!(
        parse_verifier_key(&bad_id),
        Err(NoteError::KeyIdMismatch(_))
    ));
}

#[test]
fn checkpoint_and_cosignature_examples_parse_to_the_spec_values() {
    let Some(dir) = common::tlog_corpus() else {
        return;
    };
    let md = spec(&dir, "tlog-checkpoint.md");
    let block = fenced(&md)
        .into_iter()
        .find(|b| b.starts_with("example.com/behind-the-sofa"))
        .expect("example");
    let note = Note::parse(block.as_bytes()).expect("example checkpoint note parses");
    let cp = Checkpoint::parse(&note.text).expect("example checkpoint parses");
    assert_eq!(
        (cp.origin.as_str(), cp.size),
        ("example.com/behind-the-sofa", 20852163)
    );
    assert_eq!(note.signatures[0].name, cp.origin);
    assert_eq!(note.signatures[0].signature.len(), 64);
    assert_eq!(cp.to_text(), note.text);

    let md = spec(&dir, "tlog-cosignature.md");
    let block = fenced(&md)
        .into_iter()
        .find(|b| b.starts_with("example.com/behind-the-sofa"))
        .expect("example");
    let note = Note::parse(block.as_bytes()).expect("cosigned example parses");
    let cosig = note
        .signatures
        .iter()
        .find(|s| s.name == "witness.example.com/w1")
        .expect("cosignature");
    assert_eq!(
        cosig.signature.len(),
        8 + 64,
        "timestamped_signature is u64 + 64 bytes"
    );
    let timestamp = u64::from_be_bytes(cosig.signature[..8].try_into().expect("8 bytes"));
    // The spec's example signed message uses this very timestamp and checkpoint: our message
    // construction must reproduce it byte for byte.
    let message = indented(&md)
        .into_iter()
        .find(|b| b.starts_with("cosignature/v1\n"))
        .expect("example message");
    assert_eq!(
        String::from_utf8(cosigned_message(timestamp, note.text.as_bytes())).expect("utf-8"),
        message
    );
    assert_eq!(timestamp, 1679315147);
}

#[test]
fn witness_request_and_tlog_proof_examples_parse() {
    let Some(dir) = common::tlog_corpus() else {
        return;
    };
    let md = spec(&dir, "tlog-witness.md");
    let body = indented(&md)
        .into_iter()
        .find(|b| b.starts_with("old "))
        .expect("example request");
    let req = AddCheckpoint::parse(body.as_bytes()).expect("example request parses");
    assert_eq!(req.old_size, 20852014);
    assert_eq!(req.proof.len(), 4);
    let note = Note::parse(&req.checkpoint).expect("embedded checkpoint parses");
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(
        Checkpoint::parse(&note.text).expect("checkpoint").size,
        20852163
    );
    assert_eq!(
        AddCheckpoint::parse(&req.to_body()).expect("round trip"),
        req
    );

    let md = spec(&dir, "tlog-proof.md");
    let proof = fenced(&md)
        .into_iter()
        .find(|b| b.starts_with("c2sp.org/tlog-proof@v1"))
        .expect("example proof");
    let receipt = Receipt::from_tlog_proof(&proof, b"entry").expect("example proof parses");
    assert_eq!(receipt.index, 73894);
    assert_eq!(receipt.inclusion_proof.len(), 5);
    assert!(
        receipt
            .checkpoint
            .starts_with("example.com/fancylog\n109482\n")
    );
}
