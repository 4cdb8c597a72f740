//! The fraud scoring benchmark's driver: `POST /v1/payments/score` at a steady rate over N
//! keep-alive connections (or a new connection per request), and the latency distribution.
//!
//! Open loop: request `i` is due at `start + i / rate`, and its latency is counted from when it
//! was due, not from when a connection got round to sending it, so that a slow answer delays
//! and counts against the requests queued behind it (no coordinated omission). The request
//! bodies are encoded before the clock starts.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Token with the ingest scope.
    #[arg(long, env = "ENSURESEC_TOKEN")]
    token: String,
    /// Requests per second.
    #[arg(long, default_value_t = 2_000.0)]
    rate: f64,
    /// Seconds to run (after the warm-up).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds of warm-up at the same rate, not counted.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Distinct cards the payments are spread over.
    #[arg(long, default_value_t = 100_000)]
    cards: u64,
    /// A CA certificate (PEM) to trust for an `https://` server, besides the usual roots.
    #[arg(long)]
    ca_cert: Option<std::path::PathBuf>,
    /// A new connection for every request, as a client that does not keep connections alive
    /// makes them; over `https://` each resumes the TLS session of an earlier one (the TLS
    /// library's default) unless `--no-tls-resumption`.
    #[arg(long)]
    fresh_connections: bool,
    /// Every TLS connection a full handshake (the server signs, the client verifies the
    /// certificate), as clients that keep no session cache make them.
    #[arg(long, requires = "ca_cert")]
    no_tls_resumption: bool,
}

/// A TLS client configuration that trusts the CA certificates of `pem` only and never resumes
/// a session.
fn without_resumption(pem: &[u8]) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.context("a certificate of --ca-cert")?)?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// A payment request body; `i` varies the card, device, IP and amount.
fn body(i: u64, cards: u64) -> bytes::Bytes {
    let card = i.wrapping_mul(2_654_435_761) % cards;
    let second = 1_700_000_000 + i / 100;
    let time = chrono::DateTime::from_timestamp(second as i64, 0)
        .expect("a time in range")
        .to_rfc3339();
    let v = json!({
        "payment_id": format!("bench-{i}"),
        "time": time,
        "amount": {"minor": 500 + (i * 7919) % 200_000, "currency": "EUR"},
        "merchant": "shop-1",
        "card": {"fingerprint": format!("card-{card}"), "bin": "424242", "country": "DE"},
        "billing": {"country": "DE", "hash": format!("bill-{card}")},
        "shipping": {"country": if i.is_multiple_of(17) { "FR" } else { "DE" }, "hash": format!("ship-{}", card % 50_000)},
        "ip": format!("198.{}.{}.{}", 18 + ((card >> 16) & 1), (card >> 8) & 255, card & 255),
        "ip_country": "DE",
        "device": format!("dev-{}", card % 80_000),
        "email_hash": format!("mail-{card}"),
        "account": {"id": format!("acc-{card}"), "age_days": card % 2_000},
        "three_ds": if i.is_multiple_of(3) { "authenticated" } else { "not_enrolled" }
    });
    bytes::Bytes::from(v.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let warm = (args.rate * args.warmup as f64) as usize;
    let total = warm + (args.rate * args.seconds as f64) as usize;
    let bodies: Arc<Vec<bytes::Bytes>> =
        Arc::new((0..total as u64).map(|i| body(i, args.cards)).collect());
    let url = format!("{}/v1/payments/score", args.server.trim_end_matches('/'));
    // No idle connection kept: each request opens its own.
    let idle = if args.fresh_connections {
        0
    } else {
        args.connections
    };
    let mut client = reqwest::Client::builder().pool_max_idle_per_host(idle);
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        client = if args.no_tls_resumption {
            client.use_preconfigured_tls(without_resumption(&pem)?)
        } else {
            client.add_root_certificate(
                reqwest::Certificate::from_pem(&pem)
                    .with_context(|| format!("{} is not a PEM certificate", path.display()))?,
            )
        };
    }
    let client = client.build()?;
    let run = ensuresec_loadgen::open_loop(
        &client,
        &url,
        &args.token,
        bodies,
        args.rate,
        warm,
        args.connections,
    )
    .await
    .context("workers")?;
    run.print("requests", warm, args.rate);
    Ok(())
}
