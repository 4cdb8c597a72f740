//! Lives of a ring graph for the module's tests: payments and labels drawn at random, each a
//! few days after the graph's latest time, so that generations fill and age.

use proptest::prelude::*;

use super::{Link, Ring, RingGraph, RingLimits};

/// Small ceilings and a short age, so that the graphs of the tests go through rotations of
/// both kinds.
pub(super) fn limits() -> RingLimits {
    RingLimits {
        min_members: 3,
        min_frauds: 2,
        max_nodes: 40,
        max_payments: 30,
        max_evidence: 1_000,
        max_age_seconds: Some(30 * 86_400),
        ..RingLimits::default()
    }
}

/// One event of a graph's life, `days` after the graph's latest time: a payment tying a card
/// to a device and an address, or a label for an earlier payment.
#[derive(Debug, Clone)]
pub(super) enum Step {
    Pay {
        id: u8,
        card: u8,
        device: u8,
        address: u8,
        days: u8,
    },
    Label {
        id: u8,
        fraud: bool,
        days: u8,
    },
}

/// Payment `p{id}` of card `c{card}` on device `d{device}` to address `s{address}`, at the
/// graph's latest time.
pub(super) fn pay(id: u8, card: u8, device: u8, address: u8) -> Step {
    Step::Pay {
        id,
        card,
        device,
        address,
        days: 0,
    }
}

/// A label of payment `p{id}` at the graph's latest time.
pub(super) fn label(id: u8, fraud: bool) -> Step {
    Step::Label { id, fraud, days: 0 }
}

/// Steps over 60 payments, 12 cards, 6 devices and 6 addresses, mostly frauds, each up to
/// three days after the one before.
pub(super) fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..60, 0u8..12, 0u8..6, 0u8..6, 0u8..4).prop_map(|(id, card, device, address, days)| {
            Step::Pay {
                id,
                card,
                device,
                address,
                days,
            }
        }),
        (0u8..60, proptest::bool::weighted(0.7), 0u8..4)
            .prop_map(|(id, fraud, days)| Step::Label { id, fraud, days }),
    ]
}

/// Takes step `s` into `g`; returns the ring it completes, if any.
pub(super) fn apply(g: &mut RingGraph, s: &Step) -> Option<Ring> {
    let at = |days: &u8| g.now.unwrap_or(0) + i64::from(*days) * 86_400;
    match s {
        Step::Pay {
            id,
            card,
            device,
            address,
            days,
        } => {
            let time = at(days);
            g.add_payment(
                time,
                &format!("p{id}"),
                &[
                    (Link::Card, &format!("c{card}")),
                    (Link::Device, &format!("d{device}")),
                    (Link::Shipping, &format!("s{address}")),
                ],
            )
        }
        Step::Label { id, fraud, days } => {
            let time = at(days);
            g.label(time, &format!("p{id}"), *fraud)
        }
    }
}
