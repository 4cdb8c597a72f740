//! A pharmacy's day of deliveries with labelled attacks: couriers drive tours through a street
//! grid, parcel trackers report temperature, position, light and battery with noise and drain,
//! fixed sensors watch fridges and lockers, staff badge into the controlled-medicines zone, and
//! customers order, change addresses and claim. The attacks of the scenario are injected into
//! that day, and each is written to the ground truth ([`Truth`]), never into the events.
//!
//! Deterministic: the same scenario, seed and day give the same events and truth. Events come
//! out in arrival order: event time, except for the readings a tracker uploads late (and the
//! duplicates it sends), as real gateways do.

mod city;
mod extras;
mod inject;
mod journey;
pub mod scenario;
pub mod score;
pub mod truth;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use ensuresec_model::{Event, EventData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use scenario::{DEFAULT_DAY, DayScenario};
pub use truth::Truth;

/// A simulated day: the events in arrival order and the ground truth.
#[derive(Debug, Clone)]
pub struct DayRun {
    /// The events.
    pub events: Vec<Event>,
    /// One label per injected attack.
    pub truth: Vec<Truth>,
}

/// Simulates the day that contains `day` (from its midnight, UTC) with `seed`.
pub fn simulate_day(scenario: &DayScenario, seed: u64, day: DateTime<Utc>) -> DayRun {
    let midnight = day
        .with_time(NaiveTime::MIN)
        .single()
        .unwrap_or(day)
        .timestamp();
    let mut out = Output::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut world = journey::World::plan(scenario, midnight, &mut rng);
    inject::before_drive(&mut world, scenario, &mut rng);
    world.drive(scenario, &mut rng, &mut out);
    inject::after_drive(&mut world, scenario, &mut rng, &mut out);
    extras::claims(&mut world, scenario, &mut rng, &mut out);
    world.emit(scenario, &mut rng, &mut out);
    extras::customers(&world, scenario, &mut rng, &mut out);
    extras::fixed_sensors(scenario, midnight, &mut rng, &mut out);
    extras::badges(scenario, midnight, &mut rng, &mut out);
    out.finish()
}

/// Events collected with their arrival times, and the labels.
#[derive(Default)]
pub(crate) struct Output {
    events: Vec<(i64, u64, Event)>,
    truth: Vec<Truth>,
}

impl Output {
    /// An event measured at `time` that arrives at `arrival` (unix seconds).
    pub(crate) fn push(&mut self, time: i64, arrival: i64, source: &str, data: EventData) {
        let seq = self.events.len() as u64;
        let time = DateTime::from_timestamp(time, 0).unwrap_or_default();
        self.events.push((
            arrival,
            seq,
            Event {
                time,
                ingest_time: None,
                source: source.to_string(),
                labels: BTreeMap::new(),
                data,
            },
        ));
    }

    /// An event that arrives when it happens.
    pub(crate) fn now(&mut self, time: i64, source: &str, data: EventData) {
        self.push(time, time, source, data);
    }

    pub(crate) fn label(&mut self, truth: Truth) {
        self.truth.push(truth);
    }

    fn finish(mut self) -> DayRun {
        self.events
            .sort_by_key(|(arrival, seq, _)| (*arrival, *seq));
        self.truth
            .sort_by(|a, b| (a.onset, &a.kind).cmp(&(b.onset, &b.kind)));
        DayRun {
            events: self.events.into_iter().map(|(_, _, e)| e).collect(),
            truth: self.truth,
        }
    }
}

/// Unix seconds as a time.
pub(crate) fn time(at: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(at, 0).unwrap_or_default()
}
