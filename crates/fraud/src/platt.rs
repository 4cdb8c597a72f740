//! Platt scaling (Platt, 1999): the sigmoid `1 / (1 + exp(-(a·m + b)))` that best maps the
//! booster's raw margin `m` to a probability on held-out data. Monotone, so it keeps the ranking
//! (PR-AUC and ROC-AUC are unchanged) while making the probability mean what it says, which the
//! decision thresholds need.

use serde::{Deserialize, Serialize};

/// A fitted sigmoid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope on the margin.
    pub a: f64,
    /// Intercept.
    pub b: f64,
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Platt {
    /// The identity mapping (probability = sigmoid of the margin).
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// The calibrated log-odds of margin `m`.
    pub fn log_odds(&self, m: f64) -> f64 {
        self.a * m + self.b
    }

    /// Fits `a` and `b` by Newton's method on the log-loss, with Platt's smoothed targets
    /// (so that a separable validation set does not send `a` to infinity).
    pub fn fit(margins: &[f64], labels: &[bool]) -> Platt {
        let positives = labels.iter().filter(|l| **l).count() as f64;
        let negatives = labels.len() as f64 - positives;
        if positives == 0.0 || negatives == 0.0 {
            return Platt::IDENTITY;
        }
        let hi = (positives + 1.0) / (positives + 2.0);
        let lo = 1.0 / (negatives + 2.0);
        let (mut a, mut b) = (1.0, 0.0);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (m, l) in margins.iter().zip(labels) {
                let t = if *l { hi } else { lo };
                let p = sigmoid(a * m + b);
                let d = p - t;
                let w = (p * (1.0 - p)).max(1e-12);
                ga += d * m;
                gb += d;
                haa += w * m * m;
                hab += w * m;
                hbb += w;
            }
            // A little ridge keeps the Hessian invertible.
            haa += 1e-9;
            hbb += 1e-9;
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if da.abs() < 1e-10 && db.abs() < 1e-10 {
                break;
            }
        }
        if a.is_finite() && b.is_finite() {
            Platt { a, b }
        } else {
            Platt::IDENTITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_sigmoid() {
        // Labels drawn deterministically from p = sigmoid(2m - 1) by thresholding a fixed
        // low-discrepancy sequence.
        let mut margins = Vec::new();
        let mut labels = Vec::new();
        for i in 0..20_000 {
            let m = (i % 200) as f64 / 50.0 - 2.0;
            let u = ((i as f64) * 0.618_033_988_75).fract();
            margins.push(m);
            labels.push(u < sigmoid(2.0 * m - 1.0));
        }
        let p = Platt::fit(&margins, &labels);
        assert!((p.a - 2.0).abs() < 0.15, "{p:?}");
        assert!((p.b + 1.0).abs() < 0.15, "{p:?}");
    }

    #[test]
    fn one_class_gives_identity() {
        assert_eq!(Platt::fit(&[1.0, 2.0], &[true, true]), Platt::IDENTITY);
    }
}
