//! The access log in Combined Log Format (what Apache and nginx write, and what log tools and
//! our own `webattack` parsers read): one line per request, written by a dedicated thread so a
//! slow disk never holds a request; a full queue drops lines and counts them.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use chrono::{DateTime, Utc};

use crate::error::GatewayError;

/// Lines queued before lines are dropped.
pub const QUEUE: usize = 65_536;

/// One request, as the log line shows it.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Client address.
    pub client: std::net::IpAddr,
    /// When the request arrived.
    pub time: DateTime<Utc>,
    /// Method.
    pub method: &'a str,
    /// Request target.
    pub target: &'a str,
    /// Protocol (`HTTP/1.1`, `HTTP/2.0`).
    pub protocol: &'a str,
    /// Response status.
    pub status: u16,
    /// Response body bytes, when known.
    pub bytes: Option<u64>,
    /// Referer header.
    pub referer: Option<&'a str>,
    /// User-Agent header.
    pub user_agent: Option<&'a str>,
}

/// Appends `s` with `"`, `\` and control bytes escaped as nginx does (`\x22`).
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == '"' || c == '\\' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

/// The Combined Log Format line for `e` (without the newline).
pub fn format(e: &Entry<'_>) -> String {
    let mut line = String::with_capacity(160);
    line.push_str(&e.client.to_string());
    line.push_str(" - - [");
    line.push_str(&e.time.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    line.push_str("] \"");
    push_escaped(&mut line, e.method);
    line.push(' ');
    push_escaped(&mut line, e.target);
    line.push(' ');
    push_escaped(&mut line, e.protocol);
    line.push_str("\" ");
    line.push_str(&e.status.to_string());
    line.push(' ');
    match e.bytes {
        Some(b) => line.push_str(&b.to_string()),
        None => line.push('-'),
    }
    for v in [e.referer, e.user_agent] {
        line.push_str(" \"");
        push_escaped(&mut line, v.unwrap_or("-"));
        line.push('"');
    }
    line
}

/// The log's writing side.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: SyncSender<String>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// Opens `path` for appending (`-`: standard output) and starts the writer thread.
    pub fn open(path: &Path) -> Result<AccessLog, GatewayError> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| GatewayError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?,
            )
        };
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(rx, out))
            .map_err(|e| GatewayError::Client(format!("access log thread: {e}")))?;
        Ok(AccessLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues the line for `e`.
    pub fn log(&self, e: &Entry<'_>) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(format(e)) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "access log queue full: lines dropped");
            }
        }
    }
}

fn write_lines(rx: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::new(out);
    while let Ok(line) = rx.recv() {
        let mut ok = writeln!(out, "{line}").is_ok();
        while let Ok(more) = rx.try_recv() {
            ok &= writeln!(out, "{more}").is_ok();
        }
        ok &= out.flush().is_ok();
        if !ok {
            tracing::warn!("cannot write the access log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lines_are_combined_log_format_and_escaped() {
        let e = Entry {
            client: "192.0.2.1".parse().unwrap(),
            time: Utc
                .with_ymd_and_hms(2026, 11, 22, 6, 0, 0)
                .single()
                .unwrap(),
            method: "GET",
            target: "/a\"b",
            protocol: "HTTP/1.1",
            status: 200,
            bytes: Some(12),
            referer: None,
            user_agent: Some("curl/8"),
        };
        assert_eq!(
            format(&e),
            r#"192.0.2.1 - - [22/Nov/2026:06:00:00 +0000] "GET /a\x22b HTTP/1.1" 200 12 "-" "curl/8""#
        );
    }
}
