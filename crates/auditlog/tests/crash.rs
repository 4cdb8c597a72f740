//! A real `kill -9` of a process doing heavy appends: the directory it left verifies offline as it
//! is, and after reopening, the log verifies and every entry that was acknowledged is present with
//! its content.
//!
//! The test re-runs its own binary as the child (selected by an environment variable), which
//! appends from several threads and prints each acknowledgement to stdout.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use ensuresec_auditlog::note::{Ed25519Signer, VerifierSet};
use ensuresec_auditlog::verify_dir::{VerifyOptions, verify_log_dir};
use ensuresec_auditlog::{Log, LogConfig};

const CHILD_ENV: &str = "AUDITLOG_CRASH_CHILD_DIR";
const ORIGIN: &str = "example.com/crash";
const THREADS: usize = 4;
const WINDOW: usize = 256;

fn key() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, &[11; 32]).expect("name")
}

fn entry(round: u32, thread: usize, seq: u64) -> Vec<u8> {
    let mut e = format!("r{round}-t{thread}-s{seq}-").into_bytes();
    e.resize(256, b'.');
    e
}

/// The child: appends until killed, printing `ack <index> <round> <thread> <seq>` per durable entry.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // only meaningful when spawned by the crash test
    };
    let round: u32 = std::env::var("AUDITLOG_CRASH_ROUND")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let log = Arc::new(Log::open(&dir, LogConfig::default()).expect("child opens the log"));
    let stdout = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (log, stdout) = (log.clone(), stdout.clone());
            std::thread::spawn(move || {
                let signer = key();
                let mut pending = std::collections::VecDeque::new();
                for seq in 0.. {
                    pending.push_back((seq, log.append(entry(round, t, seq)).expect("queued")));
                    if pending.len() >= WINDOW {
                        let (s, ack) = pending.pop_front().expect("non-empty");
                        let index = ack.wait().expect("durable");
                        let mut out = stdout.lock().expect("stdout");
                        writeln!(out, "ack {index} {round} {t} {s}").expect("print");
                        out.flush().expect("flush");
                        drop(out);
                        // Publish checkpoints while appending, so recovery also meets a history.
                        if t == 0 && s % 2000 == 0 {
                            log.publish_checkpoint(ORIGIN, &signer).expect("checkpoint");
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
}

fn crash_round(dir: &std::path::Path, round: u32, kill_after: usize) -> HashMap<u64, Vec<u8>> {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env("AUDITLOG_CRASH_ROUND", round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut acked = HashMap::new();
    let mut lines = BufReader::new(stdout).lines();
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.expect("utf-8 line");
        let Some(rest) = line.strip_prefix("ack ") else {
            continue;
        };
        let f: Vec<u64> = rest
            .split(' ')
            .map(|x| x.parse().expect("number"))
            .collect();
        let expected = entry(f[1] as u32, f[2] as usize, f[3]);
        assert!(
            acked.insert(f[0], expected).is_none(),
            "index {} acknowledged twice",
            f[0]
        );
        if acked.len() == kill_after && !killed {
            child.kill().expect("SIGKILL the child"); // std sends SIGKILL on Unix
            killed = true;
        }
    }
    let status = child.wait().expect("reap child");
    assert!(
        killed,
        "child stopped by itself after {} acks: {status:?}",
        acked.len()
    );
    acked
}

#[test]
fn kill_9_during_heavy_appends_loses_no_acknowledged_entry() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut all: HashMap<u64, Vec<u8>> = HashMap::new();
    for round in 0..3 {
        let acked = crash_round(dir.path(), round, 20_000);
        all.extend(acked);
        let keys = VerifierSet::new(vec![Arc::new(key().verifier())]);
        // As the killed writer left it, before anything opens the log: what it had not finished
        // (underived entries, an unfinished record) is not tampering.
        let killed = verify_log_dir(dir.path(), &VerifyOptions::new(keys.clone()))
            .expect("the killed writer's directory verifies as it is");
        let last_acked = all.keys().max().copied().unwrap_or(0);
        assert!(
            last_acked < killed.entries,
            "acknowledged index {last_acked} beyond the {} entries found",
            killed.entries
        );
        let log = Log::open(dir.path(), LogConfig::default()).expect("reopens after kill -9");
        let reader = log.reader();
        let size = reader.size();
        for (index, content) in &all {
            assert!(
                *index < size,
                "acknowledged index {index} missing (log has {size})"
            );
            assert_eq!(
                &reader.entry(*index).expect("entry"),
                content,
                "entry {index} changed"
            );
        }
        log.close().expect("closes");
        let report = verify_log_dir(dir.path(), &VerifyOptions::new(keys))
            .expect("log verifies after the crash");
        assert_eq!(report.entries, size);
        assert!(
            report.checkpoints > 0,
            "checkpoints were published during the run"
        );
    }
    assert!(all.len() >= 60_000);
}
