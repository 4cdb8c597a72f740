//! Writes a feature state file holding `CARDS` cards named as `bench/loadgen`'s payments name
//! theirs (`card-0`, `card-1`…), so that `bench/fraud_http.sh` can start `serve` on a full
//! state and measure its latency there, not only on a fresh one. The cards are counted through
//! the service as payments would be, 100 to a second of event time, the last one second before
//! `END` (seconds since the epoch; the load generator's payments start at 1,700,000,000).
//!
//! Usage: `state_of_cards FILE CARDS END`

use std::path::PathBuf;
use std::process::ExitCode;

use ensuresec_fraud::journal::Kept as _;
use ensuresec_fraud::{FraudService, ServiceConfig};

#[path = "../benches/common/card_payment.rs"]
mod card_payment;
use card_payment::card_payment;

/// Payments counted per second of event time.
const PER_SECOND: usize = 100;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("state_of_cards: {message}");
            eprintln!("usage: state_of_cards FILE CARDS END");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, cards, end] = args.as_slice() else {
        return Err(format!("expected 3 arguments, got {}", args.len()));
    };
    let file = PathBuf::from(file);
    let cards: usize = cards.parse().map_err(|e| format!("CARDS {cards:?}: {e}"))?;
    let end: i64 = end.parse().map_err(|e| format!("END {end:?}: {e}"))?;
    let service = FraudService::open(&ServiceConfig {
        state_file: Some(file.clone()),
        ..ServiceConfig::default()
    })
    .map_err(|e| e.to_string())?;
    if service.status().entities != 0 {
        return Err(format!("{} exists already", file.display()));
    }
    let first = end - 1 - (cards / PER_SECOND) as i64;
    let mut payment = card_payment();
    for card in 0..cards {
        payment.card.fingerprint = format!("card-{card}");
        payment.payment_id = format!("state-{card}");
        payment.time = chrono::DateTime::from_timestamp(first + (card / PER_SECOND) as i64, 0)
            .ok_or_else(|| format!("END {end} is out of range"))?;
        service
            .score(&payment)
            .map_err(|e| format!("card {card}: {e}"))?;
    }
    let written = service.save().map_err(|e| e.to_string())?;
    println!(
        "{} holds {written} entities ({} bytes of state)",
        file.display(),
        service.status().state_bytes
    );
    Ok(())
}
