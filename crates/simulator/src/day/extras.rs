//! Everything around the parcels: customers' orders, logins and address changes (and the account
//! takeovers that redirect a parcel), claims honest and false, the pharmacy's fixed sensors, and
//! badge use at the controlled-medicines zone.

use std::net::{IpAddr, Ipv4Addr};

use ensuresec_model::event::{
    AuthAction, AuthEvent, AuthOutcome, BadgeAccess, BadgeDirection, ClaimKind, DeliveryClaim,
    OrderEvent, OrderStatus, SensorReading,
};
use ensuresec_model::{EntityKey, EntityKind, EventData};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::journey::{World, customer_ip, detected_by, gauss};
use super::scenario::DayScenario;
use super::{Output, Truth, time};
use crate::actors::fingerprint;

const BROWSER: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

fn auth(account: &str, ip: IpAddr, device: &str, action: AuthAction) -> EventData {
    EventData::Auth(AuthEvent {
        account: account.into(),
        ip,
        action,
        outcome: AuthOutcome::Success,
        reason: None,
        device: Some(device.into()),
        user_agent: Some(BROWSER.into()),
    })
}

fn order(
    k: &super::journey::Parcel,
    status: OrderStatus,
    ip: IpAddr,
    device: &str,
    address: &str,
) -> EventData {
    EventData::Order(OrderEvent {
        order_id: k.order.clone(),
        status,
        account: Some(k.account.clone()),
        ip: Some(ip),
        device: Some(device.into()),
        total: None,
        items: None,
        shipping_address_hash: Some(address.into()),
    })
}

fn address_hash(world: &World, p: super::city::Xy) -> String {
    let g = world.map.geo(p);
    fingerprint(&["address", &format!("{:.5},{:.5}", g.lat, g.lon)])
}

/// Orders, benign logins and address changes, and the takeovers that redirect parcels.
pub(crate) fn customers(world: &World, s: &DayScenario, rng: &mut ChaCha8Rng, out: &mut Output) {
    let c = &s.customers;
    for (k, p) in world.parcels.iter().enumerate() {
        let first_dest = p.first_dest.unwrap_or(p.dest);
        let paid = p.pickup - (s.parcels.order_hours_before.draw(rng) * 3600.0) as i64;
        out.now(
            paid,
            "shop",
            order(
                p,
                OrderStatus::Paid,
                p.ip,
                &p.device,
                &address_hash(world, first_dest),
            ),
        );
        // The redirect happens while the parcel waits at the depot.
        let redirect = rng.random_range(p.pickup + 600..(p.hub_out - 600).max(p.pickup + 601));
        let new_address = address_hash(world, p.dest);
        if p.hijacked {
            let ip = IpAddr::V4(Ipv4Addr::new(185, 220, 101, rng.random_range(1..=254)));
            let device = format!("dev-{}", &fingerprint(&["attacker", &p.account])[..12]);
            out.now(
                redirect,
                "shop",
                auth(&p.account, ip, &device, AuthAction::PasswordReset),
            );
            out.now(
                redirect + 60,
                "shop",
                auth(&p.account, ip, &device, AuthAction::Login),
            );
            out.now(
                redirect + 120,
                "shop",
                order(p, OrderStatus::AddressChanged, ip, &device, &new_address),
            );
            out.now(
                redirect + 180,
                "carrier",
                EventData::DeliveryPlan(world.plan_event(k, false)),
            );
            out.label(Truth {
                kind: "takeover_redirect".into(),
                entity: EntityKey::new(EntityKind::Account, &p.account),
                parcel: Some(p.id.clone()),
                sensor: None,
                onset: time(redirect),
                detected_by: detected_by(s, "takeover_redirect"),
            });
        } else if p.first_dest.is_some() {
            out.now(
                redirect,
                "shop",
                order(
                    p,
                    OrderStatus::AddressChanged,
                    p.ip,
                    &p.device,
                    &new_address,
                ),
            );
            out.now(
                redirect + 60,
                "carrier",
                EventData::DeliveryPlan(world.plan_event(k, false)),
            );
        }
        let whenever = world.midnight + rng.random_range(6 * 3600..23 * 3600);
        if rng.random_bool(c.password_reset_share) {
            out.now(
                whenever,
                "shop",
                auth(&p.account, p.ip, &p.device, AuthAction::PasswordReset),
            );
            out.now(
                whenever + 90,
                "shop",
                auth(&p.account, p.ip, &p.device, AuthAction::Login),
            );
        }
        if rng.random_bool(c.new_device_share) {
            let phone = format!("dev-{}", &fingerprint(&["new phone", &p.account])[..12]);
            out.now(
                whenever + 300,
                "shop",
                auth(&p.account, customer_ip(rng), &phone, AuthAction::Login),
            );
        }
    }
}

/// Claims: false ones against delivered parcels, honest ones about parcels that went wrong, and
/// serial claimers (one account with several devices, or one device with several accounts).
/// Serial claimers' parcels are given their accounts here, before any event is written.
pub(crate) fn claims(world: &mut World, s: &DayScenario, rng: &mut ChaCha8Rng, out: &mut Output) {
    let evening = |rng: &mut ChaCha8Rng, after: i64| {
        (world.midnight + rng.random_range(18 * 3600..23 * 3600)).max(after + 600)
    };
    let mut clean: Vec<usize> = (0..world.parcels.len())
        .filter(|&k| world.parcels[k].delivered_clean())
        .collect();
    clean.shuffle(rng);
    let claim = |world: &World,
                 out: &mut Output,
                 k: usize,
                 kind: ClaimKind,
                 account: &str,
                 device: &str,
                 at: i64| {
        let p = &world.parcels[k];
        out.now(
            at,
            "shop",
            EventData::DeliveryClaim(DeliveryClaim {
                parcel_id: p.id.clone(),
                account: account.into(),
                claim: kind,
                address: Some(address_hash(world, p.dest)),
                device: Some(device.into()),
            }),
        );
    };
    let false_claim = |out: &mut Output, account: &str, parcel: &str, at: i64| {
        out.label(Truth {
            kind: "false_claim".into(),
            entity: EntityKey::new(EntityKind::Account, account),
            parcel: Some(parcel.into()),
            sensor: None,
            onset: time(at),
            detected_by: detected_by(s, "false_claim"),
        });
    };
    for kind in ["serial_claimer_account", "serial_claimer_device"] {
        let Some(spec) = s.attack(kind) else { continue };
        let per = (spec.draw("claims", rng).round() as usize).max(2);
        for ring in 0..spec.count as usize {
            if clean.len() < per {
                break;
            }
            let parcels: Vec<usize> = clean.drain(..per).collect();
            let shared = format!("{kind}-{ring}");
            let mut times: Vec<i64> = parcels
                .iter()
                .map(|&k| evening(rng, world.parcels[k].end(world.midnight)))
                .collect();
            times.sort_unstable();
            for (j, &k) in parcels.iter().enumerate() {
                let p = &mut world.parcels[k];
                p.attacked = true;
                if kind == "serial_claimer_account" {
                    p.account = format!("cust-{}", &fingerprint(&["serial", &shared])[..12]);
                    p.device = format!(
                        "dev-{}",
                        &fingerprint(&["serial", &shared, &j.to_string()])[..12]
                    );
                }
                let device = if kind == "serial_claimer_device" {
                    format!("dev-{}", &fingerprint(&["ring", &shared])[..12])
                } else {
                    p.device.clone()
                };
                let (account, id) = (p.account.clone(), p.id.clone());
                claim(
                    world,
                    out,
                    k,
                    ClaimKind::NotReceived,
                    &account,
                    &device,
                    times[j],
                );
                false_claim(out, &account, &id, times[j]);
            }
            let p = &world.parcels[parcels[0]];
            let entity = if kind == "serial_claimer_account" {
                EntityKey::new(EntityKind::Account, &p.account)
            } else {
                EntityKey::new(
                    EntityKind::Device,
                    format!("dev-{}", &fingerprint(&["ring", &shared])[..12]),
                )
            };
            out.label(Truth {
                kind: kind.into(),
                entity,
                parcel: None,
                sensor: None,
                onset: time(times[0]),
                detected_by: detected_by(s, kind),
            });
        }
    }
    for k in clean
        .into_iter()
        .take(s.attack("false_claim").map_or(0, |a| a.count as usize))
    {
        let p = &world.parcels[k];
        let at = evening(rng, p.end(world.midnight));
        let (account, device, id) = (p.account.clone(), p.device.clone(), p.id.clone());
        claim(world, out, k, ClaimKind::NotReceived, &account, &device, at);
        false_claim(out, &account, &id, at);
        world.parcels[k].attacked = true;
    }
    // Honest claims about parcels that went wrong on the way.
    let Some(spec) = s.attack("genuine_claim") else {
        return;
    };
    let mut wronged: Vec<(usize, ClaimKind)> = Vec::new();
    for (k, p) in world.parcels.iter().enumerate() {
        if p.far {
            wronged.push((k, ClaimKind::NotReceived));
        } else if (p.theft_grams.is_some() || p.opened_at.is_some()) && p.delivered.is_some() {
            wronged.push((k, ClaimKind::Tampered));
        } else if p.failed && !p.attacked {
            wronged.push((k, ClaimKind::NotReceived));
        }
    }
    wronged.sort_by_key(|(k, c)| (*c != ClaimKind::NotReceived || !world.parcels[*k].far, *k));
    for (k, kind) in wronged.into_iter().take(spec.count as usize) {
        let p = &world.parcels[k];
        let at = evening(rng, p.end(world.midnight));
        let (account, device, id) = (p.account.clone(), p.device.clone(), p.id.clone());
        claim(world, out, k, kind, &account, &device, at);
        out.label(Truth {
            kind: "genuine_claim".into(),
            entity: EntityKey::new(EntityKind::Parcel, &id),
            parcel: None,
            sensor: None,
            onset: time(at),
            detected_by: detected_by(s, "genuine_claim"),
        });
    }
}

/// Fridges, cold rooms and lockers at the pharmacy, reporting all day; some silenced, stuck or
/// tampered with.
pub(crate) fn fixed_sensors(
    s: &DayScenario,
    midnight: i64,
    rng: &mut ChaCha8Rng,
    out: &mut Output,
) {
    let sn = &s.sensors;
    let every = i64::from(sn.interval_seconds);
    let mut ids: Vec<usize> = (0..sn.fixed as usize).collect();
    ids.shuffle(rng);
    let mut fate = vec![None; sn.fixed as usize];
    for kind in ["sensor_silence", "sensor_flatline", "sensor_impossible"] {
        let Some(spec) = s.attack(kind) else { continue };
        for _ in 0..spec.count {
            let Some(i) = ids.pop() else { break };
            let onset = midnight + (rng.random_range(8.0..18.0f64) * 3600.0) as i64;
            fate[i] = Some((kind, onset, spec.draw("jump_c", rng)));
        }
    }
    for (i, fate) in fate.into_iter().enumerate() {
        let sensor = format!("fridge-{:02}", i + 1);
        let level = sn.fixed_c.draw(rng);
        let mut t = midnight + rng.random_range(0..every);
        let mut stuck: Option<f64> = None;
        let mut labelled = false;
        while t < midnight + 86_400 {
            let mut temp = ((level + gauss(rng) * sn.noise_c) * 10.0).round() / 10.0;
            if let Some((kind, onset, jump)) = fate
                && t >= onset
            {
                match kind {
                    "sensor_silence" => {
                        if !labelled {
                            label_sensor(out, s, kind, &sensor, t);
                        }
                        break;
                    }
                    "sensor_flatline" => temp = *stuck.get_or_insert(temp),
                    _ if !labelled => temp += jump.round(),
                    _ => {}
                }
                if !labelled {
                    label_sensor(out, s, kind, &sensor, t);
                    labelled = true;
                }
            }
            out.now(
                t,
                "sensor-gateway",
                EventData::SensorReading(SensorReading {
                    sensor: sensor.clone(),
                    asset: Some(format!("pharmacy-{sensor}")),
                    temperature_c: Some(temp),
                    humidity_pct: Some(rng.random_range(40.0..50.0f64).round()),
                    lid_open: Some(false),
                    ..SensorReading::default()
                }),
            );
            t += every;
        }
    }
}

fn label_sensor(out: &mut Output, s: &DayScenario, kind: &str, sensor: &str, at: i64) {
    out.label(Truth {
        kind: kind.into(),
        entity: EntityKey::new(EntityKind::Device, sensor),
        parcel: None,
        sensor: Some(sensor.into()),
        onset: time(at),
        detected_by: detected_by(s, kind),
    });
}

/// Staff entering the controlled-medicines zone in working hours, and a few at night.
pub(crate) fn badges(s: &DayScenario, midnight: i64, rng: &mut ChaCha8Rng, out: &mut Output) {
    let st = &s.staff;
    let mut night = s.attack("badge_after_hours").map_or(0, |a| a.count);
    for b in 0..st.badges {
        let badge = format!("staff-{:02}", b + 1);
        let mut entries: Vec<(f64, bool)> = (0..st.entries_per_day.draw(rng).round() as u32)
            .map(|_| (st.hours.draw(rng), false))
            .collect();
        if night > 0 {
            night -= 1;
            let h = s
                .attack("badge_after_hours")
                .map_or(2.0, |a| a.draw("hours", rng));
            entries.push((h, true));
        }
        for (h, after_hours) in entries {
            let at = midnight + (h * 3600.0) as i64;
            for (t, direction) in [
                (at, BadgeDirection::In),
                (at + rng.random_range(300..2400), BadgeDirection::Out),
            ] {
                out.now(
                    t,
                    "door-controller",
                    EventData::BadgeAccess(BadgeAccess {
                        badge: badge.clone(),
                        zone: st.zone.clone(),
                        direction,
                        granted: true,
                        door: Some("cm-door-1".into()),
                    }),
                );
            }
            if after_hours {
                out.label(Truth {
                    kind: "badge_after_hours".into(),
                    entity: EntityKey::new(EntityKind::Account, &badge),
                    parcel: None,
                    sensor: None,
                    onset: time(at),
                    detected_by: detected_by(s, "badge_after_hours"),
                });
            }
        }
    }
}
