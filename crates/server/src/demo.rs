//! The demo source: the simulator, paced to wall-clock time, feeding the platform as a shop
//! would. It is a [`Source`] like any other.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ensuresec_pipeline::{Ingestor, Source, SourceError};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, SimError, Simulator};

use crate::config::DemoConfig;

/// Simulated shop traffic in real time.
pub struct DemoSource {
    simulator: Simulator,
    start: DateTime<Utc>,
}

impl DemoSource {
    /// A demo source starting its simulated day at `start` (normally now).
    pub fn new(config: &DemoConfig, start: DateTime<Utc>) -> Result<DemoSource, SimError> {
        let simulator = Simulator::new(SimConfig {
            seed: config.seed,
            start,
            rate: config.rate,
            scenario: Scenario::named(&config.scenario)?,
            profile: Profile::from_yaml("shop.yaml (built in)", DEFAULT_PROFILE)?,
            campaigns_per_hour: Some(config.campaigns_per_hour),
        })?;
        Ok(DemoSource { simulator, start })
    }
}

/// Events sent per batch at most, and the pacing tick.
const MAX_BATCH: usize = 5_000;
const TICK: StdDuration = StdDuration::from_millis(200);

#[async_trait]
impl Source for DemoSource {
    fn name(&self) -> &str {
        "demo"
    }

    async fn run(mut self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let started = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut carry = None;
        loop {
            ticker.tick().await;
            let horizon = self.start
                + chrono::Duration::from_std(started.elapsed())
                    .unwrap_or_else(|_| chrono::Duration::zero());
            let mut batch = Vec::new();
            if let Some(e) = carry.take() {
                batch.push(e);
            }
            while batch.len() < MAX_BATCH {
                let Some(e) = self.simulator.next() else {
                    break;
                };
                if e.time > horizon {
                    carry = Some(e);
                    break;
                }
                batch.push(e);
            }
            if batch.first().is_some_and(|e| e.time > horizon) {
                carry = batch.pop();
                continue;
            }
            if batch.is_empty() {
                continue;
            }
            if let Err(e) = ingestor.ingest(batch).await {
                return Err(SourceError {
                    source_name: "demo".into(),
                    message: e.to_string(),
                });
            }
        }
    }
}
