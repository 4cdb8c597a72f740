//! The demo source: the simulator, paced to wall-clock time, feeding the platform as a shop
//! would. It is a [`Source`] like any other.

use std::collections::VecDeque;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveTime, Utc};
use ensuresec_model::Event;
use ensuresec_pipeline::{Ingestor, Source, SourceError};
use ensuresec_simulator::day::{DEFAULT_DAY, DayScenario, simulate_day};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, SimError, Simulator};

use crate::config::DemoConfig;

/// Simulated shop traffic in real time, and the pharmacy's deliveries beside it.
pub struct DemoSource {
    simulator: Simulator,
    start: DateTime<Utc>,
    carry: Option<Event>,
    deliveries: Option<DeliveryDays>,
}

/// The delivery simulator's days, one after the other: a day is simulated whole (its events
/// come in arrival order), then released as its time comes.
struct DeliveryDays {
    scenario: DayScenario,
    seed: u64,
    /// Midnight (UTC) of the next day to simulate.
    next_day: DateTime<Utc>,
    queue: VecDeque<Event>,
}

impl DeliveryDays {
    /// The next delivery event if it is due by `horizon`, simulating the next day when this
    /// one is spent. A day's events come in arrival order: a tracker's late upload comes out
    /// when its turn in the arrivals comes.
    fn peek_due(&mut self, horizon: DateTime<Utc>) -> Option<&Event> {
        if self.queue.is_empty() && self.next_day <= horizon {
            let run = simulate_day(&self.scenario, self.seed, self.next_day);
            self.seed = self.seed.wrapping_add(1);
            self.queue = run.events.into();
            self.next_day = self.next_day + Days::new(1);
        }
        self.queue.front().filter(|e| e.time <= horizon)
    }
}

impl DemoSource {
    /// A demo source starting its simulated day at `start` (normally now). With deliveries on,
    /// the delivery day that contains `start` is simulated from its midnight, so what happened
    /// earlier that day comes in at once, and the rest as its time comes.
    pub fn new(config: &DemoConfig, start: DateTime<Utc>) -> Result<DemoSource, SimError> {
        let simulator = Simulator::new(SimConfig {
            seed: config.seed,
            start,
            rate: config.rate,
            scenario: Scenario::named(&config.scenario)?,
            profile: Profile::from_yaml("shop.yaml (built in)", DEFAULT_PROFILE)?,
            campaigns_per_hour: Some(config.campaigns_per_hour),
        })?;
        let deliveries = if config.deliveries {
            Some(DeliveryDays {
                scenario: DayScenario::from_yaml("delivery.yaml (built in)", DEFAULT_DAY)?,
                seed: config.seed,
                next_day: start.with_time(NaiveTime::MIN).single().unwrap_or(start),
                queue: VecDeque::new(),
            })
        } else {
            None
        };
        Ok(DemoSource {
            simulator,
            start,
            carry: None,
            deliveries,
        })
    }
}

/// Events sent per batch at most, and the pacing tick.
const MAX_BATCH: usize = 5_000;
const TICK: StdDuration = StdDuration::from_millis(200);

impl DemoSource {
    /// The next events whose time has come (event time ≤ `horizon`), at most one batch, the
    /// shop's and the deliveries' merged by time. An event beyond the horizon waits for a later
    /// call, so none is lost and the order does not depend on how often this is called.
    pub fn take_due(&mut self, horizon: DateTime<Utc>) -> Vec<Event> {
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH {
            if self.carry.is_none() {
                self.carry = self.simulator.next();
            }
            let shop = self
                .carry
                .as_ref()
                .map(|e| e.time)
                .filter(|t| *t <= horizon);
            let delivery = self
                .deliveries
                .as_mut()
                .and_then(|d| d.peek_due(horizon))
                .map(|e| e.time);
            let from_shop = match (shop, delivery) {
                (None, None) => break,
                (Some(s), Some(d)) => s <= d,
                (s, _) => s.is_some(),
            };
            let next = if from_shop {
                self.carry.take()
            } else {
                self.deliveries.as_mut().and_then(|d| d.queue.pop_front())
            };
            batch.extend(next);
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
