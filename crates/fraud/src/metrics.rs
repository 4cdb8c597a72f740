//! Ranking metrics of scores against labels, as the evaluation reports them: area under the
//! precision-recall curve (average precision, as scikit-learn computes it), ROC-AUC, and
//! recall at a false-positive rate.

use serde::Serialize;

/// The figures of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ranking {
    /// Rows scored.
    pub rows: usize,
    /// Fraud rows among them.
    pub positives: usize,
    /// Average precision.
    pub pr_auc: f64,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Share of frauds caught when 1 % of genuine payments are flagged.
    pub recall_at_1pct_fpr: f64,
}

/// Rows sorted by descending score, grouped by equal score: (positives, negatives) per group.
fn groups(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut last = f64::NAN;
    for i in order {
        let (p, n) = if labels[i] { (1.0, 0.0) } else { (0.0, 1.0) };
        if out.is_empty() || scores[i].total_cmp(&last).is_ne() {
            out.push((p, n));
            last = scores[i];
        } else if let Some(g) = out.last_mut() {
            g.0 += p;
            g.1 += n;
        }
    }
    out
}

/// Computes the figures; with no fraud or no genuine row the areas are `NaN`.
pub fn ranking(scores: &[f64], labels: &[bool]) -> Ranking {
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    let (mut tp, mut fp) = (0.0, 0.0);
    let (mut ap, mut auc, mut recall_at) = (0.0, 0.0, 0.0);
    for (p, n) in groups(scores, labels) {
        let prev_tp = tp;
        tp += p;
        fp += n;
        if p > 0.0 {
            ap += (tp - prev_tp) / pos * (tp / (tp + fp));
        }
        auc += n * (prev_tp + tp) / 2.0;
        if fp / neg <= 0.01 {
            recall_at = tp / pos;
        }
    }
    Ranking {
        rows: labels.len(),
        positives: pos as usize,
        pr_auc: if pos > 0.0 { ap } else { f64::NAN },
        roc_auc: if pos > 0.0 && neg > 0.0 {
            auc / (pos * neg)
        } else {
            f64::NAN
        },
        recall_at_1pct_fpr: if pos > 0.0 && neg > 0.0 {
            recall_at
        } else {
            f64::NAN
        },
    }
}

/// Precision and recall when everything scoring at least `threshold` is flagged.
pub fn at_threshold(scores: &[f64], labels: &[bool], threshold: f64) -> (f64, f64) {
    let (mut tp, mut fp, mut pos) = (0.0, 0.0, 0.0);
    for (s, l) in scores.iter().zip(labels) {
        if *l {
            pos += 1.0;
        }
        if *s >= threshold {
            if *l {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
        }
    }
    let precision = if tp + fp > 0.0 {
        tp / (tp + fp)
    } else {
        f64::NAN
    };
    let recall = if pos > 0.0 { tp / pos } else { f64::NAN };
    (precision, recall)
}

/// Precision and recall when payments from one decision's threshold up are flagged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AtThreshold {
    /// `challenge`, `review` or `decline`.
    pub decision: &'static str,
    /// The probability from which it applies.
    pub threshold: f64,
    /// Share of flagged payments that were fraud (`NaN` when none was flagged).
    pub precision: f64,
    /// Share of frauds flagged (`NaN` without frauds).
    pub recall: f64,
}

/// [`at_threshold`] at each of the decision thresholds `t`.
pub fn at_thresholds(
    scores: &[f64],
    labels: &[bool],
    t: &crate::rules::Thresholds,
) -> Vec<AtThreshold> {
    [
        ("challenge", t.challenge),
        ("review", t.review),
        ("decline", t.decline),
    ]
    .into_iter()
    .map(|(decision, threshold)| {
        let (precision, recall) = at_threshold(scores, labels, threshold);
        AtThreshold {
            decision,
            threshold,
            precision,
            recall,
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_inverted_rankings() {
        let labels = [true, true, false, false, false];
        let good = ranking(&[0.9, 0.8, 0.3, 0.2, 0.1], &labels);
        assert!((good.pr_auc - 1.0).abs() < 1e-12 && (good.roc_auc - 1.0).abs() < 1e-12);
        assert!((good.recall_at_1pct_fpr - 1.0).abs() < 1e-12);
        let bad = ranking(&[0.1, 0.2, 0.7, 0.8, 0.9], &labels);
        assert!(bad.roc_auc.abs() < 1e-12, "{bad:?}");
        assert!(bad.pr_auc < 0.5);
    }

    #[test]
    fn average_precision_matches_hand_computation() {
        // Ranked: +, -, +, -: AP = 1/2 * 1 + 1/2 * 2/3.
        let r = ranking(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]);
        assert!((r.pr_auc - (0.5 + 1.0 / 3.0)).abs() < 1e-12, "{r:?}");
        assert!((r.roc_auc - 0.75).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn threshold_counts() {
        let (p, r) = at_threshold(&[0.9, 0.6, 0.4], &[true, false, true], 0.5);
        assert!((p - 0.5).abs() < 1e-12 && (r - 0.5).abs() < 1e-12);
    }
}
