//! Cold chain: the temperature history of one parcel judged against its product class —
//! cumulative time out of range against a budget, the mean kinetic temperature (MKT, the single
//! temperature that ages a medicine as much as the varying one did) and freezing.
//!
//! Readings are sample-and-hold: the time from one reading to the next is charged to the first
//! one's temperature, up to [`MAX_HOLD_SECONDS`] (a longer gap is a silent sensor, which the
//! parcel rules report on their own). Late and duplicate readings are not charged again.

use crate::rules::ProductClass;

/// Longest gap charged to a reading's temperature.
pub const MAX_HOLD_SECONDS: i64 = 3_600;
/// ΔH/R for the MKT, in kelvin: the USP's default activation energy of 83.144 kJ/mol over the gas
/// constant.
const ACTIVATION_OVER_R: f64 = 10_000.0;
const KELVIN: f64 = 273.15;

/// What the cold chain found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColdFinding {
    /// A reading at or below the class's freezing point.
    Frozen {
        /// The reading, °C.
        temperature_c: f64,
    },
    /// Cumulative time out of range went over the budget.
    Excursion {
        /// Minutes out of range so far.
        minutes: f64,
        /// The most extreme reading out of range, °C.
        worst_c: f64,
    },
    /// The mean kinetic temperature went over the limit.
    Mkt {
        /// The MKT, °C.
        mkt_c: f64,
        /// Minutes of data it covers.
        minutes: f64,
    },
}

const FROZEN: u8 = 1;
const EXCURSION: u8 = 2;
const MKT: u8 = 4;

/// One parcel's temperature history, in 48 bytes.
#[derive(Debug, Clone, Default)]
pub struct ColdChain {
    last: Option<(i64, f32)>,
    out_of_range_s: f32,
    worst_c: Option<f32>,
    mkt_sum: f64,
    mkt_seconds: f32,
    fired: u8,
}

impl ColdChain {
    /// Takes a reading of `temperature_c` at `at` (unix seconds); returns what it newly shows.
    pub fn observe(
        &mut self,
        class: &ProductClass,
        at: i64,
        temperature_c: f64,
        out: &mut Vec<ColdFinding>,
    ) {
        if let Some(freeze) = class.freeze_c
            && temperature_c <= freeze
            && self.fired & FROZEN == 0
        {
            self.fired |= FROZEN;
            out.push(ColdFinding::Frozen { temperature_c });
        }
        match self.last {
            Some((t, _)) if at <= t => return, // late or duplicate: already accounted for
            Some((t, held)) => {
                let dt = (at - t).min(MAX_HOLD_SECONDS) as f64;
                let held = f64::from(held);
                if held < class.min_c || held > class.max_c {
                    self.out_of_range_s += dt as f32;
                    let beyond = |x: f64| (x - class.max_c).max(class.min_c - x);
                    if self.worst_c.is_none_or(|w| beyond(held) > beyond(w.into())) {
                        self.worst_c = Some(held as f32);
                    }
                }
                self.mkt_sum += (-ACTIVATION_OVER_R / (held + KELVIN)).exp() * dt;
                self.mkt_seconds += dt as f32;
            }
            None => {}
        }
        self.last = Some((at, temperature_c as f32));
        let minutes = f64::from(self.out_of_range_s) / 60.0;
        if minutes > class.excursion_budget_minutes && self.fired & EXCURSION == 0 {
            self.fired |= EXCURSION;
            out.push(ColdFinding::Excursion {
                minutes,
                worst_c: self.worst_c.map_or(f64::NAN, f64::from),
            });
        }
        if f64::from(self.mkt_seconds) / 60.0 >= class.mkt_min_minutes {
            self.judge_mkt(class, out);
        }
    }

    /// At delivery the MKT is judged over whatever data there is.
    pub fn at_delivery(&mut self, class: &ProductClass, out: &mut Vec<ColdFinding>) {
        if self.mkt_seconds > 0.0 {
            self.judge_mkt(class, out);
        }
    }

    /// The mean kinetic temperature so far, °C.
    pub fn mkt_c(&self) -> Option<f64> {
        (self.mkt_seconds > 0.0).then(|| {
            ACTIVATION_OVER_R / -(self.mkt_sum / f64::from(self.mkt_seconds)).ln() - KELVIN
        })
    }

    /// Minutes out of range so far.
    pub fn minutes_out_of_range(&self) -> f64 {
        f64::from(self.out_of_range_s) / 60.0
    }

    fn judge_mkt(&mut self, class: &ProductClass, out: &mut Vec<ColdFinding>) {
        if self.fired & MKT != 0 {
            return;
        }
        if let Some(mkt_c) = self.mkt_c()
            && mkt_c > class.mkt_max_c
        {
            self.fired |= MKT;
            out.push(ColdFinding::Mkt {
                mkt_c,
                minutes: f64::from(self.mkt_seconds) / 60.0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fridge() -> ProductClass {
        ProductClass {
            min_c: 2.0,
            max_c: 8.0,
            excursion_budget_minutes: 30.0,
            mkt_max_c: 8.0,
            mkt_min_minutes: 120.0,
            freeze_c: Some(0.0),
        }
    }

    fn run(readings: &[(i64, f64)]) -> (ColdChain, Vec<ColdFinding>) {
        let (mut c, mut out) = (ColdChain::default(), Vec::new());
        for &(t, temp) in readings {
            c.observe(&fridge(), t, temp, &mut out);
        }
        (c, out)
    }

    #[test]
    fn a_steady_fridge_finds_nothing_and_its_mkt_is_its_temperature() {
        let readings: Vec<(i64, f64)> = (0..100).map(|i| (i * 300, 5.0)).collect();
        let (c, out) = run(&readings);
        assert!(out.is_empty(), "{out:?}");
        assert!((c.mkt_c().unwrap() - 5.0).abs() < 1e-6);
    }

    #[test]
    fn the_excursion_fires_once_when_the_budget_is_spent() {
        // 5 °C, then 12 °C from minute 10: the budget of 30 min is spent at minute 40.
        let mut readings: Vec<(i64, f64)> = (0..2).map(|i| (i * 300, 5.0)).collect();
        readings.extend((2..20).map(|i| (i * 300, 12.0)));
        let (mut c, mut out) = (ColdChain::default(), Vec::new());
        let mut fired_at = None;
        for &(t, temp) in &readings {
            c.observe(&fridge(), t, temp, &mut out);
            if fired_at.is_none() && !out.is_empty() {
                fired_at = Some(t);
            }
        }
        // Charged up to the reading at minute 45 (35 min > 30): one interval after the budget.
        assert_eq!(fired_at, Some(45 * 60));
        assert_eq!(
            out.iter()
                .filter(|f| matches!(f, ColdFinding::Excursion { .. }))
                .count(),
            1
        );
        assert!(matches!(out[0], ColdFinding::Excursion { worst_c, .. } if worst_c == 12.0));
    }

    #[test]
    fn freezing_fires_at_once_even_from_a_late_reading() {
        let (mut c, mut out) = run(&[(0, 5.0), (600, 5.0)]);
        c.observe(&fridge(), 300, -1.5, &mut out);
        assert_eq!(
            out,
            [ColdFinding::Frozen {
                temperature_c: -1.5
            }]
        );
        // The late reading was not charged to the history.
        assert_eq!(c.minutes_out_of_range(), 0.0);
    }

    #[test]
    fn duplicates_and_late_readings_are_not_charged_twice() {
        let (a, _) = run(&[(0, 12.0), (600, 12.0), (1200, 5.0)]);
        let (b, _) = run(&[
            (0, 12.0),
            (600, 12.0),
            (600, 12.0),
            (300, 12.0),
            (1200, 5.0),
        ]);
        assert_eq!(a.minutes_out_of_range(), 20.0);
        assert_eq!(b.minutes_out_of_range(), a.minutes_out_of_range());
    }

    #[test]
    fn a_gap_is_charged_at_most_an_hour() {
        let (c, _) = run(&[(0, 12.0), (10 * 3600, 5.0)]);
        assert_eq!(c.minutes_out_of_range(), 60.0);
    }

    #[test]
    fn mkt_weighs_heat_more_than_cold() {
        // Half the time at 2 °C, half at 14 °C: the arithmetic mean is 8 °C, the MKT above it.
        let readings: Vec<(i64, f64)> = (0..48)
            .map(|i| (i * 300, if i % 2 == 0 { 2.0 } else { 14.0 }))
            .collect();
        let (c, out) = run(&readings);
        let mkt = c.mkt_c().unwrap();
        assert!(mkt > 8.5 && mkt < 11.0, "{mkt}");
        assert!(
            out.iter().any(|f| matches!(f, ColdFinding::Mkt { .. })),
            "{out:?}"
        );
    }

    proptest! {
        #[test]
        fn mkt_lies_between_the_coldest_and_warmest_reading(
            temps in prop::collection::vec(-5.0f64..40.0, 2..60)
        ) {
            let readings: Vec<(i64, f64)> =
                temps.iter().enumerate().map(|(i, &t)| (i as i64 * 300, t)).collect();
            let (c, _) = run(&readings);
            let held = &temps[..temps.len() - 1];
            let lo = held.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = held.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mkt = c.mkt_c().unwrap();
            prop_assert!(mkt >= lo - 1e-3 && mkt <= hi + 1e-3, "{} not in {}..{}", mkt, lo, hi);
        }
    }
}
