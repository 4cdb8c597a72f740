//! Starting the real `ensuresec serve` on an ephemeral port, and helpers to talk to it.

#![allow(dead_code)] // each test file uses a different subset of these helpers

pub mod mqtt_proxy;
pub mod web;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "es_test_admin_token_0123456789";

/// A running server process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Lines the server printed after its address, and a signal for each new one.
    output: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Server {
    /// Starts `ensuresec serve` on 127.0.0.1:0 with its data in `data_dir`.
    pub fn start(data_dir: &Path, extra_args: &[&str]) -> Server {
        Server::start_with_env(data_dir, extra_args, &[])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub fn start_with_env(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
        command
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env("ENSURESEC_ADMIN_TOKEN", TOKEN)
            .current_dir(data_dir.parent().unwrap_or(data_dir));
        Server::spawn(command)
    }

    /// Runs any `ensuresec` subcommand that prints `listening on URL` (serve, gateway) and keeps
    /// reading its output.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .env("ENSURESEC_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ensuresec");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server printed its address before exiting")
                .expect("read server output");
            if let Some(rest) = line.split("listening on ").nth(1) {
                // Strip terminal styling around the URL.
                let url: String = rest
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
                    .replace("[1m", "")
                    .replace("[0m", "");
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so that the server never blocks on a full pipe, keeping the lines.
        let output = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.0.lock().unwrap().push(line);
                sink.1.notify_all();
            }
        });
        Server {
            child,
            base,
            output,
        }
    }

    /// The first line the server printed that contains `needle`, waiting up to 30 s for it.
    pub fn printed(&self, needle: &str) -> String {
        let (lines, signal) = &*self.output;
        let guard = lines.lock().unwrap();
        let (guard, _) = signal
            .wait_timeout_while(guard, Duration::from_secs(30), |l| {
                !l.iter().any(|x| x.contains(needle))
            })
            .unwrap();
        guard
            .iter()
            .find(|x| x.contains(needle))
            .unwrap_or_else(|| panic!("the server never printed `{needle}`"))
            .clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GETs `path` with the admin token and reads the JSON answer.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        client()
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("kill -9 the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// One failed login, as NDJSON.
pub fn failed_login(account: &str, ip: &str, second: u32) -> String {
    format!(
        r#"{{"type":"auth","time":"2026-11-21T10:{:02}:{:02}Z","source":"test","data":{{"account":"{account}","ip":"{ip}","action":"login","outcome":"failure"}}}}"#,
        second / 60,
        second % 60
    )
}

/// Seven failed logins of one account as NDJSON lines: the file the ingest tests send.
pub fn seven_logins() -> Vec<String> {
    (0..7).map(|i| failed_login("a", "192.0.2.1", i)).collect()
}

/// Runs `ensuresec ingest` of `file` to the server at `base` in batches of three, with `extra`
/// arguments, and waits for it.
pub fn ingest_in_threes(base: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .env("ENSURESEC_LOG", "warn")
        .args([
            "ingest",
            "--batch-events",
            "3",
            "--server",
            base,
            "--token",
            TOKEN,
        ])
        .args(extra)
        .arg(file)
        .output()
        .expect("run ensuresec ingest")
}

/// A credential-stuffing wave: `n` accounts from one address.
pub fn stuffing(ip: &str, n: u32) -> String {
    (0..n)
        .map(|i| failed_login(&format!("victim{i}"), ip, i))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of one series on `server`'s `/metrics` (its name with its labels, as printed),
/// if it is there.
pub fn metric(server: &Server, series: &str) -> Option<f64> {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The sequence number the server gives the next event, one more than the events it holds:
/// found by storing one probe event (a failed login at `second`).
pub fn next_seq(server: &Server, second: u32) -> u64 {
    let answer: serde_json::Value =
        post_events(server, failed_login("probe", "192.0.2.200", second))
            .json()
            .unwrap();
    answer["first_seq"].as_u64().unwrap()
}

pub fn post_events(server: &Server, body: String) -> reqwest::blocking::Response {
    client()
        .post(server.url("/v1/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap()
}

/// Polls `check` until it gives a value, failing after `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // Pace the polling; the condition, not the pause, is the synchronisation.
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// A temporary shop web root (`www/index.php`) with an integrity baseline taken by the binary
/// in `data/`: the start of every test of the integrity monitor inside `serve`.
pub struct WebRoot {
    /// Holds the folders; both go when it is dropped.
    pub dir: tempfile::TempDir,
    /// The web root.
    pub www: std::path::PathBuf,
    /// The data directory holding the baseline.
    pub data: std::path::PathBuf,
}

/// Creates a [`WebRoot`] and takes its baseline, failing the test with the binary's stderr.
pub fn web_root_with_baseline() -> WebRoot {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.php"), "<?php echo 'shop';\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["integrity", "baseline"])
        .arg(&www)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_success(&out);
    WebRoot { dir, www, data }
}

/// Starts `ensuresec gateway` on 127.0.0.1:0 with `config` written to `dir/gateway.toml`.
pub fn gateway(dir: &Path, config: &str) -> Server {
    let path = dir.join("gateway.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
    command
        .args(["gateway", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .current_dir(dir);
    Server::spawn(command)
}

/// Serves `app` on 127.0.0.1:0 from its own thread (a test's shop or receiver); its base URL.
pub fn serve_app(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

/// The first thousand entries of the server's audit log.
pub fn ledger_entries(server: &Server) -> serde_json::Value {
    server.get_json("/v1/ledger/entries?start=0&limit=1000")
}

/// What a finished command printed, standard output then standard error (assertion messages).
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Fails the test, showing what the command printed, unless it succeeded.
pub fn assert_success(o: &std::process::Output) {
    assert!(o.status.success(), "{}", output_text(o));
}
