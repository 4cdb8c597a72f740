//! The attacks on parcels, tours and trackers: which parcel or van each one strikes (never two on
//! the same one), what it changes, and its label.

use ensuresec_model::{EntityKey, EntityKind};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::journey::{Failure, World, detected_by};
use super::scenario::DayScenario;
use super::{Output, Truth, time};

/// Parcels not yet struck by an attack, in random order.
fn pool(world: &World, rng: &mut ChaCha8Rng, fit: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut free: Vec<usize> = (0..world.parcels.len())
        .filter(|&k| !world.parcels[k].attacked && !world.parcels[k].failed && fit(k))
        .collect();
    free.shuffle(rng);
    free
}

fn count(s: &DayScenario, kind: &str) -> usize {
    s.attack(kind).map_or(0, |a| a.count as usize)
}

/// Attacks that change the tours: decided before the vans drive.
pub(crate) fn before_drive(world: &mut World, s: &DayScenario, rng: &mut ChaCha8Rng) {
    // Detours and unscheduled stops strike whole vans.
    let mut vans: Vec<usize> = (0..world.vans.len()).collect();
    vans.shuffle(rng);
    for kind in ["route_deviation", "unscheduled_stop"] {
        let Some(spec) = s.attack(kind) else { continue };
        for _ in 0..spec.count {
            let Some(v) = vans.pop() else { break };
            let van = &mut world.vans[v];
            van.attacked = true;
            if kind == "route_deviation" {
                van.detour_km = Some(spec.draw("detour_km", rng));
            } else {
                van.stop_minutes = Some(spec.draw("minutes", rng));
            }
        }
    }
    // Couriers who keep a parcel back for the evening: one per van, vans not otherwise struck.
    if let Some(spec) = s.attack("delivered_outside_shift") {
        let mut taken = 0;
        for v in vans.iter().copied() {
            if taken == spec.count {
                break;
            }
            let stops = world.vans[v].stops.clone();
            if let Some(&k) = stops.iter().find(|&&k| !world.parcels[k].failed) {
                let p = &mut world.parcels[k];
                p.attacked = true;
                p.late_hour = Some(spec.draw("hour", rng));
                world.vans[v].attacked = true;
                taken += 1;
            }
        }
    }
    // Fake deliveries: scanned at the previous stop, far enough from the address.
    if let Some(spec) = s.attack("delivered_far") {
        let min_m = spec.draw("km", rng) * 1000.0;
        let candidates = pool(world, rng, |k| {
            let p = &world.parcels[k];
            let van = &world.vans[p.van];
            let j = van.stops.iter().position(|&x| x == k).unwrap_or(0);
            let prev = match j.checked_sub(1) {
                Some(i) => world.parcels[van.stops[i]].dest,
                None => world.depots[van.depot].1,
            };
            !van.attacked && prev.dist(p.dest) >= min_m
        });
        for k in candidates.into_iter().take(spec.count as usize) {
            let p = &mut world.parcels[k];
            p.attacked = true;
            p.far = true;
        }
    }
    if let Some(spec) = s.attack("parcel_lightened") {
        for k in pool(world, rng, |_| true)
            .into_iter()
            .take(spec.count as usize)
        {
            let p = &mut world.parcels[k];
            p.attacked = true;
            p.theft_grams = Some((spec.draw("grams", rng) as u32).min(p.weight - 1));
        }
    }
    for (i, k) in pool(world, rng, |_| true)
        .into_iter()
        .take(count(s, "scan_out_of_order"))
        .enumerate()
    {
        let p = &mut world.parcels[k];
        p.attacked = true;
        if i % 2 == 0 {
            p.skip_ofd = true;
        } else {
            p.extra_hub_in = true;
        }
    }
    // Account takeovers that redirect the parcel; their web side is in `extras`.
    if let Some(spec) = s.attack("takeover_redirect") {
        for k in pool(world, rng, |_| true)
            .into_iter()
            .take(spec.count as usize)
        {
            let km = spec.draw("redirect_km", rng);
            let p = &mut world.parcels[k];
            p.attacked = true;
            p.hijacked = true;
            p.first_dest = Some(p.dest);
            p.dest = world.map.away(p.dest, km * 1000.0, rng);
        }
    }
    // Couriers of vans no attack struck who take their break in the van, away from any stop.
    for van in world.vans.iter_mut().filter(|v| !v.attacked) {
        if rng.random_bool(s.couriers.break_share) {
            van.break_minutes = Some(s.couriers.break_minutes);
        }
    }
    // Customers who move the delivery themselves.
    let share = s.customers.address_change_share;
    for k in pool(world, rng, |_| true) {
        if rng.random_bool(share) {
            let p = &mut world.parcels[k];
            p.first_dest = Some(p.dest);
            p.dest = world.map.away(p.dest, rng.random_range(800.0..4000.0), rng);
        }
    }
}

/// Attacks on trackers and contents: timed once the journeys are known.
pub(crate) fn after_drive(
    world: &mut World,
    s: &DayScenario,
    rng: &mut ChaCha8Rng,
    out: &mut Output,
) {
    let label = |out: &mut Output, kind: &str, parcel: &str, sensor: &str, onset: i64| {
        out.label(Truth {
            kind: kind.into(),
            entity: EntityKey::new(EntityKind::Parcel, parcel),
            parcel: None,
            sensor: Some(sensor.into()),
            onset: time(onset),
            detected_by: detected_by(s, kind),
        });
    };
    if let Some(spec) = s.attack("cold_chain_break") {
        let fit = |k: usize| world.parcels[k].cold && world.parcels[k].delivered.is_some();
        for k in pool(world, rng, fit).into_iter().take(spec.count as usize) {
            let end = world.parcels[k].end(world.midnight);
            let start = world.parcels[k].pickup;
            let onset = rng.random_range(start..(end - 2_700).max(start + 1));
            let share = spec.draw("freeze_share", rng).clamp(0.0, 1.0);
            let freeze = rng.random_bool(share);
            let target_c = if freeze {
                -3.0
            } else {
                spec.draw("failure_target_c", rng)
            };
            let tau_s = spec.draw("time_constant_minutes", rng) * 60.0;
            let p = &mut world.parcels[k];
            p.attacked = true;
            p.failure = Some(Failure {
                onset,
                target_c,
                tau_s,
            });
            label(
                out,
                "cold_chain_break",
                &p.id.clone(),
                &p.tracker.clone(),
                onset,
            );
        }
    }
    // Opened at the depot, or a tracker spoofed there: between hub in and hub out.
    for kind in ["parcel_opened", "impossible_jump"] {
        let Some(spec) = s.attack(kind) else { continue };
        for k in pool(world, rng, |_| true)
            .into_iter()
            .take(spec.count as usize)
        {
            let (hub_in, hub_out) = (world.parcels[k].hub_in, world.parcels[k].hub_out);
            let times = world.reading_times(k, s, hub_in + 60, hub_out);
            let Some(&at) = times.get(rng.random_range(0..times.len().max(1))) else {
                continue;
            };
            let p = &mut world.parcels[k];
            p.attacked = true;
            if kind == "parcel_opened" {
                p.opened_at = Some(at);
                p.opened_lux = Some(spec.draw("lux", rng));
            } else {
                p.jump_at = Some(at);
                p.jump_km = Some(spec.draw("jump_km", rng));
            }
            label(out, kind, &p.id.clone(), &p.tracker.clone(), at);
        }
    }
    if let Some(spec) = s.attack("tracker_silence") {
        let fit = |k: usize| world.parcels[k].delivered.is_some();
        for k in pool(world, rng, fit).into_iter().take(spec.count as usize) {
            let p = &world.parcels[k];
            let end = p.end(world.midnight);
            // Wrapped in foil somewhere between pickup and an hour before delivery.
            let times = world.reading_times(k, s, p.pickup, end - 3_600);
            let Some(&at) = times.get(rng.random_range(0..times.len().max(1))) else {
                continue;
            };
            let p = &mut world.parcels[k];
            p.attacked = true;
            p.silent_from = Some(at);
            label(
                out,
                "tracker_silence",
                &p.id.clone(),
                &p.tracker.clone(),
                at,
            );
        }
    }
    // The labels of what was decided before the drive, now that times are known.
    for p in &world.parcels {
        let courier = &world.vans[p.van].courier;
        let courier = EntityKey::new(EntityKind::Account, courier);
        if p.far
            && let Some((at, _)) = p.delivered
        {
            out.label(Truth {
                kind: "delivered_far".into(),
                entity: courier.clone(),
                parcel: Some(p.id.clone()),
                sensor: None,
                onset: time(at),
                detected_by: detected_by(s, "delivered_far"),
            });
        }
        if p.theft_grams.is_some() {
            // The theft happens at the depot, between the two weighings.
            label(
                out,
                "parcel_lightened",
                &p.id,
                &p.tracker,
                (p.hub_in + p.hub_out) / 2,
            );
        }
        let out_of_order = if p.skip_ofd {
            p.delivered.map(|d| d.0)
        } else if p.extra_hub_in {
            p.hub_in_again
        } else {
            None
        };
        if let Some(at) = out_of_order {
            out.label(Truth {
                kind: "scan_out_of_order".into(),
                entity: EntityKey::new(EntityKind::Parcel, &p.id),
                parcel: None,
                sensor: None,
                onset: time(at),
                detected_by: detected_by(s, "scan_out_of_order"),
            });
        }
    }
}
