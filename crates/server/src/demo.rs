//! The demo source: the simulator, paced to wall-clock time, feeding the platform as a shop
//! would. It is a [`Source`] like any other.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ensuresec_model::Event;
use ensuresec_pipeline::{Ingestor, Source, SourceError};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, SimError, Simulator};

use crate::config::DemoConfig;

/// Simulated shop traffic in real time.
pub struct DemoSource {
    simulator: Simulator,
    start: DateTime<Utc>,
    carry: Option<Event>,
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
        Ok(DemoSource {
            simulator,
            start,
            carry: None,
        })
    }
}

/// Events sent per batch at most, and the pacing tick.
const MAX_BATCH: usize = 5_000;
const TICK: StdDuration = StdDuration::from_millis(200);

impl DemoSource {
    /// The next events whose time has come (event time ≤ `horizon`), at most one batch; the first
    /// event beyond the horizon is kept for later, so none is lost.
    pub fn take_due(&mut self, horizon: DateTime<Utc>) -> Vec<Event> {
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH {
            let next = match self.carry.take() {
                Some(e) => e,
                None => match self.simulator.next() {
                    Some(e) => e,
                    None => break,
                },
            };
            if next.time > horizon {
                self.carry = Some(next);
                break;
            }
            batch.push(next);
        }
        batch
    }
}

#[async_trait]
impl Source for DemoSource {
    fn name(&self) -> &str {
        "demo"
    }

    async fn run(mut self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let started = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let elapsed = chrono::Duration::from_std(started.elapsed())
                .unwrap_or_else(|_| chrono::Duration::zero());
            let batch = self.take_due(self.start + elapsed);
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
