//! The discrete-event engine: actors wait in a time-ordered queue; shoppers and attack campaigns
//! arrive as Poisson processes whose rate follows the hour of the day.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, Duration, Timelike, Utc};
use ensuresec_model::Event;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::actors::{Actor, Ctx, exp};
use crate::attacks::Campaign;
use crate::shopper::Shopper;
use crate::{AttackKind, SimConfig, SimError};

/// An endless, deterministic stream of simulated events in event-time order.
pub struct Simulator {
    rng: ChaCha8Rng,
    ctx: Ctx,
    attacks: Vec<AttackKind>,
    queue: BinaryHeap<Reverse<(i64, u64)>>,
    actors: HashMap<u64, Actor>,
    next_id: u64,
    pending: VecDeque<Event>,
    next_shopper: DateTime<Utc>,
    next_campaign: Option<DateTime<Utc>>,
    shoppers_per_second: f64,
    diurnal: [f64; 24],
}

impl Simulator {
    /// A simulator for the given settings.
    pub fn new(config: SimConfig) -> Result<Simulator, SimError> {
        if !(config.rate > 0.0 && config.rate.is_finite()) {
            return Err(SimError::BadRate(config.rate));
        }
        let mean: f64 = config.profile.shop.diurnal.iter().sum::<f64>() / 24.0;
        let mut diurnal = [1.0; 24];
        for (slot, w) in diurnal.iter_mut().zip(&config.profile.shop.diurnal) {
            *slot = w / mean;
        }
        let mut profile = config.profile;
        if let Some(per_hour) = config
            .campaigns_per_hour
            .filter(|r| *r > 0.0 && r.is_finite())
        {
            profile.attacks.campaigns_per_hour = per_hour;
        }
        let ctx = Ctx::new(profile);
        let per_session = events_per_session(&ctx, config.seed);
        let mut sim = Simulator {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            ctx,
            attacks: config.scenario.attacks,
            queue: BinaryHeap::new(),
            actors: HashMap::new(),
            next_id: 0,
            pending: VecDeque::new(),
            next_shopper: config.start,
            next_campaign: None,
            shoppers_per_second: config.rate / per_session,
            diurnal,
        };
        if !sim.attacks.is_empty() {
            // The first campaign comes early so that short runs and demos see one.
            let first = config.start + Duration::seconds(sim.rng.random_range(10..60));
            sim.next_campaign = Some(first);
        }
        Ok(sim)
    }

    fn schedule(&mut self, at: DateTime<Utc>, actor: Actor) {
        let id = self.next_id;
        self.next_id += 1;
        self.actors.insert(id, actor);
        self.queue.push(Reverse((at.timestamp_millis(), id)));
    }

    /// Runs whatever comes next in simulated time.
    fn advance(&mut self) {
        let queued = self.queue.peek().map(|Reverse((t, _))| *t);
        let arrival = self.next_shopper.timestamp_millis();
        let campaign = self.next_campaign.map(|t| t.timestamp_millis());
        let earliest = [queued, Some(arrival), campaign]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(arrival);
        if campaign == Some(earliest) {
            let at = self.next_campaign.unwrap_or(self.next_shopper);
            let kind = self.attacks[self.rng.random_range(0..self.attacks.len())];
            let c = Campaign::start(kind, &mut self.rng, &self.ctx, self.next_id);
            self.schedule(at, Actor::Attack(c));
            let per_hour = self.ctx.profile.attacks.campaigns_per_hour;
            let gap = exp(&mut self.rng, 3600.0 / per_hour);
            self.next_campaign = Some(at + Duration::milliseconds((gap * 1000.0) as i64));
        } else if arrival == earliest && queued != Some(earliest) {
            let at = self.next_shopper;
            let shopper = Shopper::arrive(&mut self.rng, &self.ctx, self.next_id);
            self.schedule(at, Actor::Shopper(shopper));
            let rate = self.shoppers_per_second * self.diurnal[at.hour() as usize];
            let gap = exp(&mut self.rng, 1.0 / rate);
            self.next_shopper = at + Duration::microseconds((gap * 1e6).max(1.0) as i64);
        } else if let Some(Reverse((t, id))) = self.queue.pop() {
            let Some(mut actor) = self.actors.remove(&id) else {
                return;
            };
            let now = DateTime::from_timestamp_millis(t).unwrap_or(self.next_shopper);
            let step = actor.step(now, &mut self.rng, &self.ctx);
            self.pending.extend(step.events);
            for (delay, spawned) in step.spawn {
                self.schedule(now + delay, spawned);
            }
            if let Some(after) = step.next {
                self.actors.insert(id, actor);
                self.queue
                    .push(Reverse(((now + after).timestamp_millis(), id)));
            }
        }
    }

    /// Actors currently in flight (sessions, campaigns, parcels).
    pub fn active_actors(&self) -> usize {
        self.actors.len()
    }
}

impl Iterator for Simulator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            self.advance();
        }
    }
}

/// Mean events produced by one shopper, parcels included, measured on a private sample so that
/// `rate` means events per second whatever the profile says.
fn events_per_session(ctx: &Ctx, seed: u64) -> f64 {
    const SAMPLE: u64 = 400;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_ca11_b4a7_e000);
    let start = DateTime::<Utc>::UNIX_EPOCH;
    let mut total = 0usize;
    for id in 0..SAMPLE {
        let mut stack = vec![Actor::Shopper(Shopper::arrive(&mut rng, ctx, id))];
        while let Some(mut actor) = stack.pop() {
            loop {
                let step = actor.step(start, &mut rng, ctx);
                total += step.events.len();
                stack.extend(step.spawn.into_iter().map(|(_, a)| a));
                if step.next.is_none() {
                    break;
                }
            }
        }
    }
    (total as f64 / SAMPLE as f64).max(1.0)
}
